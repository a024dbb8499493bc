/**
 * Local mode survives kill -9. A burst of keyed sends with a webhook endpoint subscribed; local
 * mode is killed with SIGKILL in the middle, three times at different moments (a few sends
 * acknowledged, more acknowledged, all acknowledged with their events and webhooks under way),
 * and started again on the same data folder each time; every key is retried until it succeeds.
 * Then: every email is in the mailbox once, every email is at its final state, every webhook due
 * arrived under one `webhook-id` (a receiver deduplicates by it; the same id again is only allowed
 * for a delivery under way at a kill), and the webhook DLQ is empty.
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { type Receiver, startReceiver, tempDataDir } from '../support/e2e';
import { parseEmailTag } from '../../lambdas/core/domain/email';

jest.setTimeout(150_000);

const API_KEY = 're_crashtest_0123456789abcdefghijklmnop';
const DOMAIN = 'crash.test';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the simulator does with each recipient: the email's final state and its webhooks. */
const RECIPIENTS = [
  { to: 'delivered@resend.dev', final: 'delivered', hooks: ['email.sent', 'email.delivered'] },
  { to: 'bounced@resend.dev', final: 'bounced', hooks: ['email.sent', 'email.bounced'] },
  { to: 'complained@resend.dev', final: 'complained', hooks: ['email.sent', 'email.delivered', 'email.complained'] },
] as const;

interface Key {
  readonly key: string;
  readonly recipient: (typeof RECIPIENTS)[number];
  id?: string;
}

interface Hook {
  readonly webhookId: string;
  readonly type: string;
  readonly emailId: string;
  /** The number of kills before it arrived. */
  readonly epoch: number;
}

let local: RunningLocal | undefined;
let receiver: Receiver;
let receiverUrl: string;
const hooks: Hook[] = [];
let kills = 0;

beforeAll(async () => {
  receiver = await startReceiver('/hooks', (headers, body) => {
    const payload = JSON.parse(body) as { type: string; data: { email_id: string } };
    hooks.push({ webhookId: String(headers['webhook-id']), type: payload.type, emailId: payload.data.email_id, epoch: kills });
    return 200;
  });
  receiverUrl = receiver.url;
});
afterAll(async () => {
  await local?.kill();
  await receiver?.close();
});

const start = (dataDir: string) =>
  startLocalMode({
    dataDir, apiKey: API_KEY, domain: DOMAIN,
    extraEnv: { SESAME_WEBHOOK_RETRY_SCHEDULE: '0,1,1,1,1,1', SESAME_IDEMPOTENCY_LOCK_SECONDS: '2', SESAME_SEND_RETRY_WINDOW_MINUTES: '0.05', POWERTOOLS_LOG_LEVEL: 'ERROR' },
  });

