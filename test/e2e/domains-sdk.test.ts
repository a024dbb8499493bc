/**
 * Domains through the official resend SDK against local mode: create, get, list, verify, update,
 * remove; the sending gate; a second tenant refused on every route of the first one's domain.
 */
import { GetConfigurationSetCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import type { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { anotherTenant, sdkFor, tempDataDir } from '../support/e2e';

jest.setTimeout(120_000);

let local: RunningLocal;
let resend: Resend;
let other: Resend;

beforeAll(async () => {
  // Records count as published at once, so that verify finds a new domain verified (domains-auto-verify.test.ts waits instead).
  local = await startLocalMode({ dataDir: tempDataDir('domains'), domain: 'seeded.test', extraEnv: { SESAME_LOCAL_VERIFY_DELAY_SECONDS: '0' } });
  resend = sdkFor(local);
  ({ resend: other } = await anotherTenant(local, 'other'));
});
afterAll(() => local?.stop());

it('walks a domain through its life with the SDK', async () => {
  const created = await resend.domains.create({ name: 'acme-e2e.com' });
  expect(created.error).toBeNull();
  const domain = created.data!;
  expect(domain).toMatchObject({ name: 'acme-e2e.com', status: 'pending', region: 'us-east-1' });
  const dkim = domain.records.filter((r) => r.record === 'DKIM');
  expect(dkim).toHaveLength(3);
  for (const r of dkim) {
    const token = r.name.slice(0, r.name.indexOf('._domainkey.'));
    expect(r).toMatchObject({ type: 'CNAME', name: `${token}._domainkey.acme-e2e.com`, value: `${token}.dkim.amazonses.com`, status: 'pending', ttl: 'Auto' });
  }
  expect(domain.records).toEqual(expect.arrayContaining([
    expect.objectContaining({ record: 'SPF', type: 'MX', name: 'send.acme-e2e.com', value: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 }),
    expect.objectContaining({ record: 'SPF', type: 'TXT', name: 'send.acme-e2e.com', value: '"v=spf1 include:amazonses.com ~all"' }),
  ]));
  expect(domain.records.map((r) => r.record)).toEqual(['DKIM', 'DKIM', 'DKIM', 'SPF', 'SPF']);
  expect(domain).toMatchObject({ tracking_subdomain: null, dmarc: { type: 'TXT', name: '_dmarc.acme-e2e.com' } });

  const early = await resend.emails.send({ from: 'hi@acme-e2e.com', to: 'delivered@resend.dev', subject: 'x', text: 'x' });
  expect(early.error).toMatchObject({ statusCode: 403, name: 'validation_error' });

  // A second tenant: refused on create of the name, a parent or a subdomain, and 404 on every route.
  for (const name of ['acme-e2e.com', 'mail.acme-e2e.com']) {
    expect((await other.domains.create({ name })).error).toMatchObject({ statusCode: 403, name: 'validation_error' });
  }
  expect((await other.domains.get(domain.id)).error).toMatchObject({ statusCode: 404 });
  expect((await other.domains.verify(domain.id)).error).toMatchObject({ statusCode: 404 });
  expect((await other.domains.update({ id: domain.id, openTracking: true })).error).toMatchObject({ statusCode: 404 });
  expect((await other.domains.remove(domain.id)).error).toMatchObject({ statusCode: 404 });
  expect((await other.domains.list()).data!.data).toEqual([]);

  expect((await resend.domains.verify(domain.id)).error).toBeNull();
  const verified = await resend.domains.get(domain.id);
  expect(verified.data).toMatchObject({ object: 'domain', id: domain.id, status: 'verified' });
  expect(verified.data!.records.every((r) => r.status === 'verified')).toBe(true);

  const sent = await resend.emails.send({ from: 'hi@acme-e2e.com', to: 'delivered@resend.dev', subject: 'x', text: 'x' });
  expect(sent.error).toBeNull();

  expect((await resend.domains.update({ id: domain.id, openTracking: true, clickTracking: true })).error).toBeNull();
  const listed = await resend.domains.list();
  expect(listed.data!.data.map((d) => d.name)).toEqual(expect.arrayContaining(['acme-e2e.com', 'seeded.test']));

  expect((await resend.domains.remove(domain.id)).data).toMatchObject({ id: domain.id, deleted: true });
  const after = await resend.emails.send({ from: 'hi@acme-e2e.com', to: 'delivered@resend.dev', subject: 'x', text: 'x' });
  expect(after.error).toMatchObject({ statusCode: 403 });
});

it('round-trips tls: enforced through the SDK and sends through a configuration set that requires TLS', async () => {
  // Prepare
  const created = await resend.domains.create({ name: 'tls-e2e.com', tls: 'enforced' });
  expect(created.error).toBeNull();
  const id = created.data!.id;
  expect((await resend.domains.verify(id)).error).toBeNull();
  const ses = new SESv2Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${local.env.SESAME_SES_PORT}`, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  // Act
  const got = await resend.domains.get(id);
  const sent = await resend.emails.send({ from: 'hi@tls-e2e.com', to: 'delivered@resend.dev', subject: 'tls', text: 'x' });
  const store = (await (await fetch(`http://127.0.0.1:${local.env.SESAME_SES_PORT}/store`)).json()) as { emails: { envelope: { from: string }; request: { ConfigurationSetName?: string } }[] };
  const set = await ses.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'sesame-tls' }));
  const plainSet = await ses.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'sesame' }));
  ses.destroy();
  // Assess
  expect(got.data).toMatchObject({ id, tls: 'enforced' });
  expect(sent.error).toBeNull();
  const fromDomain = store.emails.filter((e) => e.envelope.from === 'hi@tls-e2e.com');
  expect(fromDomain.map((e) => e.request.ConfigurationSetName)).toEqual(['sesame-tls']);
  expect(set.DeliveryOptions?.TlsPolicy).toBe('REQUIRE');
  expect(plainSet.DeliveryOptions?.TlsPolicy).toBe('OPTIONAL');
});
