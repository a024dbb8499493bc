import { parseEmailTag } from '../../lambdas/core/domain/email';
import { call, isResendError, type Handler } from '../support/api';
import { startSendHarness, type SendHarness } from './harness';
import { HttpError } from '../../lambdas/core/errors';
import type { EmailSender } from '../../lambdas/core/adapters/ses';

let h: SendHarness;
let handler: Handler;
let acme: { tenantId: string; key: string; domain: string };

beforeAll(async () => {
  h = await startSendHarness();
  handler = h.handler();
  acme = await h.tenant('acme');
});
afterAll(() => h.close());

const email = (n: number, over: Record<string, unknown> = {}) => ({ from: 'hello@acme.test', to: `user${n}@example.org`, subject: `Email ${n}`, text: `Body ${n}`, ...over });
const emailsTable = async () => (await h.items()).filter((i) => i.sk === 'META');

describe('POST /emails/batch', () => {
  it('sends every email and answers ids in request order', async () => {
    const before = h.ses.sent().length;
    const res = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: [email(1), email(2), email(3)] });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(3);
    const sent = h.ses.sent().slice(before);
    const idByRecipient = new Map(sent.map((s) => [s.request.Destination!.ToAddresses![0], parseEmailTag(s.request.EmailTags!.find((t) => t.Name === 'sesame_email_id')!.Value!)!.emailId]));
    expect(res.body.data.map((d: { id: string }) => d.id)).toEqual([1, 2, 3].map((n) => idByRecipient.get(`user${n}@example.org`)));
  });

  it('strict: one invalid email refuses the whole batch, naming its index, and sends nothing', async () => {
    const before = h.ses.sent().length;
    const metas = (await emailsTable()).length;
    const res = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: [email(1), email(2, { to: 'bad' }), email(3)] });
    expect([res.status, res.body.name]).toEqual([422, 'validation_error']);
    expect(res.body.message).toMatch(/^emails\[1\]/);
    expect(h.ses.sent()).toHaveLength(before);
    expect(await emailsTable()).toHaveLength(metas);
  });

  it('strict: an unverified domain refuses the whole batch before anything is sent', async () => {
    const before = h.ses.sent().length;
    const res = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: [email(1), email(2, { from: 'x@nobody.test' })] });
    expect(res.status).toBe(403);
    expect(h.ses.sent()).toHaveLength(before);
  });

  it('permissive: sends the valid emails and reports the others by index', async () => {
    const before = h.ses.sent().length;
    const res = await call(handler, 'POST', '/emails/batch', {
      key: acme.key, headers: { 'x-batch-validation': 'permissive' },
      body: [email(1), email(2, { to: 'bad' }), email(3, { from: 'x@nobody.test' }), email(4)],
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(2);
    expect(res.body.errors.map((e: { index: number }) => e.index)).toEqual([1, 2]);
    expect(res.body.errors[1].message).toContain('nobody.test');
    expect(h.ses.sent().length - before).toBe(2);
  });

  it.each([
    ['not an array', { a: 1 }, {}],
    ['empty', [], {}],
    ['over 100', Array.from({ length: 101 }, (_, i) => email(i)), {}],
    ['attachments', [email(1, { attachments: [{ filename: 'a.txt', content: 'YQ==' }] })], {}],
    ['scheduled_at more than 30 days ahead', [email(1, { scheduled_at: '2099-01-01T00:00:00Z' })], {}],
    ['an unknown validation mode', [email(1)], { 'x-batch-validation': 'lenient' }],
  ])('refuses %s with 422', async (_name, body, headers) => {
    const before = h.ses.sent().length;
    const res = await call(handler, 'POST', '/emails/batch', { key: acme.key, body, headers });
    expect(res.status).toBe(422);
    expect(isResendError(res.body)).toBe(true);
    expect(h.ses.sent()).toHaveLength(before);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response and sends once', async () => {
    const before = h.ses.sent().length;
    const first = await call(handler, 'POST', '/emails', { key: acme.key, body: email(1), headers: { 'Idempotency-Key': 'order-1' } });
    const again = await call(handler, 'POST', '/emails', { key: acme.key, body: email(1), headers: { 'Idempotency-Key': 'order-1' } });
    expect(first.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(h.ses.sent().length - before).toBe(1);
  });

  it('is per tenant', async () => {
    const other = await h.tenant('other');
    const mine = await call(handler, 'POST', '/emails', { key: acme.key, body: email(1), headers: { 'Idempotency-Key': 'shared-key' } });
    const theirs = await call(handler, 'POST', '/emails', { key: other.key, body: email(1, { from: 'a@other.test' }), headers: { 'Idempotency-Key': 'shared-key' } });
    expect(theirs.status).toBe(200);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('refuses another body under the same key with 409 invalid_idempotent_request', async () => {
    await call(handler, 'POST', '/emails', { key: acme.key, body: email(1), headers: { 'Idempotency-Key': 'order-2' } });
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email(2), headers: { 'Idempotency-Key': 'order-2' } });
    expect([res.status, res.body.name]).toEqual([409, 'invalid_idempotent_request']);
  });

  it('refuses a second request while the first is in flight with 409 concurrent_idempotent_requests', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = h.handler({ sender: (real) => ({ send: async (e) => { await gate; return real.send(e); } }) });
    const first = call(slow, 'POST', '/emails', { key: acme.key, body: email(3), headers: { 'Idempotency-Key': 'order-3' } });
    await new Promise((r) => setTimeout(r, 100));
    const second = await call(handler, 'POST', '/emails', { key: acme.key, body: email(3), headers: { 'Idempotency-Key': 'order-3' } });
    release();
    expect([second.status, second.body.name]).toEqual([409, 'concurrent_idempotent_requests']);
    expect((await first).status).toBe(200);
  });

  it('never stores a 429: the same key retries and sends', async () => {
    h.ses.failNext('SendEmail', 'TooManyRequestsException');
    const throttled = await call(handler, 'POST', '/emails', { key: acme.key, body: email(4), headers: { 'Idempotency-Key': 'order-4' } });
    expect(throttled.status).toBe(429);
    const retried = await call(handler, 'POST', '/emails', { key: acme.key, body: email(4), headers: { 'Idempotency-Key': 'order-4' } });
    expect(retried.status).toBe(200);
  });

  it('never stores a 5xx: a retry is not answered the 500 again (it waits for the Send event, then sends)', async () => {
    let clock = Date.now();
    const now = () => clock;
    const broken = h.handler({ now, sender: () => ({ send: async () => { throw new Error('boom'); } }) });
    expect((await call(broken, 'POST', '/emails', { key: acme.key, body: email(5), headers: { 'Idempotency-Key': 'order-5' } })).status).toBe(500);
    expect((await call(h.handler({ now }), 'POST', '/emails', { key: acme.key, body: email(5), headers: { 'Idempotency-Key': 'order-5' } })).status).toBe(409);
    clock += 16 * 60_000;
    expect((await call(h.handler({ now }), 'POST', '/emails', { key: acme.key, body: email(5), headers: { 'Idempotency-Key': 'order-5' } })).status).toBe(200);
  });

  it('lets a batch that SES throttles part-way be retried with the same key, sending only what was not sent', async () => {
    let calls = 0;
    const throttleThird = (real: EmailSender): EmailSender => ({
      send: async (e) => {
        calls++;
        if (calls === 3) throw new HttpError(429, 'rate_limit_exceeded', 'SES is throttling sends. Please retry later.');
        return real.send(e);
      },
    });
    const before = h.ses.sent().length;
    const batch = [1, 2, 3, 4, 5].map((n) => email(n, { subject: `Batch ${n}` }));
    const first = await call(h.handler({ sender: throttleThird, batchConcurrency: 1 }), 'POST', '/emails/batch', { key: acme.key, body: batch, headers: { 'Idempotency-Key': 'batch-1' } });
    expect([first.status, first.body.name]).toEqual([429, 'rate_limit_exceeded']);
    expect(h.ses.sent().length - before).toBe(2);

    const retry = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: batch, headers: { 'Idempotency-Key': 'batch-1' } });
    expect(retry.status).toBe(200);
    expect(retry.body.data).toHaveLength(5);
    const sent = h.ses.sent().slice(before);
    expect(sent).toHaveLength(5);
    expect(new Set(sent.map((s) => s.request.Content!.Simple!.Subject!.Data)).size).toBe(5);
    const ids = sent.map((s) => parseEmailTag(s.request.EmailTags!.find((t) => t.Name === 'sesame_email_id')!.Value!)!.emailId);
    expect(new Set(ids)).toEqual(new Set(retry.body.data.map((d: { id: string }) => d.id)));

    const replay = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: batch, headers: { 'Idempotency-Key': 'batch-1' } });
    expect(replay.body).toEqual(retry.body);
    expect(h.ses.sent().length - before).toBe(5);
  });
});
