/**
 * A receiver registered through the resend SDK against local mode fails on purpose, is retried
 * with the same webhook id, and a replay delivers again; every delivery verifies with resend's
 * own webhooks.verify.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resend } from 'resend';
import { startLocalMode, freePort, type RunningLocal } from '../support/local-mode';

jest.setTimeout(120_000);

let local: RunningLocal;
let resend: Resend;
let receiver: Server;
let receiverUrl: string;
let failuresLeft = 2;
const attempts: { status: number; headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  local = await startLocalMode({
    dataDir: mkdtempSync(join(tmpdir(), 'sesame-hooks-')), domain: 'hooks.test',
    extraEnv: { SESAME_WEBHOOK_RETRY_SCHEDULE: '0,1,1,1' },
  });
  resend = new Resend(local.apiKey, { baseUrl: local.apiUrl });
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = failuresLeft-- > 0 ? 503 : 200;
      attempts.push({ status, headers: req.headers as Record<string, string>, body });
      res.writeHead(status).end(status === 200 ? 'ok' : 'try later');
    });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${port}/hooks`;
});
afterAll(async () => {
  await local?.stop();
  receiver?.close();
});

const wait = async (ok: () => boolean, ms = 30_000) => {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
};

it('retries a failing receiver with one id, then replays on request', async () => {
  const hook = await resend.webhooks.create({ endpoint: receiverUrl, events: ['email.delivered'] });
  expect(hook.error).toBeNull();
  const secret = hook.data!.signing_secret;
  const sent = await resend.emails.send({ from: 'hi@hooks.test', to: 'delivered@resend.dev', subject: 'x', text: 'x' });
  expect(sent.error).toBeNull();

  await wait(() => attempts.some((a) => a.status === 200));
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
  await wait(() => attempts.length === 4);
  expect(attempts).toHaveLength(4);
  expect(attempts[3]!.headers['webhook-id']).toBe(deliveryId);
  expect(attempts[3]!.status).toBe(200);
});
