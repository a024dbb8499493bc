import { call, isResendError, type Handler } from '../support/api';
import { startSendHarness, type SendHarness } from './harness';
import { HttpError } from '../../lambdas/core/errors';
import { CONFIGURATION_SET_CHOICES, configurationSetName } from '../../lambdas/core/routes';

let h: SendHarness;
let handler: Handler;
let acme: { tenantId: string; key: string; domain: string };

beforeAll(async () => {
  h = await startSendHarness();
  handler = h.handler();
  acme = await h.tenant('acme');
});
afterAll(() => h.close());

const email = (over: Record<string, unknown> = {}) => ({ from: `Acme <hello@acme.test>`, to: 'user@example.org', subject: 'Welcome', html: '<p>Hi</p>', text: 'Hi', ...over });

describe('POST /emails', () => {
  it('sends through SES with the configuration set and correlation tags, and reads back as sent', async () => {
    const sentBefore = h.ses.sent().length;
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ tags: [{ name: 'kind', value: 'welcome' }], reply_to: 'help@acme.test', cc: ['C <c@example.org>'] }) });

    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['id']);
    const sent = h.ses.sent().slice(sentBefore);
    expect(sent).toHaveLength(1);
    const req = sent[0]!.request;
    expect(req.ConfigurationSetName).toBe('sesame');
    expect(req.FromEmailAddress).toBe('Acme <hello@acme.test>');
    expect(req.EmailTags).toEqual(expect.arrayContaining([
      { Name: 'kind', Value: 'welcome' },
      { Name: 'sesame_email_id', Value: expect.stringMatching(new RegExp(`^${res.body.id}_\\d+$`)) },
      { Name: 'sesame_tenant_id', Value: acme.tenantId },
    ]));

    const got = await call(handler, 'GET', `/emails/${res.body.id}`, { key: acme.key });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      object: 'email', id: res.body.id, from: 'Acme <hello@acme.test>', to: ['user@example.org'], cc: ['C <c@example.org>'],
      bcc: [], reply_to: ['help@acme.test'], subject: 'Welcome', html: '<p>Hi</p>', text: 'Hi', last_event: 'sent',
      tags: [{ name: 'kind', value: 'welcome' }], scheduled_at: null,
    });
    expect(got.body.message_id).toBe(`<${sent[0]!.messageId}@email.amazonses.com>`);
    expect(Date.parse(got.body.created_at)).not.toBeNaN();
    // The email-id tag carries the creation time, so that its SES events need not read the email.
    const tag = req.EmailTags!.find((t) => t.Name === 'sesame_email_id')!.Value!;
    expect(new Date(Number(tag.slice(tag.indexOf('_') + 1))).toISOString()).toBe(got.body.created_at);
  });

  it('maps Resend test addresses to the SES mailbox simulator but shows what the customer sent to', async () => {
    const before = h.ses.sent().length;
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ to: ['delivered@resend.dev', 'bounced+x@resend.dev'] }) });
    const req = h.ses.sent()[before]!.request;
    expect(req.Destination?.ToAddresses).toEqual(['success@simulator.amazonses.com', 'bounce+x@simulator.amazonses.com']);
    const got = await call(handler, 'GET', `/emails/${res.body.id}`, { key: acme.key });
    expect(got.body.to).toEqual(['delivered@resend.dev', 'bounced+x@resend.dev']);
  });

  it('hands headers and attachments to SES in the Simple content', async () => {
    const before = h.ses.sent().length;
    const content = Buffer.from('hello attachment');
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ headers: { 'X-Entity-Ref-ID': '42' }, attachments: [{ filename: 'note.txt', content: content.toString('base64') }] }) });
    expect(res.status).toBe(200);
    const simple = h.ses.sent()[before]!.request.Content!.Simple!;
    expect(simple.Headers).toEqual([{ Name: 'X-Entity-Ref-ID', Value: '42' }]);
    expect(simple.Attachments![0]).toMatchObject({ FileName: 'note.txt', ContentType: 'text/plain' });
    expect(Buffer.from(simple.Attachments![0]!.RawContent!).toString()).toBe('hello attachment');
  });

  it('picks the configuration set of the domain\'s tracking and TLS choice, for every set the stack makes', async () => {
    for (const choice of CONFIGURATION_SET_CHOICES) {
      const set = configurationSetName('sesame', choice);
      const prefix = `cs-${set}`;
      const tenant = await h.tenant(prefix, { openTracking: choice.open, clickTracking: choice.click, tls: choice.tls });
      const before = h.ses.sent().length;
      await call(handler, 'POST', '/emails', { key: tenant.key, body: email({ from: `x@${prefix}.test` }) });
      expect([prefix, h.ses.sent()[before]!.request.ConfigurationSetName]).toEqual([prefix, set]);
    }
    expect(new Set(CONFIGURATION_SET_CHOICES.map((c) => configurationSetName('sesame', c))).size).toBe(8);
  });

  it('keeps a large body apart from the status item and returns it whole', async () => {
    const html = Array.from({ length: 60_000 }, (_, i) => `<p>${(i * 7919) % 100_003}</p>`).join('');
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ html }) });
    const got = await call(handler, 'GET', `/emails/${res.body.id}`, { key: acme.key });
    expect(got.body.html).toBe(html);
    const status = (await h.items()).find((i) => i.pk === `E#${res.body.id}` && i.sk === 'STATUS')!;
    expect(Buffer.byteLength(JSON.stringify(status))).toBeLessThan(1024);
  });
});

