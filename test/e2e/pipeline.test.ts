/**
 * The whole pipeline in local mode, as a user drives it: emails to each test address reach their
 * final state through SES events, and a webhook receiver registered with the resend SDK gets one
 * correctly signed delivery per event.
 */
import type { Resend } from 'resend';
import { Webhook } from 'standardwebhooks';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { type ReceivedRequest, type Receiver, sdkFor, startReceiver, tempDataDir, until as untilWithin } from '../support/e2e';

jest.setTimeout(120_000);

let local: RunningLocal;
let resend: Resend;
let receiver: Receiver;
let receiverUrl: string;
let received: ReceivedRequest[];

beforeAll(async () => {
  local = await startLocalMode({ dataDir: tempDataDir('pipeline'), domain: 'pipeline.test' });
  resend = sdkFor(local);
  receiver = await startReceiver('/hooks');
  ({ url: receiverUrl, received } = receiver);
});
afterAll(async () => {
  await local?.stop();
  await receiver?.close();
});

const until = <T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> => untilWithin(read, done, ms, 200);

it('takes every test address to its final state and signs one webhook per event', async () => {
  const hook = await resend.webhooks.create({ endpoint: receiverUrl, events: ['email.sent', 'email.delivered', 'email.bounced', 'email.complained', 'email.suppressed'] });
  expect(hook.error).toBeNull();
  const secret = hook.data!.signing_secret;

  const expected: Record<string, string> = {
    'delivered@resend.dev': 'delivered',
    'bounced@resend.dev': 'bounced',
    'complained@resend.dev': 'complained',
    'suppressed@resend.dev': 'suppressed',
    'someone@example.org': 'delivered',
  };
  const ids: Record<string, string> = {};
  for (const to of Object.keys(expected)) {
    const sent = await resend.emails.send({ from: 'hello@pipeline.test', to, subject: `to ${to}`, text: 'x' });
    expect(sent.error).toBeNull();
    ids[to] = sent.data!.id;
  }

  for (const [to, status] of Object.entries(expected)) {
    const got = await until(() => resend.emails.get(ids[to]!), (r) => r.data?.last_event === status);
    expect([to, got.data?.last_event]).toEqual([to, status]);
  }

  // sent for all five, delivered for three (complaint@ is delivered first), bounced, complained, suppressed.
  const want = 5 + 3 + 1 + 1 + 1;
  await until(async () => received.length, (n) => n >= want);
  expect(received).toHaveLength(want);
  const wh = new Webhook(secret);
  const types = received.map((r) => (wh.verify(r.body, r.headers) as { type: string }).type);
  expect(types.filter((t) => t === 'email.sent')).toHaveLength(5);
  expect(new Set(received.map((r) => r.headers['webhook-id'])).size).toBe(want);
  for (const r of received) expect(r.headers['svix-id']).toBe(r.headers['webhook-id']);
  const bounce = received.map((r) => JSON.parse(r.body)).find((p) => p.type === 'email.bounced');
  expect(bounce.data).toMatchObject({ email_id: ids['bounced@resend.dev'], to: ['bounced@resend.dev'], subject: 'to bounced@resend.dev' });
});
