import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { silentLogger } from '../../lambdas/core/log';
import { HttpDelivery } from '../../lambdas/core/adapters/http-delivery';
import { deliveryIdFor, SqsDeliveryQueue, WebhookFanOut } from '../../lambdas/core/adapters/fan-out';
import { WebhookSubscribers } from '../../lambdas/core/adapters/endpoints';
import { parseDeliveryMessage } from '../../lambdas/core/domain/webhook-payload';
import { createDeliverHandler, SqsVisibility } from '../../lambdas/deliver/core';
import { startDeliverPoller } from '../../lambdas/local/deliver-poller';

import { appliedEvent, eventually, localServices, type Receiver, startReceiver, storedAttempts, stores, type Stores } from './helpers';

const silent = silentLogger;

async function drain(client: SQSClient, url: string, expected: number) {
  const bodies: string[] = [];
  await eventually(async () => {
    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    bodies.push(...(Messages ?? []).map((m) => m.Body!));
    return bodies.length >= expected;
  }, 5000);
  return bodies.map(parseDeliveryMessage);
}

describe('fan-out', () => {
  const services = localServices();
  let s: Stores;

  beforeEach(async () => {
    s = await stores(services.dynamo);
  });

  it("queues one message per subscribed, enabled endpoint of the event's tenant, with a derived delivery id", async () => {
    const { url } = await services.sqs.freshQueue();
    const a = await s.webhooks.create('t1', { endpoint: 'https://a.example.com/h', events: ['email.delivered', 'email.bounced'] });
    const b = await s.webhooks.create('t1', { endpoint: 'https://b.example.com/h', events: ['email.delivered'] });
    await s.webhooks.create('t1', { endpoint: 'https://c.example.com/h', events: ['email.opened'] });
    const off = await s.webhooks.create('t1', { endpoint: 'https://d.example.com/h', events: ['email.delivered'] });
    await s.webhooks.update('t1', off.webhook.id, { status: 'disabled' });
    await s.webhooks.create('t2', { endpoint: 'https://e.example.com/h', events: ['email.delivered'] });
    const fanOut = new WebhookFanOut({ webhooks: new WebhookSubscribers(s.db), queue: new SqsDeliveryQueue(services.sqs.client, url), retrySchedule: [0, 5] });

    const event = appliedEvent('t1', 'email.delivered');
    await fanOut.fanOut(event);

    const messages = await drain(services.sqs.client, url, 2);
    expect(messages.map((m) => m.webhook_id).sort()).toEqual([a.webhook.id, b.webhook.id].sort());
    for (const m of messages) {
      expect(m).toMatchObject({ tenant_id: 't1', email_id: event.emailId, event_id: event.eventId, event_type: 'email.delivered', generation: 0 });
      expect(m.delivery_id).toBe(deliveryIdFor(event.eventId, m.webhook_id, event.timestamp));
      expect(JSON.parse(m.payload)).toMatchObject({ type: 'email.delivered', created_at: event.timestamp, data: { email_id: event.emailId, tags: { plan: 'pro' } } });
    }
    // The same event again (ingestion retrying) carries the same delivery ids.
    await fanOut.fanOut(event);
    const again = await drain(services.sqs.client, url, 2);
    expect(again.map((m) => m.delivery_id).sort()).toEqual(messages.map((m) => m.delivery_id).sort());
  });

  it('reads the endpoints once per tenant within the cache time', async () => {
    let queries = 0;
    const sent: number[] = [];
    let now = 1_000_000;
    const fanOut = new WebhookFanOut({
      webhooks: { subscribers: async () => (queries++, [{ id: 'w1', events: ['email.sent'], status: 'enabled' }]) },
      queue: { enqueue: async (d) => void sent.push(d.length) },
      retrySchedule: [0],
      now: () => now,
    });
    await fanOut.fanOut(appliedEvent('t1', 'email.sent'));
    await fanOut.fanOut(appliedEvent('t1', 'email.sent'));
    await fanOut.fanOut(appliedEvent('t1', 'email.delivered'));
    expect(queries).toBe(1);
    now += 30_001;
    await fanOut.fanOut(appliedEvent('t1', 'email.sent'));
    expect(queries).toBe(2);
    expect(sent).toEqual([1, 1, 1]);
  });

  it('sends at most 10 entries per call, retries failed entries and throws if they keep failing', async () => {
    const calls: number[] = [];
    let failFirst = 2;
    const flaky = {
      send: async (cmd: SendMessageBatchCommand) => {
        const entries = cmd.input.Entries!;
        calls.push(entries.length);
        const failed = failFirst > 0 ? entries.slice(0, failFirst).map((e) => ({ Id: e.Id!, Code: 'InternalError', SenderFault: false })) : [];
        failFirst = 0;
        return { Successful: [], Failed: failed };
      },
    };
    const queue = new SqsDeliveryQueue(flaky as never, 'http://q', { sleep: async () => undefined });
    const msg = (i: number) => ({ message: { v: 1 as const, delivery_id: `d${i}`, webhook_id: 'w', tenant_id: 't', event_id: 'e', event_type: 'email.sent' as const, payload: '{}', queued_at: 'x', generation: 0 }, delaySeconds: 0 });
    await queue.enqueue(Array.from({ length: 12 }, (_, i) => msg(i)));
    expect(calls.sort()).toEqual([10, 2, 2].sort());

    const broken = new SqsDeliveryQueue({ send: async (cmd: SendMessageBatchCommand) => ({ Failed: cmd.input.Entries!.map((e) => ({ Id: e.Id!, Code: 'InternalError', SenderFault: false })) }) } as never, 'http://q', { sleep: async () => undefined });
    await expect(broken.enqueue([msg(1)])).rejects.toThrow(/Could not queue 1 webhook deliveries/);
  });
});

