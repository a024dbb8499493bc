/**
 * Deliveries in one item, against dynalite: what the deliver function costs in DynamoDB requests,
 * where attempts are kept, the body rebuilt for a replay from the email and the event, and
 * deliveries written by the earlier layout still read, listed, replayed and retried.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createDb, itemBytes } from '../../lambdas/core/adapters/dynamo';
import { DeliveryStore } from '../../lambdas/core/adapters/deliveries';
import { RebuiltPayloads } from '../../lambdas/core/adapters/delivery-payloads';
import { EndpointCache, WebhookStore, WebhookSubscribers } from '../../lambdas/core/adapters/endpoints';
import { SqsDeliveryQueue, WebhookFanOut } from '../../lambdas/core/adapters/fan-out';
import { HttpDelivery } from '../../lambdas/core/adapters/http-delivery';
import { derivedId } from '../../lambdas/core/domain/ids';
import { type DeliveryMessage, parseDeliveryMessage } from '../../lambdas/core/domain/webhook-payload';
import { silentLogger } from '../../lambdas/core/log';
import { keys } from '../../lambdas/core/table';
import { createDeliverHandler, type VisibilityControl } from '../../lambdas/deliver/core';
import { localClientConfig } from '../support/services';
import { sesFixture, signedLambdaEvent } from '../ingest/fixtures';
import { makeWorld } from '../ingest/world';
import { deliveryMessage, localServices, type Receiver, sqsRecord, startReceiver, storedAttempts, storedDelivery, stores, type Stores } from './helpers';

const silent = silentLogger;
const noDelay: VisibilityControl = { delay: async () => undefined };

describe('deliveries in one item', () => {
  const services = localServices();
  let s: Stores;
  let receiver: Receiver;
  const posters: HttpDelivery[] = [];

  beforeEach(async () => {
    s = await stores(services.dynamo);
    receiver = await startReceiver();
  });
  afterEach(() => receiver.close());
  afterAll(() => posters.forEach((p) => p.close()));

  function poster() {
    const p = new HttpDelivery({ allowLoopback: true, timeoutMs: 10_000 });
    posters.push(p);
    return p;
  }

  /** The stores on a document client that counts what it sends, as `Operation` names. */
  function countingStores() {
    const calls: string[] = [];
    const client = new DynamoDBClient(localClientConfig(services.dynamo.endpoint));
    client.middlewareStack.add((next, context) => async (args) => {
      calls.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    }, { step: 'initialize', name: 'countCalls' });
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const db = createDb(doc, s.db.table, s.clock.now);
    return { calls, deliveries: new DeliveryStore(db, 30), close: () => client.destroy() };
  }

  it('delivers with two DynamoDB requests once the endpoint is cached: the delivery read and one write holding the first attempt', async () => {
    const { webhook } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.delivered'] });
    const counted = countingStores();
    const handler = createDeliverHandler({
      webhooks: new EndpointCache(s.webhooks), deliveries: counted.deliveries, poster: poster(), visibility: noDelay, retrySchedule: [0, 5], log: silent,
    });
    await handler({ Records: [sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }))] }); // warms the endpoint cache
    counted.calls.length = 0;

    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const res = await handler({ Records: [sqsRecord(msg)] });

    expect(res.batchItemFailures).toEqual([]);
    expect(counted.calls).toEqual(['GetItem', 'UpdateItem']);
    const item = (await s.db.doc.send(new GetCommand({ TableName: s.db.table, Key: keys.webhookDelivery(webhook.id, msg.delivery_id) }))).Item!;
    expect(item).toMatchObject({ status: 'success', attempts: 1, email_id: 'e1', first_attempt: { status_code: 200, response: 'answered 200', n: 1 } });
    expect(item).not.toHaveProperty('payload');
    expect(item).not.toHaveProperty('gsi1pk');
    expect(item).not.toHaveProperty('gsi2pk');
    const spilled = await s.db.doc.send(new QueryCommand({ TableName: s.db.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.deliveryAttempts(msg.delivery_id) } }));
    expect(spilled.Items).toEqual([]);
    counted.close();
  });

  it('keeps nothing on the item that its key tells or nothing reads: no kind, webhook_id or last_attempt_at', async () => {
    const { webhook } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.delivered'] });
    const handler = createDeliverHandler({ webhooks: s.webhooks, deliveries: s.deliveries, poster: poster(), visibility: noDelay, retrySchedule: [0, 5], log: silent });
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    await handler({ Records: [sqsRecord(msg)] });

    const item = (await s.db.doc.send(new GetCommand({ TableName: s.db.table, Key: keys.webhookDelivery(webhook.id, msg.delivery_id) }))).Item!;
    expect(Object.keys(item).sort()).toEqual(['attempts', 'created_at', 'email_id', 'event_id', 'event_type', 'expires_at', 'first_attempt', 'generation', 'pk', 'sk', 'status', 'tenant_id']);
    // Before: kind, webhook_id and last_attempt_at, about 105 bytes more (here 363, before 468).
    expect(itemBytes(item)).toBeLessThanOrEqual(400);
    // The endpoint is the key's: read back, and only under its own endpoint; replayed by its tenant only.
    expect(await s.deliveries.getFor('t1', webhook.id, msg.delivery_id)).toMatchObject({ id: msg.delivery_id, webhookId: webhook.id, tenantId: 't1', status: 'success' });
    expect((await s.deliveries.list(webhook.id, { limit: 10 })).data.map((d) => d.webhookId)).toEqual([webhook.id]);
    expect(await s.deliveries.beginReplay('t2', webhook.id, msg.delivery_id)).toBeUndefined();
    expect(await s.deliveries.beginReplay('t1', webhook.id, msg.delivery_id)).toMatchObject({ webhookId: webhook.id, status: 'pending', generation: 1 });
  });

  it('reads, lists and replays a delivery item written before the trim (kind, webhook_id, last_attempt_at)', async () => {
    const { webhook } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.delivered'] });
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    await s.db.doc.send(new PutCommand({
      TableName: s.db.table,
      Item: {
        ...keys.webhookDelivery(webhook.id, msg.delivery_id), status: 'failed', generation: 0, kind: 'webhook_delivery', webhook_id: webhook.id, tenant_id: 't1',
        event_id: msg.event_id, event_type: msg.event_type, created_at: msg.queued_at, email_id: 'e1', attempts: 1, last_attempt_at: '2026-11-20T10:00:08.000Z',
        first_attempt: { status_code: 500, duration_ms: 3, response: 'down', sent_at: '2026-11-20T10:00:08.000Z', n: 1 },
      },
    }));
    expect(await s.deliveries.getFor('t1', webhook.id, msg.delivery_id)).toMatchObject({ webhookId: webhook.id, status: 'failed', lastAttemptAt: '2026-11-20T10:00:08.000Z', firstAttempt: { statusCode: 500 } });
    expect(await s.deliveries.get('another-webhook', msg.delivery_id)).toBeUndefined();
    expect((await s.deliveries.list(webhook.id, { limit: 10 })).data.map((d) => d.id)).toEqual([msg.delivery_id]);
    expect(await s.deliveries.beginReplay('t1', webhook.id, msg.delivery_id)).toMatchObject({ webhookId: webhook.id, status: 'pending', generation: 1 });
  });

  it('keeps the first attempt on the item and writes every later one (retries, a replay) as its own item', async () => {
    const { webhook } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.delivered'] });
    receiver.respond([500, 503], 200);
    const handler = createDeliverHandler({ webhooks: s.webhooks, deliveries: s.deliveries, poster: poster(), visibility: noDelay, retrySchedule: [0, 1, 1, 1], log: silent, now: s.clock.now });
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    for (const n of [1, 2, 3]) {
      s.clock.set(Date.now() + n * 1000);
      await handler({ Records: [sqsRecord(msg, n)] });
    }
    await s.deliveries.beginReplay('t1', webhook.id, msg.delivery_id);
    s.clock.set(Date.now() + 4000);
    await handler({ Records: [sqsRecord({ ...msg, generation: 1 }, 1)] });

    expect(await storedDelivery(s, msg)).toMatchObject({ status: 'success', attempts: 4, generation: 1, firstAttempt: { statusCode: 500, n: 1 } });
    const attempts = await storedAttempts(s, msg);
    expect(attempts.map((a) => [a.statusCode, a.n])).toEqual([[200, 1], [200, 3], [503, 2], [500, 1]]);
    expect(new Set(attempts.map((a) => a.id)).size).toBe(4);
    const spilled = await s.db.doc.send(new QueryCommand({ TableName: s.db.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': keys.deliveryAttempts(msg.delivery_id) } }));
    expect(spilled.Items).toHaveLength(3);
  });

  it('still logs an attempt whose outcome lost to a replay', async () => {
    const { webhook } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.delivered'] });
    const msg = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' });
    const identity = { id: msg.delivery_id, webhookId: webhook.id, tenantId: 't1', eventId: msg.event_id, eventType: msg.event_type, payload: msg.payload, queuedAt: msg.queued_at };
    await s.deliveries.recordOutcome({ ...identity, generation: 1 }, { status: 'success', attemptAt: msg.queued_at, attempt: { statusCode: 200, durationMs: 1, response: 'new', sentAt: '2026-11-20T10:00:09.000Z', n: 1 } });

    const recorded = await s.deliveries.recordOutcome({ ...identity, generation: 0 }, { status: 'pending', attemptAt: msg.queued_at, attempt: { statusCode: 500, durationMs: 1, response: 'old', sentAt: '2026-11-20T10:00:08.000Z', n: 1 } });

    expect(recorded).toBe(false);
    expect(await storedDelivery(s, msg)).toMatchObject({ status: 'success', generation: 1, attempts: 1 });
    expect((await storedAttempts(s, msg)).map((a) => a.response)).toEqual(['new', 'old']);
  });

  it('rebuilds, for a replay, the body the fan-out sent, byte for byte, under the same delivery id', async () => {
    // Prepare: ingest three SES events of one email with a real fan-out; deliver what was queued.
    const { url } = await services.sqs.freshQueue();
    let fanOut: WebhookFanOut | undefined;
    const world = await makeWorld(services.dynamo, { fanOut: { fanOut: (e) => fanOut!.fanOut(e) } });
    s = { ...s, db: world.db, webhooks: new WebhookStore(world.db, s.box), deliveries: new DeliveryStore(world.db, 30) };
    fanOut = new WebhookFanOut({ webhooks: new WebhookSubscribers(world.db), queue: new SqsDeliveryQueue(services.sqs.client, url), retrySchedule: [0] });
    const { webhook } = await s.webhooks.create('tenant-a', { endpoint: receiver.url, events: ['email.delivered', 'email.bounced', 'email.clicked'] });
    const ses = sesFixture('delivery');
    const { id: emailId } = await world.createEmail({ to: ses.mail.destination, sesMessageId: ses.mail.messageId, tags: [{ name: 'plan', value: 'pro' }] });
    for (const name of ['delivery', 'bounce-permanent-general', 'click']) await world.handler(signedLambdaEvent(name));
    const { Messages } = await services.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const messages = (Messages ?? []).map((m) => parseDeliveryMessage(m.Body!));
    expect(messages).toHaveLength(3);
    const handler = createDeliverHandler({ webhooks: s.webhooks, deliveries: s.deliveries, poster: poster(), visibility: noDelay, retrySchedule: [0], log: silent });
    await handler({ Records: messages.map((m) => sqsRecord(m)) });

    // Act and assess: each stored delivery, without its body, rebuilds exactly the body that was sent.
    const payloads = new RebuiltPayloads(world.emails, world.events);
    for (const m of messages) {
      const d = (await storedDelivery(s, m))!;
      expect(d).toMatchObject({ emailId, status: 'success' });
      expect(d.payload).toBeUndefined();
      expect(await payloads.payloadOf(d)).toBe(m.payload);
      const replayed = await s.deliveries.beginReplay('tenant-a', webhook.id, d.id);
      expect(replayed).toMatchObject({ id: m.delivery_id, generation: 1 });
    }
    expect(receiver.hits.map((h) => h.body).sort()).toEqual(messages.map((m) => m.payload).sort());
    // Another tenant cannot have the email read through a delivery.
    const foreign = { ...(await storedDelivery(s, messages[0]!))!, tenantId: 'tenant-b' };
    expect(await payloads.payloadOf(foreign)).toBeUndefined();
  });

  describe('the earlier layout', () => {
    const legacyId = derivedId('webhook-delivery', 'old-event', 'any');

    /** A delivery as the earlier layout wrote it: its item, gsi2 entry, gsi1 entry when failed, attempts apart. */
    async function legacyDelivery(webhookId: string, status: 'failed' | 'success', createdAt: string, id = legacyId) {
      const shard = parseInt(id.slice(0, 2), 16) % 8;
      await s.db.doc.send(new PutCommand({
        TableName: s.db.table,
        Item: {
          ...keys.legacyWebhookDelivery(id), kind: 'webhook_delivery', status, generation: 0, webhook_id: webhookId, tenant_id: 't1',
          event_id: 'old-event', event_type: 'email.delivered', payload: '{"type":"email.delivered","old":true}', created_at: createdAt, attempts: 1,
          gsi2pk: keys.legacyWebhookDeliveries(webhookId, shard), gsi2sk: `${createdAt}#${id}`,
          ...(status === 'failed' ? { gsi1pk: keys.legacyWebhookFailed(webhookId, shard), gsi1sk: `${createdAt}#${id}` } : {}),
        },
      }));
      await s.db.doc.send(new PutCommand({
        TableName: s.db.table,
        Item: { ...keys.deliveryAttempt(id, createdAt, 1), kind: 'webhook_attempt', attempt_id: 'a-old', status_code: 500, duration_ms: 4, response: 'old', sent_at: createdAt },
      }));
    }

    it('is listed with the new one in time order, read with its stored body, recovered and replayed', async () => {
      const { webhook } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.delivered'] });
      await legacyDelivery(webhook.id, 'failed', '2026-11-15T00:00:00.000Z');
      const newer = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1', queued_at: '2026-11-16T00:00:00.000Z' });
      const older = deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1', queued_at: '2026-11-14T00:00:00.000Z' });
      for (const m of [newer, older]) {
        await s.deliveries.recordOutcome(
          { id: m.delivery_id, webhookId: webhook.id, tenantId: 't1', emailId: 'e1', eventId: m.event_id, eventType: m.event_type, payload: m.payload, queuedAt: m.queued_at, generation: 0 },
          { status: 'failed', attemptAt: m.queued_at, attempt: { statusCode: 500, durationMs: 1, response: 'x', sentAt: m.queued_at, n: 1 } },
        );
      }

      const all = await s.deliveries.list(webhook.id, { limit: 10 });
      expect(all.data.map((d) => d.id)).toEqual([newer.delivery_id, legacyId, older.delivery_id]);
      const afterLegacy = await s.deliveries.list(webhook.id, { limit: 10, after: legacyId });
      expect(afterLegacy.data.map((d) => d.id)).toEqual([older.delivery_id]);
      const beforeLegacy = await s.deliveries.list(webhook.id, { limit: 10, before: legacyId });
      expect(beforeLegacy.data.map((d) => d.id)).toEqual([newer.delivery_id]);
      const firstPage = await s.deliveries.list(webhook.id, { limit: 2 });
      expect(firstPage).toMatchObject({ hasMore: true, data: [{ id: newer.delivery_id }, { id: legacyId }] });

      const legacy = (await s.deliveries.getFor('t1', webhook.id, legacyId))!;
      expect(legacy).toMatchObject({ status: 'failed', payload: '{"type":"email.delivered","old":true}' });
      expect(await new RebuiltPayloads({ get: async () => undefined }, { list: async () => undefined }).payloadOf(legacy)).toBe(legacy.payload);
      expect((await s.deliveries.listAttempts(legacy, { limit: 10 })).data).toMatchObject([{ id: 'a-old', statusCode: 500, response: 'old' }]);

      const failed = await s.deliveries.failedSince(webhook.id, '2026-11-14T12:00:00.000Z', 10);
      expect(failed.data.map((d) => d.id)).toEqual([legacyId, newer.delivery_id]);
      expect(await s.deliveries.beginReplay('t1', webhook.id, legacyId)).toMatchObject({ status: 'pending', generation: 1 });
      expect((await s.deliveries.failedSince(webhook.id, '2026-11-14T12:00:00.000Z', 10)).data.map((d) => d.id)).toEqual([newer.delivery_id]);
    });

    it('is retried where it is by a message queued before the change, which carries no email id', async () => {
      const { webhook } = await s.webhooks.create('t1', { endpoint: receiver.url, events: ['email.delivered'] });
      const msg: DeliveryMessage = { ...deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' }), delivery_id: legacyId };
      delete (msg as { email_id?: string }).email_id;
      receiver.respond([500], 200);
      const handler = createDeliverHandler({ webhooks: s.webhooks, deliveries: s.deliveries, poster: poster(), visibility: noDelay, retrySchedule: [0, 1], log: silent });
      await handler({ Records: [sqsRecord(msg, 1)] });
      await handler({ Records: [sqsRecord(msg, 2)] });

      expect(receiver.hits.map((h) => h.headers['webhook-id'])).toEqual([legacyId, legacyId]);
      const item = (await s.db.doc.send(new GetCommand({ TableName: s.db.table, Key: keys.legacyWebhookDelivery(legacyId) }))).Item!;
      expect(item).toMatchObject({ status: 'success', attempts: 2, payload: msg.payload, email_id: 'e1', gsi2pk: keys.legacyWebhookDeliveries(webhook.id, parseInt(legacyId.slice(0, 2), 16) % 8) });
      expect((await s.deliveries.list(webhook.id, { limit: 5 })).data.map((d) => d.id)).toEqual([legacyId]);
      expect((await storedAttempts(s, msg)).map((a) => a.statusCode)).toEqual([200, 500]);
    });
  });
});

describe('EndpointCache', () => {
  const services = localServices();

  it('reads an endpoint once within ten seconds, keeps its own failure writes, and reads again after', async () => {
    const s = await stores(services.dynamo);
    const { webhook } = await s.webhooks.create('t1', { endpoint: 'https://a.example.com/h', events: ['email.sent'] });
    let reads = 0;
    const counting = { ...bind(s), getWithSecrets: async (id: string) => (reads++, s.webhooks.getWithSecrets(id)) };
    let now = 1_000_000;
    const cache = new EndpointCache(counting, { now: () => now });

    await cache.getWithSecrets(webhook.id);
    await cache.markFailing(webhook.id, '2026-11-20T00:00:00.000Z');
    expect(await cache.getWithSecrets(webhook.id)).toMatchObject({ failingSince: '2026-11-20T00:00:00.000Z' });
    await s.webhooks.update('t1', webhook.id, { endpoint: 'https://b.example.com/h' });
    now += 9_999;
    expect(await cache.getWithSecrets(webhook.id)).toMatchObject({ endpoint: 'https://a.example.com/h' });
    expect(reads).toBe(1);
    now += 1;
    expect(await cache.getWithSecrets(webhook.id)).toMatchObject({ endpoint: 'https://b.example.com/h', failingSince: '2026-11-20T00:00:00.000Z' });
    expect(reads).toBe(2);
    await cache.disable(webhook.id, 'gone');
    expect(await cache.getWithSecrets(webhook.id)).toMatchObject({ status: 'disabled' });
    expect(reads).toBe(2);
  });
});

function bind(s: Stores) {
  return {
    markFailing: s.webhooks.markFailing.bind(s.webhooks),
    clearFailing: s.webhooks.clearFailing.bind(s.webhooks),
    disable: s.webhooks.disable.bind(s.webhooks),
  };
}