describe('bad input gets a 4xx in Resend\'s format and writes nothing', () => {
  const cases: [string, { key?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> }, number, string][] = [
    ['no key', { key: null, body: email() }, 401, 'missing_api_key'],
    ['unknown key', { key: 're_not_a_real_key_123', body: email() }, 403, 'invalid_api_key'],
    ['not JSON', { rawBody: '{"from":' }, 400, 'validation_error'],
    ['empty body', { rawBody: '' }, 422, 'missing_required_field'],
    ['an array', { body: [email()] }, 422, 'validation_error'],
    ['missing from', { body: email({ from: undefined }) }, 422, 'missing_required_field'],
    ['missing to', { body: email({ to: undefined }) }, 422, 'missing_required_field'],
    ['missing subject', { body: email({ subject: undefined }) }, 422, 'missing_required_field'],
    ['no html nor text', { body: email({ html: undefined, text: undefined }) }, 422, 'validation_error'],
    ['bad to', { body: email({ to: 'nope' }) }, 422, 'validation_error'],
    ['bad cc', { body: email({ cc: ['ok@x.io', 'bad@'] }) }, 422, 'validation_error'],
    ['bad bcc type', { body: email({ bcc: 7 }) }, 422, 'validation_error'],
    ['bad reply_to', { body: email({ reply_to: 'x' }) }, 422, 'validation_error'],
    ['bad from', { body: email({ from: 'Acme <acme.test>' }) }, 422, 'validation_error'],
    ['subject not a string', { body: email({ subject: 12 }) }, 422, 'validation_error'],
    ['html not a string', { body: email({ html: {} }) }, 422, 'validation_error'],
    ['51 recipients', { body: email({ to: Array.from({ length: 51 }, (_, i) => `u${i}@x.io`) }) }, 422, 'validation_error'],
    ['50 to + 1 cc', { body: email({ to: Array.from({ length: 50 }, (_, i) => `u${i}@x.io`), cc: 'c@x.io' }) }, 422, 'validation_error'],
    ['reserved tag', { body: email({ tags: [{ name: 'sesame_tenant_id', value: 'other' }] }) }, 422, 'validation_error'],
    ['tag with a colon', { body: email({ tags: [{ name: 'ses:x', value: 'y' }] }) }, 422, 'validation_error'],
    ['tag value with a space', { body: email({ tags: [{ name: 'a', value: 'b c' }] }) }, 422, 'validation_error'],
    ['headers not an object', { body: email({ headers: 'X: y' }) }, 422, 'validation_error'],
    ['reserved header', { body: email({ headers: { Bcc: 'spy@x.io' } }) }, 422, 'validation_error'],
    ['header injection', { body: email({ headers: { 'X-A': 'v\nBcc: spy@x.io' } }) }, 422, 'validation_error'],
    ['attachment without content', { body: email({ attachments: [{ filename: 'a.txt' }] }) }, 422, 'invalid_attachment'],
    ['attachment not base64', { body: email({ attachments: [{ filename: 'a.txt', content: 'not base64!' }] }) }, 422, 'invalid_attachment'],
    ['attachment by path', { body: email({ attachments: [{ filename: 'a.txt', path: 'https://x.io/a.txt' }] }) }, 422, 'invalid_attachment'],
    ['scheduled_at more than 30 days ahead', { body: email({ scheduled_at: '2099-01-01T00:00:00Z' }) }, 422, 'validation_error'],
    ['bad scheduled_at', { body: email({ scheduled_at: 'tomorrow-ish' }) }, 422, 'invalid_parameter'],
    ['template', { body: email({ template: { id: 't' } }) }, 422, 'validation_error'],
    ['unknown domain', { body: email({ from: 'a@unknown.test' }) }, 403, 'validation_error'],
    ['another tenant\'s domain', { body: email({ from: 'a@other.test' }) }, 403, 'validation_error'],
    ['unverified domain', { body: email({ from: 'a@pending.test' }) }, 403, 'validation_error'],
    ['idempotency key too long', { body: email(), headers: { 'Idempotency-Key': 'k'.repeat(257) } }, 400, 'invalid_idempotency_key'],
    ['body over the limit', { rawBody: JSON.stringify(email({ text: 'x'.repeat(4 * 1024 * 1024) })) }, 413, 'payload_too_large'],
  ];

  beforeAll(async () => {
    await h.tenant('other');
    await h.domains.put({ id: '00000000-0000-4000-8000-000000000001', name: 'pending.test', tenantId: acme.tenantId, status: 'pending', verifiedForSending: false, region: 'us-east-1', openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString() });
  });

  it.each(cases)('%s', async (_name, req, status, name) => {
    const before = await h.items();
    const sent = h.ses.sent().length;
    const res = await call(handler, 'POST', '/emails', { ...req, key: req.key === null ? undefined : (req.key ?? acme.key) } as never);
    expect(res.status).toBe(status);
    expect(res.body.name).toBe(name);
    expect(res.body.statusCode).toBe(status);
    expect(isResendError(res.body)).toBe(true);
    expect(await h.items()).toHaveLength(before.length);
    expect(h.ses.sent()).toHaveLength(sent);
  });

  it('says which domain is refused and why', async () => {
    const unverified = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ from: 'a@pending.test' }) });
    expect(unverified.body.message).toMatch(/pending\.test.*not verified/);
    const unknown = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ from: 'a@unknown.test' }) });
    expect(unknown.body.message).toMatch(/unknown\.test.*not registered/);
  });
});

