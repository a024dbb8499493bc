/**
 * Templates through the official resend SDK against local mode: create, get by id and by alias,
 * list, update, publish, duplicate, send with variables and with a fallback (the rendered email is
 * what GET /emails shows and what the local SES mailbox received), delete; another tenant sees none.
 */
import type { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { anotherTenant, sdkFor, tempDataDir } from '../support/e2e';

jest.setTimeout(120_000);

let local: RunningLocal;
let resend: Resend;
let other: Resend;

beforeAll(async () => {
  local = await startLocalMode({ dataDir: tempDataDir('templates'), domain: 'tpl.test' });
  resend = sdkFor(local);
  ({ resend: other } = await anotherTenant(local, 'other'));
});
afterAll(() => local?.stop());

/** What the local SES mailbox received for an email (by its SES MessageId). */
async function mailboxCopy(messageIdHeader: string): Promise<{ subject: string; html: string }> {
  const messageId = /^<([^@]+)@/.exec(messageIdHeader)![1]!;
  const res = await fetch(`http://127.0.0.1:${local.env.SESAME_SES_PORT}/store`);
  const { emails } = (await res.json()) as { emails: { messageId: string; request: { Content: { Simple: { Subject: { Data: string }; Body: { Html: { Data: string } } } } } }[] };
  const found = emails.find((e) => e.messageId === messageId)!;
  return { subject: found.request.Content.Simple.Subject.Data, html: found.request.Content.Simple.Body.Html.Data };
}

it('walks a template through its life with the SDK and sends with it', async () => {
  const created = await resend.templates.create({
    name: 'Welcome',
    alias: 'welcome',
    from: 'Acme <hello@tpl.test>',
    subject: 'Welcome, {{{NAME}}}',
    html: '<p>Hi {{{NAME}}}, your plan is {{{PLAN}}} at {{{PRICE}}}/month.</p>',
    variables: [
      { key: 'NAME', type: 'string' },
      { key: 'PLAN', type: 'string', fallbackValue: 'Free' },
      { key: 'PRICE', type: 'number', fallbackValue: 0 },
    ],
  });
  expect(created.error).toBeNull();
  const id = created.data!.id;

  const byId = await resend.templates.get(id);
  expect(byId.data).toMatchObject({ object: 'template', id, name: 'Welcome', alias: 'welcome', status: 'draft', published_at: null, has_unpublished_versions: false });
  expect(byId.data!.variables!.map((v) => [v.key, v.type, v.fallback_value])).toEqual([['NAME', 'string', null], ['PLAN', 'string', 'Free'], ['PRICE', 'number', 0]]);
  expect((await resend.templates.get('welcome')).data).toEqual(byId.data);

  // Never published: it cannot be sent.
  const early = await resend.emails.send({ to: 'delivered@resend.dev', template: { id: 'welcome', variables: { NAME: 'Ann' } } });
  expect(early.error).toMatchObject({ statusCode: 422, name: 'validation_error' });

  expect((await resend.templates.publish(id)).error).toBeNull();
  expect((await resend.templates.update('welcome', { name: 'Welcome email', subject: 'Hello, {{{NAME}}}' })).error).toBeNull();
  expect((await resend.templates.get(id)).data).toMatchObject({ name: 'Welcome email', status: 'published', has_unpublished_versions: true });
  expect((await resend.templates.publish('welcome')).error).toBeNull();
  expect((await resend.templates.get(id)).data).toMatchObject({ status: 'published', has_unpublished_versions: false, subject: 'Hello, {{{NAME}}}' });

  const copy = await resend.templates.duplicate(id).publish();
  expect(copy.error).toBeNull();
  const listed = await resend.templates.list({ limit: 10 });
  expect(listed.data!.data.map((t) => t.id)).toEqual([copy.data!.id, id]);
  expect(listed.data!.data[0]).toMatchObject({ name: 'Welcome email (copy)', status: 'published' });

  // Variables given, and a fallback (PRICE) used.
  const sent = await resend.emails.send({ to: 'delivered@resend.dev', template: { id: 'welcome', variables: { NAME: 'Ann', PLAN: 'Pro' } } });
  expect(sent.error).toBeNull();
  const email = await resend.emails.get(sent.data!.id);
  expect(email.data).toMatchObject({ from: 'Acme <hello@tpl.test>', subject: 'Hello, Ann', html: '<p>Hi Ann, your plan is Pro at 0/month.</p>' });
  expect(await mailboxCopy(email.data!.message_id!)).toEqual({ subject: 'Hello, Ann', html: '<p>Hi Ann, your plan is Pro at 0/month.</p>' });

  // A batch with the duplicate, by id.
  const batch = await resend.batch.send([
    { to: 'a@example.org', template: { id: copy.data!.id, variables: { NAME: 'Bo', PRICE: 9 } } },
    { to: 'b@example.org', subject: 'Overridden', template: { id: copy.data!.id, variables: { NAME: 'Cy' } } },
  ]);
  expect(batch.error).toBeNull();
  const [first, second] = await Promise.all(batch.data!.data.map((d) => resend.emails.get(d.id)));
  expect(first!.data).toMatchObject({ subject: 'Hello, Bo', html: '<p>Hi Bo, your plan is Free at 9/month.</p>' });
  expect(second!.data).toMatchObject({ subject: 'Overridden', html: '<p>Hi Cy, your plan is Free at 0/month.</p>' });

  // Refusals the SDK sees in Resend's error format.
  const missing = await resend.emails.send({ to: 'delivered@resend.dev', template: { id: 'welcome', variables: { PLAN: 'Pro' } } });
  expect(missing.error).toMatchObject({ statusCode: 422, name: 'validation_error', message: expect.stringContaining('`NAME`') });
  const wrongType = await resend.emails.send({ to: 'delivered@resend.dev', template: { id: 'welcome', variables: { NAME: 'Ann', PRICE: 'ten' } } });
  expect(wrongType.error).toMatchObject({ statusCode: 422, message: expect.stringContaining('must be a number') });

  // Another tenant sees nothing of it.
  expect((await other.templates.get(id)).error).toMatchObject({ statusCode: 404 });
  expect((await other.templates.get('welcome')).error).toMatchObject({ statusCode: 404 });
  expect((await other.templates.remove(id)).error).toMatchObject({ statusCode: 404 });
  expect((await other.templates.list()).data!.data).toEqual([]);

  expect((await resend.templates.remove('welcome')).data).toEqual({ object: 'template', id, deleted: true });
  expect((await resend.templates.get(id)).error).toMatchObject({ statusCode: 404 });
  const afterDelete = await resend.emails.send({ to: 'delivered@resend.dev', template: { id: 'welcome', variables: { NAME: 'Ann' } } });
  expect(afterDelete.error).toMatchObject({ statusCode: 422, message: 'Template `welcome` not found.' });
});
