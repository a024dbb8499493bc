import type { SQSRecord } from 'aws-lambda';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { silentLogger } from '../../lambdas/core/log';
import { memoryLogger } from '../support/logs';
import { HttpDelivery } from '../../lambdas/core/adapters/http-delivery';
import { createDeliverHandler, ENDPOINT_FAILURE_DISABLE_MS, queueUrlFromArn, type VisibilityControl } from '../../lambdas/deliver/core';
import { startTestDynamo, type TestDynamo } from '../support/services';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DeliveryStore } from '../../lambdas/core/adapters/deliveries';
import { deliveryMessage, type Receiver, sqsRecord, startReceiver, storedAttempts, storedDelivery, stores, type Stores } from './helpers';

const SCHEDULE = [0, 5, 300, 1800];
const silent = silentLogger;

describe('deliver handler', () => {
  let dynamo: TestDynamo;
  let s: Stores;
  let receiver: Receiver;
  const posters: HttpDelivery[] = [];
  let delays: { messageId: string; seconds: number }[];

  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(async () => {
    posters.forEach((p) => p.close());
    await dynamo.close();
  });
  beforeEach(async () => {
    s = await stores(dynamo);
    receiver = await startReceiver();
    delays = [];
  });
  afterEach(() => receiver.close());

  const visibility: VisibilityControl = { delay: async (record: SQSRecord, seconds: number) => void delays.push({ messageId: record.messageId, seconds }) };

  function handler(options: { timeoutMs?: number } = {}) {
    const poster = new HttpDelivery({ allowLoopback: true, timeoutMs: options.timeoutMs ?? 10_000 });
    posters.push(poster);
    return createDeliverHandler({
      webhooks: s.webhooks, deliveries: s.deliveries, poster, visibility,
      retrySchedule: SCHEDULE, log: silent, now: s.clock.now, random: () => 0.5,
    });
  }

  async function endpoint(tenantId = 't1', url = receiver.url) {
    return s.webhooks.create(tenantId, { endpoint: url, events: ['email.delivered'] });
  }

  it('delivers a signed request and records the success and the attempt', async () => {
    const { webhook, signingSecret } = await endpoint();
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });

    const res = await handler()({ Records: [sqsRecord(msg)] });

    expect(res.batchItemFailures).toEqual([]);
    expect(receiver.hits).toHaveLength(1);
    const hit = receiver.hits[0]!;
    expect(hit.body).toBe(msg.payload);
    expect(hit.headers['webhook-id']).toBe(msg.delivery_id);
    expect(new StandardWebhook(signingSecret).verify(hit.body, hit.headers as Record<string, string>)).toEqual(JSON.parse(msg.payload));
    const d = await storedDelivery(s, msg);
    expect(d).toMatchObject({ status: 'success', attempts: 1, webhookId: webhook.id, eventType: 'email.delivered', createdAt: msg.queued_at });
    const attempts = await storedAttempts(s, msg);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ statusCode: 200, response: 'answered 200' });
  });

  it('reads the delivery eventually consistently (half a read unit), and still drops a message of a delivery already made', async () => {
    const { webhook } = await endpoint();
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const reads: (boolean | undefined)[] = [];
    const recording = {
      send: (command: { constructor: { name: string }; input: { ConsistentRead?: boolean } }) => {
        if (command.constructor.name === 'GetCommand') reads.push(command.input.ConsistentRead);
        return (s.db.doc.send as (c: unknown) => Promise<unknown>)(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const deliveries = new DeliveryStore(createDb(recording, s.db.table, s.clock.now), 30);
    const poster = new HttpDelivery({ allowLoopback: true, timeoutMs: 10_000 });
    posters.push(poster);
    const deliver = createDeliverHandler({ webhooks: s.webhooks, deliveries, poster, visibility, retrySchedule: SCHEDULE, log: silent, now: s.clock.now, random: () => 0.5 });
    await deliver({ Records: [sqsRecord(msg)] });
    await deliver({ Records: [sqsRecord(msg, 2)] });
    expect(receiver.hits).toHaveLength(1);
    expect(reads).toEqual([false, false]);
  });

  it('reports only the failing record of a batch, and delays it by the next step of the schedule', async () => {
    const good = await endpoint();
    const bad = await endpoint('t1', receiver.url.replace('/hook', '/bad'));
    receiver.respond([], 200);
    const okMsg = deliveryMessage({ webhook_id: good.webhook.id, tenant_id: 't1' });
    const badMsg = deliveryMessage({ webhook_id: bad.webhook.id, tenant_id: 't1' });
    const failing = await startReceiver();
    failing.respond([], 503);
    try {
      await s.webhooks.update('t1', bad.webhook.id, { endpoint: failing.url });
      const okRecord = sqsRecord(okMsg);
      const badRecord = sqsRecord(badMsg);
      const res = await handler()({ Records: [okRecord, badRecord] });

      expect(res.batchItemFailures).toEqual([{ itemIdentifier: badRecord.messageId }]);
      expect(delays).toEqual([{ messageId: badRecord.messageId, seconds: 5 }]);
      expect(await storedDelivery(s, okMsg)).toMatchObject({ status: 'success' });
      const pending = await storedDelivery(s, badMsg);
      expect(pending).toMatchObject({ status: 'pending', attempts: 1 });
      expect(Date.parse(pending!.nextAttemptAt!) - Date.now()).toBeGreaterThan(3000);
    } finally {
      await failing.close();
    }
  });

  it('treats a redirect, a 429, a 4xx and a timeout as failures to retry', async () => {
    const { webhook } = await endpoint();
    for (const code of [302, 429, 400, 500]) {
      receiver.respond([code]);
      const record = sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }));
      const res = await handler()({ Records: [record] });
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    }
    const hanging = await startReceiver({ hang: true });
    try {
      const slow = await endpoint('t1', hanging.url);
      const msg = deliveryMessage({ webhook_id: slow.webhook.id, tenant_id: 't1' });
      const record = sqsRecord(msg);
      const started = Date.now();
      const res = await handler({ timeoutMs: 200 })({ Records: [record] });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      const [attempt] = await storedAttempts(s, msg);
      expect(attempt).toMatchObject({ statusCode: 0 });
      expect(attempt!.response).toMatch(/200 ms/);
    } finally {
      await hanging.close();
    }
  });

  it('disables the endpoint on 410 Gone and marks the delivery failed without retrying', async () => {
    const { webhook } = await endpoint();
    receiver.respond([410]);
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const res = await handler()({ Records: [sqsRecord(msg)] });

    expect(res.batchItemFailures).toEqual([]);
    expect(await s.webhooks.get('t1', webhook.id)).toMatchObject({ status: 'disabled' });
    expect(await storedDelivery(s, msg)).toMatchObject({ status: 'failed', attempts: 1 });

    // Later messages for the disabled endpoint are not sent, and stay replayable as failed.
    const next = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    await handler()({ Records: [sqsRecord(next)] });
    expect(receiver.hits).toHaveLength(1);
    expect(await storedDelivery(s, next)).toMatchObject({ status: 'failed', attempts: 0 });
  });

  it('marks the delivery failed and lets the message go when the schedule is spent', async () => {
    const { webhook } = await endpoint();
    receiver.respond([], 500);
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const res = await handler()({ Records: [sqsRecord(msg, SCHEDULE.length)] });

    expect(res.batchItemFailures).toEqual([]);
    expect(delays).toEqual([]);
    expect(await storedDelivery(s, msg)).toMatchObject({ status: 'failed' });
    const failed = await s.deliveries.failedSince(webhook.id, '2000-01-01T00:00:00.000Z', 10);
    expect(failed.data.map((d) => d.id)).toEqual([msg.delivery_id]);
  });

  it('does not deliver a delivered delivery again when a duplicate message arrives, but a replay does', async () => {
    const { webhook } = await endpoint();
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    await handler()({ Records: [sqsRecord(msg)] });
    const dup = await handler()({ Records: [sqsRecord(msg)] });
    expect(dup.batchItemFailures).toEqual([]);
    expect(receiver.hits).toHaveLength(1);

    const replayed = await s.deliveries.beginReplay('t1', webhook.id, msg.delivery_id);
    expect(replayed).toMatchObject({ status: 'pending', generation: 1 });
    await handler()({ Records: [sqsRecord({ ...msg, generation: 1 })] });
    expect(receiver.hits).toHaveLength(2);
    expect(receiver.hits[1]!.headers['webhook-id']).toBe(msg.delivery_id);
    expect(await storedDelivery(s, msg)).toMatchObject({ status: 'success', attempts: 2, generation: 1 });

    // A stray message of the older generation is dropped.
    await handler()({ Records: [sqsRecord(msg)] });
    expect(receiver.hits).toHaveLength(2);
  });

  it('calls the endpoint once for two copies of one delivery in one batch (a fan-out repeated after a crash)', async () => {
    // Prepare
    const { webhook } = await endpoint();
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const copies = [sqsRecord(msg), { ...sqsRecord(msg), messageId: 'copy', receiptHandle: 'copy-handle' }];

    // Act
    const res = await handler()({ Records: copies });

    // Assess: both messages are done (deleted), one request was made.
    expect(res.batchItemFailures).toEqual([]);
    expect(receiver.hits).toHaveLength(1);
    expect(await storedDelivery(s, msg)).toMatchObject({ status: 'success', attempts: 1 });
  });

  it('calls the endpoint once for two copies of one delivery in two batches at once (the original back after a restart, beside a repeated fan-out)', async () => {
    // Prepare: the endpoint answers slowly, so that the second batch arrives while the first is under way.
    const slow = await startReceiver({ delayMs: 300 });
    const { webhook } = await endpoint('t1', slow.url);
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const deliver = handler();

    // Act
    const [first, second] = await Promise.all([
      deliver({ Records: [sqsRecord(msg)] }),
      deliver({ Records: [{ ...sqsRecord(msg), messageId: 'copy', receiptHandle: 'copy-handle' }] }),
    ]);

    // Assess: both messages are done (deleted), one request was made.
    expect(first.batchItemFailures).toEqual([]);
    expect(second.batchItemFailures).toEqual([]);
    expect(slow.hits).toHaveLength(1);
    expect(await storedDelivery(s, msg)).toMatchObject({ status: 'success', attempts: 1 });
    await slow.close();
  });

  it('records when an endpoint starts failing once, clears it on success, and disables it after 5 days', async () => {
    const { webhook } = await endpoint();
    receiver.respond([], 500);
    const start = Date.now();
    s.clock.set(start);
    await handler()({ Records: [sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }))] });
    const first = (await s.webhooks.getWithSecrets(webhook.id))!.failingSince;
    expect(first).toBe(new Date(start).toISOString());

    s.clock.advance(3_600_000);
    await handler()({ Records: [sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }))] });
    expect((await s.webhooks.getWithSecrets(webhook.id))!.failingSince).toBe(first);

    receiver.respond([], 200);
    await handler()({ Records: [sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }))] });
    expect((await s.webhooks.getWithSecrets(webhook.id))!.failingSince).toBeUndefined();

    receiver.respond([], 500);
    await handler()({ Records: [sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }))] });
    s.clock.advance(ENDPOINT_FAILURE_DISABLE_MS);
    const last = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const res = await handler()({ Records: [sqsRecord(last)] });
    expect(res.batchItemFailures).toEqual([]);
    expect(await s.webhooks.get('t1', webhook.id)).toMatchObject({ status: 'disabled' });
    expect(await storedDelivery(s, last)).toMatchObject({ status: 'failed' });
  });

  it('drops a message for a deleted endpoint or another tenant, and reports an unreadable one', async () => {
    const { webhook } = await endpoint();
    const wrongTenant = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't2' });
    const unreadable = sqsRecord('{"nope":true}');
    const res = await handler()({ Records: [sqsRecord(wrongTenant), unreadable] });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: unreadable.messageId }]);
    expect(receiver.hits).toHaveLength(0);
    await s.webhooks.remove('t1', webhook.id);
    const gone = await handler()({ Records: [sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }))] });
    expect(gone.batchItemFailures).toEqual([]);
    expect(receiver.hits).toHaveLength(0);
  });

  it('logs one line per attempt at INFO, naming the delivery and not the body', async () => {
    const { webhook } = await endpoint();
    const { log, entries: lines } = memoryLogger();
    const poster = new HttpDelivery({ allowLoopback: true, timeoutMs: 10_000 });
    posters.push(poster);
    const deliver = createDeliverHandler({ webhooks: s.webhooks, deliveries: s.deliveries, poster, visibility, retrySchedule: SCHEDULE, log, random: () => 0.5 });
    receiver.respond([500], 200);
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });

    await deliver({ Records: [sqsRecord(msg, 1)] });
    await deliver({ Records: [sqsRecord(msg, 2)] });

    expect(lines.map((l) => [l.level, l.message, l.deliveryId])).toEqual([
      ['INFO', 'webhook attempt failed; retrying', msg.delivery_id],
      ['INFO', 'webhook delivered', msg.delivery_id],
    ]);
    expect(JSON.stringify(lines)).not.toContain(msg.payload);
  });

  it('finds the queue URL from the record ARN when none is configured', () => {
    expect(queueUrlFromArn('arn:aws:sqs:eu-west-1:123456789012:sesame-webhooks')).toBe('https://sqs.eu-west-1.amazonaws.com/123456789012/sesame-webhooks');
    expect(queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:q')).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q');
    expect(() => queueUrlFromArn('arn:aws:sns:us-east-1:123456789012:t')).toThrow();
  });
});