describe('keys and tenants', () => {
  it('lets a sending key send but not read', async () => {
    const key = await h.tenants.createKey(acme.tenantId, { permission: 'sending_access' });
    expect((await call(handler, 'POST', '/emails', { key: key.token, body: email() })).status).toBe(200);
    const read = await call(handler, 'GET', '/emails', { key: key.token });
    expect([read.status, read.body.name]).toEqual([401, 'restricted_api_key']);
  });

  it('limits a key bound to one domain to that domain', async () => {
    const second = await h.tenant('second');
    await h.domains.put({ id: '00000000-0000-4000-8000-000000000002', name: 'second-b.test', tenantId: second.tenantId, status: 'verified', verifiedForSending: true, region: 'us-east-1', openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString() });
    await h.ses.seedIdentity('second-b.test', { verified: true });
    const bound = await h.tenants.createKey(second.tenantId, { permission: 'sending_access', domain: 'second.test' });
    expect((await call(handler, 'POST', '/emails', { key: bound.token, body: email({ from: 'a@second.test' }) })).status).toBe(200);
    const refused = await call(handler, 'POST', '/emails', { key: bound.token, body: email({ from: 'a@second-b.test' }) });
    expect([refused.status, refused.body.name]).toEqual([403, 'validation_error']);
    expect(refused.body.message).toContain('second.test');
  });

  it('stops a revoked key within a minute', async () => {
    let now = Date.now();
    const container = h.handler({ now: () => now });
    const key = await h.tenants.createKey(acme.tenantId);
    expect((await call(container, 'GET', '/emails?limit=1', { key: key.token })).status).toBe(200);
    await h.tenants.revokeKey(key.id, acme.tenantId);
    // A new container refuses at once; a warm one trusts its cache for at most a minute.
    expect((await call(h.handler(), 'GET', '/emails?limit=1', { key: key.token })).status).toBe(403);
    now += 30_000;
    expect((await call(container, 'GET', '/emails?limit=1', { key: key.token })).status).toBe(200);
    now += 31_000;
    const after = await call(container, 'GET', '/emails?limit=1', { key: key.token });
    expect([after.status, after.body.name]).toEqual([403, 'invalid_api_key']);
  });

  it('hides one tenant\'s emails from another (404, and absent from lists)', async () => {
    const mine = await call(handler, 'POST', '/emails', { key: acme.key, body: email() });
    const other = await h.tenant('nosy');
    const read = await call(handler, 'GET', `/emails/${mine.body.id}`, { key: other.key });
    expect([read.status, read.body.name]).toEqual([404, 'not_found']);
    const list = await call(handler, 'GET', '/emails?limit=100', { key: other.key });
    expect(list.body.data).toEqual([]);
    const cursor = await call(handler, 'GET', `/emails?after=${mine.body.id}`, { key: other.key });
    expect(cursor.status).toBe(422);
  });

  it('answers 404 for a malformed or unknown id', async () => {
    expect((await call(handler, 'GET', '/emails/not-an-id', { key: acme.key })).status).toBe(404);
    expect((await call(handler, 'GET', '/emails/0b7f3c1e-8d8e-4c1f-9d6e-2f1a3b4c5d6e', { key: acme.key })).status).toBe(404);
  });

  it('hides emails past retention, even before TTL removes them', async () => {
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email() });
    const later = h.handler({ now: () => Date.now() + 31 * 86_400_000 });
    expect((await call(later, 'GET', `/emails/${res.body.id}`, { key: acme.key })).status).toBe(404);
  });
});

