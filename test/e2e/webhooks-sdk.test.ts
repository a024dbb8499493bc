/**
 * A receiver registered through the resend SDK against local mode fails on purpose, is retried
 * with the same webhook id, and a replay delivers again; every delivery verifies with resend's
 * own webhooks.verify.
 */
import type { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { type ReceivedRequest, type Receiver, sdkFor, startReceiver, tempDataDir, waitFor } from '../support/e2e';

jest.setTimeout(120_000);

let local: RunningLocal;
let resend: Resend;
let receiver: Receiver;
let receiverUrl: string;
let failuresLeft = 2;
let attempts: ReceivedRequest[];

beforeAll(async () => {
  local = await startLocalMode({
    dataDir: tempDataDir('hooks'), domain: 'hooks.test',
    extraEnv: { SESAME_WEBHOOK_RETRY_SCHEDULE: '0,1,1,1' },
  });
  resend = sdkFor(local);
  receiver = await startReceiver('/hooks', () => (failuresLeft-- > 0 ? 503 : 200));
  ({ url: receiverUrl, received: attempts } = receiver);
});
afterAll(async () => {
  await local?.stop();
  await receiver?.close();
});

it('retries a failing receiver with one id, then replays on request', async () => {
  const hook = await resend.webhooks.create({ endpoint: receiverUrl, events: ['email.delivered'] });
  expect(hook.error).toBeNull();
  const secret = hook.data!.signing_secret;
  const sent = await resend.emails.send({ from: 'hi@hooks.test', to: 'delivered@resend.dev', subject: 'x', text: 'x' });
  expect(sent.error).toBeNull();

  await waitFor(() => attempts.some((a) => a.status === 200));
  expect(attempts.map((a) => a.status)).toEqual([503, 503, 200]);
  const ids = new Set(attempts.map((a) => a.headers['webhook-id']));
  expect(ids.size).toBe(1);
  for (const a of attempts) {
    const payload = resend.webhooks.verify({ payload: a.body, headers: { id: a.headers['svix-id']!, timestamp: a.headers['svix-timestamp']!, signature: a.headers['svix-signature']! }, webhookSecret: secret });
    expect(payload).toMatchObject({ type: 'email.delivered', data: { email_id: sent.data!.id } });
  }
  const [deliveryId] = [...ids];

  const listed = await resend.webhooks.events.list({ webhookId: hook.data!.id });
  expect(listed.data!.data).toEqual([expect.objectContaining({ id: deliveryId, type: 'email.delivered', status: 'success' })]);
  const tries = await resend.webhooks.events.attempts.list({ webhookId: hook.data!.id, eventId: deliveryId! });
  expect(tries.data!.data.map((t) => t.http_status_code).sort()).toEqual([200, 503, 503]);

  const replay = await resend.webhooks.events.replay({ webhookId: hook.data!.id, eventId: deliveryId! });
  expect(replay.error).toBeNull();
  await waitFor(() => attempts.length === 4);
  expect(attempts).toHaveLength(4);
  expect(attempts[3]!.headers['webhook-id']).toBe(deliveryId);
  expect(attempts[3]!.status).toBe(200);
});