/** One keyed send: the email id once acknowledged, undefined when refused for now or cut off. */
async function send(api: string, k: Key): Promise<string | undefined> {
  try {
    const res = await fetch(`${api}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'idempotency-key': k.key },
      body: JSON.stringify({ from: `Crash <hello@${DOMAIN}>`, to: k.recipient.to, subject: `Crash ${k.key}`, text: k.key }),
    });
    const body = (await res.json()) as { id?: string; name?: string };
    if (res.status === 200 && body.id) return body.id;
    if (res.status === 409 && body.name === 'concurrent_idempotent_requests') return undefined; // a killed request's claim
    throw new Error(`unexpected answer ${res.status} ${JSON.stringify(body)}`);
  } catch (error) {
    // Connection refused or reset: local mode was killed. (Node's fetch throws its own realm's TypeError.)
    if ((error as Error).message === 'fetch failed') return undefined;
    throw error;
  }
}

/**
 * Sends every key not acknowledged yet, five at a time; once `killAfter` sends were acknowledged
 * in this round, kills local mode at once (the sends still under way are cut off).
 */
async function round(keys: Key[], killAfter: number | undefined): Promise<void> {
  const api = local!.apiUrl;
  const todo = keys.filter((k) => k.id === undefined);
  let acked = 0;
  let killing: Promise<void> | undefined;
  let next = 0;
  const worker = async () => {
    while (killing === undefined && next < todo.length) {
      const k = todo[next++]!;
      const id = await send(api, k);
      if (id !== undefined && killing === undefined) {
        if (k.id !== undefined) expect(id).toBe(k.id);
        k.id = id;
        acked++;
        if (killAfter !== undefined && acked >= killAfter) {
          kills++;
          killing = local!.kill();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 5 }, worker));
  if (killAfter !== undefined) {
    killing ??= (kills++, local!.kill());
    await killing;
  }
}

it('loses nothing accepted and does nothing twice across SIGKILLs at different moments', async () => {
  // Prepare
  const dataDir = tempDataDir('crash');
  local = await start(dataDir);
  const hook = await fetch(`${local.apiUrl}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ endpoint: receiverUrl, events: ['email.sent', 'email.delivered', 'email.bounced', 'email.complained'] }),
  });
  expect(hook.status).toBe(201);
  const keys: Key[] = Array.from({ length: 36 }, (_, i) => ({ key: `order-${i}`, recipient: RECIPIENTS[i % RECIPIENTS.length]! }));
  const batches = [keys.slice(0, 12), keys.slice(12, 24), keys.slice(24)];

  // Act: three bursts, each killed at another moment, each restart retrying what is not acknowledged.
  await round(batches[0]!, 2); // two sends acknowledged, others under way
  local = await start(dataDir);
  await round([...batches[0]!, ...batches[1]!], 9);
  local = await start(dataDir);
  await round([...batches[0]!, ...batches[1]!, ...batches[2]!], undefined);
  kills++;
  await local.kill(); // every send acknowledged; their events and webhooks under way
  local = await start(dataDir);
  for (let attempt = 0; keys.some((k) => k.id === undefined); attempt++) {
    if (attempt > 0) await sleep(500);
    await round(keys, undefined);
  }

  // Assess: every email at its final state, every webhook due delivered.
  const expected = new Set(keys.flatMap((k) => k.recipient.hooks.map((type) => `${k.id}:${type}`)));
  const states = new Map<string, string>();
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const k of keys) {
      if (states.get(k.id!) === k.recipient.final) continue;
      const res = await fetch(`${local.apiUrl}/emails/${k.id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
      states.set(k.id!, ((await res.json()) as { last_event: string }).last_event);
    }
    const arrived = new Set(hooks.map((h) => `${h.emailId}:${h.type}`));
    const done = keys.every((k) => states.get(k.id!) === k.recipient.final) && [...expected].every((e) => arrived.has(e));
    if (done || Date.now() > deadline) break;
    await sleep(500);
  }
  await sleep(1_500); // a duplicate would arrive now

  expect(Object.fromEntries(keys.map((k) => [k.key, states.get(k.id!)]))).toEqual(Object.fromEntries(keys.map((k) => [k.key, k.recipient.final])));

  const sqs = new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${local.env.SESAME_SQS_PORT}`, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'sesame-webhooks-dlq' }));
    const dlq = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect(dlq.Attributes).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  } finally {
    sqs.destroy();
  }

  // Sent once: a send killed after SES accepted it and before its MessageId was recorded is not sent
  // again by its retry (the email is marked `sending` first; its Send event records the MessageId).
  const mailbox = (await (await fetch(`http://127.0.0.1:${local.env.SESAME_SES_PORT}/store`)).json()) as {
    emails: { request: { EmailTags?: { Name: string; Value: string }[] } }[];
  };
  const sendsPerEmail = new Map<string, number>();
  for (const email of mailbox.emails) {
    const tag = email.request.EmailTags?.find((t) => t.Name === 'sesame_email_id')?.Value;
    const id = (tag !== undefined ? parseEmailTag(tag)?.emailId : undefined) ?? '(untagged)';
    sendsPerEmail.set(id, (sendsPerEmail.get(id) ?? 0) + 1);
  }
  expect(Object.fromEntries(sendsPerEmail)).toEqual(Object.fromEntries(keys.map((k) => [k.id!, 1])));

  const idsPerEvent = new Map<string, Set<string>>();
  for (const h of hooks) {
    const event = `${h.emailId}:${h.type}`;
    idsPerEvent.set(event, (idsPerEvent.get(event) ?? new Set()).add(h.webhookId));
  }
  expect([...idsPerEvent.keys()].sort()).toEqual([...expected].sort());
  expect([...idsPerEvent.entries()].filter(([, ids]) => ids.size !== 1)).toEqual([]);
  // A webhook-id arrives again only when its first delivery was under way at a kill.
  const firstEpoch = new Map<string, number>();
  const repeats: Hook[] = [];
  for (const h of hooks) {
    if (!firstEpoch.has(h.webhookId)) firstEpoch.set(h.webhookId, h.epoch);
    else if (h.epoch === firstEpoch.get(h.webhookId)) repeats.push(h);
  }
  expect(repeats).toEqual([]);

  // SIGTERM still stops cleanly.
  const running = local;
  local = undefined;
  expect(await running.stop()).toBe(0);
});