describe('SES errors', () => {
  it('maps throttling to 429 rate_limit_exceeded and leaves nothing behind', async () => {
    const before = (await h.items()).length;
    h.ses.failNext('SendEmail', 'TooManyRequestsException');
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email() });
    expect([res.status, res.body.name]).toEqual([429, 'rate_limit_exceeded']);
    expect(res.headers['retry-after']).toBe('1');
    expect(await h.items()).toHaveLength(before);
  });

  it('maps a rejection to 422 with SES\'s reason', async () => {
    h.ses.failNext('SendEmail', 'MessageRejected');
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email() });
    expect([res.status, res.body.name]).toEqual([422, 'validation_error']);
    expect(res.body.message).toMatch(/^SES rejected the email/);
  });

  it('never shows internals on a 5xx', async () => {
    const broken = h.handler({ sender: () => ({ send: async () => { throw new Error('socket hang up at 10.1.2.3:443 table=secret'); } }) });
    const res = await call(broken, 'POST', '/emails', { key: acme.key, body: email() });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, name: 'internal_server_error', message: 'An unexpected error occurred.' });
  });

  it('keeps an HttpError raised by a sender as it is', async () => {
    const paused = h.handler({ sender: () => ({ send: async () => { throw new HttpError(403, 'validation_error', 'paused'); } }) });
    expect((await call(paused, 'POST', '/emails', { key: acme.key, body: email() })).status).toBe(403);
  });
});
