/**
 * The /templates routes and sending with a template, through the real handlers on dynalite and the
 * local SES server: Resend's shapes, every refusal (nothing written, nothing sent), tenant isolation.
 */
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { TemplateStore } from '../../lambdas/core/adapters/templates';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { templateRoutes } from '../../lambdas/account/templates';
import { call, isResendError, type CallOptions, type Handler } from '../support/api';
import { quietLog, startSendHarness, type SendHarness } from '../send/harness';

let h: SendHarness;
let send: Handler;
let templates: Handler;
let acme: { tenantId: string; key: string; domain: string };
let globex: { tenantId: string; key: string; domain: string };

beforeAll(async () => {
  h = await startSendHarness();
  send = h.handler();
  const db = createDb(h.dynamo.doc, h.table);
  templates = createApiHandler(templateRoutes({ templates: new TemplateStore(db) }), createAuthenticator(h.tenants), quietLog) as Handler;
  acme = await h.tenant('acme');
  globex = await h.tenant('globex');
});
afterAll(() => h.close());

const api = (method: string, url: string, options: CallOptions) => call(url.startsWith('/templates') ? templates : send, method, url, options);

const order = (over: Record<string, unknown> = {}) => ({
  name: 'Order confirmation',
  from: 'Acme <orders@acme.test>',
  subject: 'Order {{{ORDER_ID}}}',
  html: '<p>Hi {{{NAME}}}, you owe {{{TOTAL}}}.</p>',
  text: 'Hi {{{NAME}}}, you owe {{{TOTAL}}}.',
  reply_to: 'help@acme.test',
  variables: [
    { key: 'NAME', type: 'string', fallback_value: 'friend' },
    { key: 'TOTAL', type: 'number' },
    { key: 'ORDER_ID', type: 'string' },
  ],
  ...over,
});

/** A published template of acme's; returns its id. */
async function published(over: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', '/templates', { key: acme.key, body: order(over) });
  expect(created.status).toBe(201);
  expect((await api('POST', `/templates/${created.body.id}/publish`, { key: acme.key })).status).toBe(200);
  return created.body.id;
}