describe('fan-out to delivery through the queue (local poller)', () => {
  const services = localServices();
  let s: Stores;
  let receiver: Receiver;
  let poster: HttpDelivery;

  beforeEach(async () => {
    s = await stores(services.dynamo);
    receiver = await startReceiver();
    poster = new HttpDelivery({ allowLoopback: true, timeoutMs: 2000 });
  });
  afterEach(async () => {
    poster.close();
    await receiver.close();
  });

  it('retries a failing receiver on the schedule: N failures then a success are N+1 attempts under one id', async () => {
    const schedule = [0, 1, 1, 1];
    const { url } = await services.sqs.freshQueue({ maxReceiveCount: 12 });
    const { webhook, signingSecret } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.bounced'] });
    receiver.respond([500, 503], 200);
    const fanOut = new WebhookFanOut({ webhooks: new WebhookSubscribers(s.db), queue: new SqsDeliveryQueue(services.sqs.client, url), retrySchedule: schedule });
    const handler = createDeliverHandler({
      webhooks: s.webhooks, deliveries: s.deliveries, poster, visibility: new SqsVisibility(services.sqs.client, url),
      retrySchedule: schedule, log: silent,
    });
    const poller = startDeliverPoller({ sqs: services.sqs.client, queueUrl: url, handler, waitSeconds: 1 });
    try {
      const event = appliedEvent('t1', 'email.bounced');
      await fanOut.fanOut(event);
      const deliveryId = deliveryIdFor(event.eventId, webhook.id, event.timestamp);
      await eventually(async () => (await s.deliveries.get(webhook.id, deliveryId))?.status === 'success', 15_000, 100);

      expect(receiver.hits).toHaveLength(3);
      expect(new Set(receiver.hits.map((h) => h.headers['webhook-id']))).toEqual(new Set([deliveryId]));
      for (const hit of receiver.hits) {
        expect(new StandardWebhook(signingSecret).verify(hit.body, hit.headers as Record<string, string>)).toMatchObject({ type: 'email.bounced' });
      }
      expect(await s.deliveries.get(webhook.id, deliveryId)).toMatchObject({ status: 'success', attempts: 3 });
      const attempts = await storedAttempts(s, { webhook_id: webhook.id, delivery_id: deliveryId });
      expect(attempts.map((a) => a.statusCode)).toEqual([200, 503, 500]);
    } finally {
      await poller.stop();
    }
    // The poller deleted the delivered message: nothing is left to receive.
    const { Messages } = await services.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0, VisibilityTimeout: 0 }));
    expect(Messages ?? []).toHaveLength(0);
  }, 30_000);
});