describe('/templates', () => {
  it('creates, reads by id and alias, edits as a draft, publishes, duplicates, lists and deletes', async () => {
    const created = await api('POST', '/templates', { key: acme.key, body: order({ alias: 'order-confirmation' }) });
    expect(created).toMatchObject({ status: 201, body: { object: 'template', id: expect.any(String) } });
    const id = created.body.id as string;

    const byId = await api('GET', `/templates/${id}`, { key: acme.key });
    expect(byId.body).toEqual({
      object: 'template', id, current_version_id: expect.any(String), name: 'Order confirmation', alias: 'order-confirmation',
      from: 'Acme <orders@acme.test>', subject: 'Order {{{ORDER_ID}}}', reply_to: ['help@acme.test'],
      html: '<p>Hi {{{NAME}}}, you owe {{{TOTAL}}}.</p>', text: 'Hi {{{NAME}}}, you owe {{{TOTAL}}}.',
      variables: [
        { id: expect.any(String), key: 'NAME', type: 'string', fallback_value: 'friend', created_at: expect.any(String), updated_at: expect.any(String) },
        { id: expect.any(String), key: 'TOTAL', type: 'number', fallback_value: null, created_at: expect.any(String), updated_at: expect.any(String) },
        { id: expect.any(String), key: 'ORDER_ID', type: 'string', fallback_value: null, created_at: expect.any(String), updated_at: expect.any(String) },
      ],
      created_at: expect.any(String), updated_at: expect.any(String),
      status: 'draft', published_at: null, has_unpublished_versions: false,
    });
    expect((await api('GET', '/templates/order-confirmation', { key: acme.key })).body).toEqual(byId.body);

    expect((await api('POST', `/templates/${id}/publish`, { key: acme.key })).body).toEqual({ object: 'template', id });
    const live = await api('GET', `/templates/${id}`, { key: acme.key });
    expect(live.body).toMatchObject({ status: 'published', published_at: expect.any(String), has_unpublished_versions: false, current_version_id: byId.body.current_version_id });

    expect((await api('PATCH', '/templates/order-confirmation', { key: acme.key, body: { subject: 'Your order {{{ORDER_ID}}}' } })).body).toEqual({ object: 'template', id });
    const edited = await api('GET', `/templates/${id}`, { key: acme.key });
    expect(edited.body).toMatchObject({ status: 'published', has_unpublished_versions: true, subject: 'Your order {{{ORDER_ID}}}', html: live.body.html });
    expect(edited.body.current_version_id).not.toBe(live.body.current_version_id);

    const copy = await api('POST', `/templates/${id}/duplicate`, { key: acme.key });
    expect(copy.body).toEqual({ object: 'template', id: expect.any(String) });
    expect((await api('GET', `/templates/${copy.body.id}`, { key: acme.key })).body).toMatchObject({
      name: 'Order confirmation (copy)', alias: null, status: 'draft', subject: 'Your order {{{ORDER_ID}}}',
    });

    const listed = await api('GET', '/templates?limit=1', { key: acme.key });
    expect(listed.body).toEqual({ object: 'list', has_more: true, data: [expect.objectContaining({ id: copy.body.id, status: 'draft', alias: null })] });
    const rest = await api('GET', `/templates?after=${copy.body.id}`, { key: acme.key });
    expect(rest.body.data[0]).toEqual({ id, name: 'Order confirmation', alias: 'order-confirmation', status: 'published', published_at: expect.any(String), created_at: expect.any(String), updated_at: expect.any(String) });

    expect((await api('DELETE', '/templates/order-confirmation', { key: acme.key })).body).toEqual({ object: 'template', id, deleted: true });
    expect((await api('GET', `/templates/${id}`, { key: acme.key })).status).toBe(404);
    expect((await api('DELETE', `/templates/${copy.body.id}`, { key: acme.key })).status).toBe(200);
  });

  it('never shows a template to another tenant', async () => {
    const id = await published({ alias: 'secret-layout' });
    for (const target of [id, 'secret-layout']) {
      for (const [method, url, body] of [
        ['GET', `/templates/${target}`], ['PATCH', `/templates/${target}`, { name: 'mine' }], ['DELETE', `/templates/${target}`],
        ['POST', `/templates/${target}/publish`], ['POST', `/templates/${target}/duplicate`],
      ] as const) {
        const res = await api(method, url, { key: globex.key, ...(body ? { body } : {}) });
        expect(res).toMatchObject({ status: 404, body: { name: 'not_found' } });
      }
    }
    expect((await api('GET', '/templates', { key: globex.key })).body.data).toEqual([]);
    // A reference that is neither an id nor an alias is simply not found.
    expect((await api('GET', `/templates/${'x'.repeat(3000)}`, { key: acme.key })).status).toBe(404);
    const sent = await api('POST', '/emails', { key: globex.key, body: { from: `hi@${globex.domain}`, to: 'a@example.org', template: { id, variables: { TOTAL: 1, ORDER_ID: 'x' } } } });
    expect(sent).toMatchObject({ status: 422, body: { message: `Template \`${id}\` not found.` } });
    // The alias is acme's only: globex can use it for its own template.
    expect((await api('POST', '/templates', { key: globex.key, body: order({ alias: 'secret-layout' }) })).status).toBe(201);
    expect((await api('GET', '/templates/secret-layout', { key: acme.key })).body.id).toBe(id);
  });

  it('refuses a taken alias with 409 and bad templates with 422, writing nothing', async () => {
    await published({ alias: 'taken' });
    const before = (await h.items()).length;
    expect(await api('POST', '/templates', { key: acme.key, body: order({ alias: 'taken' }) })).toMatchObject({ status: 409 });
    const bad = [
      order({ html: '<p>{{{UNDECLARED}}}</p>' }),
      order({ variables: [{ key: 'EMAIL', type: 'string' }], html: 'x', subject: 'x', text: 'x' }),
      order({ html: '{{#items}}x{{/items}}' }),
      order({ name: undefined }),
    ];
    for (const body of bad) {
      const res = await api('POST', '/templates', { key: acme.key, body });
      expect(res.status).toBe(422);
      expect(isResendError(res.body)).toBe(true);
    }
    expect((await h.items()).length).toBe(before);
  });

  it('is for full-access keys only', async () => {
    const sending = await h.tenants.createKey(acme.tenantId, { permission: 'sending_access' });
    const res = await api('GET', '/templates', { key: sending.token });
    expect(res.status).toBe(401);
    expect(res.body.name).toBe('restricted_api_key');
  });
});

describe('sending with a template', () => {
  it('renders the published version, lets the request override subject and from, and records the version', async () => {
    const id = await published({ alias: 'receipt' });
    const version = (await api('GET', `/templates/${id}`, { key: acme.key })).body.current_version_id;
    // An unpublished edit does not change what is sent.
    await api('PATCH', `/templates/${id}`, { key: acme.key, body: { html: '<p>draft</p>', text: null, variables: [], subject: 'draft' } });
    const before = h.ses.sent().length;
    const res = await api('POST', '/emails', { key: acme.key, body: { to: 'user@example.org', template: { id: 'receipt', variables: { TOTAL: 42, ORDER_ID: 'A-1<b>' } } } });
    expect(res.status).toBe(200);
    const [sent] = h.ses.sent().slice(before);
    expect(sent!.request.FromEmailAddress).toBe('Acme <orders@acme.test>');
    expect(sent!.request.ReplyToAddresses).toEqual(['help@acme.test']);
    expect(sent!.request.Content?.Simple?.Subject?.Data).toBe('Order A-1<b>');
    expect(sent!.request.Content?.Simple?.Body?.Html?.Data).toBe('<p>Hi friend, you owe 42.</p>');
    const got = await api('GET', `/emails/${res.body.id}`, { key: acme.key });
    expect(got.body).toMatchObject({
      subject: 'Order A-1<b>', html: '<p>Hi friend, you owe 42.</p>', text: 'Hi friend, you owe 42.',
      template_id: id, template_version_id: version,
    });

    const overridden = await api('POST', '/emails', {
      key: acme.key,
      body: { from: `Billing <billing@${acme.domain}>`, subject: 'Plain subject', to: 'user@example.org', template: { id, variables: { NAME: 'Ann', TOTAL: 1, ORDER_ID: 'B' } } },
    });
    const email = await api('GET', `/emails/${overridden.body.id}`, { key: acme.key });
    expect(email.body).toMatchObject({ from: `Billing <billing@${acme.domain}>`, subject: 'Plain subject', html: '<p>Hi Ann, you owe 1.</p>' });
  });

  it('refuses every bad template send with 422, sending and writing nothing', async () => {
    const id = await published();
    const draftOnly = (await api('POST', '/templates', { key: acme.key, body: order() })).body.id;
    const cases: [Record<string, unknown>, string][] = [
      [{ template: { id, variables: { TOTAL: 1 } } }, 'Missing template variable `ORDER_ID`'],
      [{ template: { id, variables: { TOTAL: '1', ORDER_ID: 'x' } } }, 'template variable `TOTAL` must be a number'],
      [{ template: { id, variables: { TOTAL: 1, ORDER_ID: 'x', FIRST_NAME: 'Jo' } } }, 'is reserved'],
      [{ template: { id, variables: { TOTAL: 1, ORDER_ID: 'x'.repeat(2001) } } }, 'longer than 2000 characters'],
      [{ template: { id, variables: { TOTAL: 1, ORDER_ID: 'x' } }, html: '<p>mine</p>' }, '`html` cannot be used with `template`'],
      [{ template: { id, variables: { TOTAL: 1, ORDER_ID: 'x' } }, text: 'mine' }, '`text` cannot be used with `template`'],
      [{ template: { id: draftOnly, variables: { TOTAL: 1, ORDER_ID: 'x' } } }, 'is not published'],
      [{ template: { id: 'no-such-alias' } }, 'Template `no-such-alias` not found.'],
      [{ template: { id: 'y'.repeat(3000) } }, 'not found.'],
      [{ template: { variables: {} } }, 'Invalid `template` field'],
    ];
    const sentBefore = h.ses.sent().length;
    const itemsBefore = (await h.items()).length;
    for (const [body, message] of cases) {
      const res = await api('POST', '/emails', { key: acme.key, body: { to: 'user@example.org', ...body } });
      expect(res.status).toBe(422);
      expect(isResendError(res.body)).toBe(true);
      expect(res.body.message).toContain(message);
    }
    expect(h.ses.sent().length).toBe(sentBefore);
    expect((await h.items()).length).toBe(itemsBefore);
  });

  it('renders each email of a batch; strict refuses the batch, permissive lists the refused ones', async () => {
    const id = await published({ alias: 'batch-layout' });
    const good = (n: number) => ({ to: 'user@example.org', template: { id: 'batch-layout', variables: { TOTAL: n, ORDER_ID: `O${n}` } } });
    const bad = { to: 'user@example.org', template: { id, variables: { TOTAL: 'x', ORDER_ID: 'x' } } };

    const strict = await api('POST', '/emails/batch', { key: acme.key, body: [good(1), bad] });
    expect(strict).toMatchObject({ status: 422, body: { message: 'emails[1]: The value of template variable `TOTAL` must be a number.' } });

    const before = h.ses.sent().length;
    const permissive = await api('POST', '/emails/batch', { key: acme.key, body: [good(1), bad, good(2)], headers: { 'x-batch-validation': 'permissive' } });
    expect(permissive.status).toBe(200);
    expect(permissive.body.data).toHaveLength(2);
    expect(permissive.body.errors).toEqual([{ index: 1, message: 'The value of template variable `TOTAL` must be a number.' }]);
    expect(h.ses.sent().slice(before).map((s) => s.request.Content?.Simple?.Subject?.Data)).toEqual(['Order O1', 'Order O2']);
  });
});
