/**
 * Webhook deliveries in DynamoDB (layout: lambdas/core/table.ts).
 *
 * - A delivery is one item under its endpoint (`WH#<webhook>#WD#<shard>` / `WD#<id>`), upserted by
 *   the deliver function after each attempt with one conditional UpdateItem. The first attempt is
 *   kept on the item itself (`first_attempt`); any later one (a retry, a replay, a concurrent copy)
 *   finds that slot taken and is written as its own item (`WD#<id>` / `A#<time>#<n>`). `generation`
 *   orders replays: a replay increments it, so an older message of the same delivery is dropped.
 * - The item of an email event does not keep the webhook body: the queued message carries it, and a
 *   replay rebuilds it from the email and the event (DeliveryPayloads), byte for byte what the
 *   fan-out sent. A domain event's body (small, and built from a domain that changes or goes) is
 *   kept on the item.
 * - Listing reads the endpoint's shards in the order of their sort keys (time-ordered ids) and
 *   merges them; `recover` reads the endpoint's deliveries since a time and keeps the failed ones,
 *   so no index entry is written per delivery. A recover pays for reading every delivery since
 *   `since` (failed or not); it is an operator's rare call, a delivery is written on every webhook.
 * - A delivery item keeps nothing its key tells (storage and backups are billed per byte, for the
 *   retention): no `kind`, no `webhook_id` (the partition key names the endpoint), no
 *   `last_attempt_at` (the attempts keep their times). Items written before carry them and are
 *   read all the same; the earlier layout's items keep writing them.
 * - Deliveries of the earlier layout (`WD#<id>` / `DELIVERY`, version-8 ids, the body stored,
 *   listed through gsi2 and gsi1) are read, listed, replayed and retried where they are, until they
 *   expire with the retention; nothing new is written in that layout.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isDomainEventType, type WebhookEventType } from '../domain/applied-event';
import { derivedId, isTimeOrderedId } from '../domain/ids';
import { DELIVERY_SHARDS, deliveryIdOfKey, deliveryShard, keys, parseListSortKey, webhookIdOfDeliveryKey } from '../table';
import {
  batchGetAll, type Db, epochSeconds, expiresAt, isConditionFailure, isLive, queryItems, queryShardsMerged, type ShardQuery,
} from './dynamo';

/** Resend's delivery states: waiting for an attempt, delivered, or given up (replayable). */
export type DeliveryStatus = 'pending' | 'success' | 'failed';

export interface Delivery {
  readonly id: string;
  readonly webhookId: string;
  readonly tenantId: string;
  /** The email of the event; absent only on deliveries of the earlier layout. */
  readonly emailId?: string;
  readonly eventId: string;
  readonly eventType: WebhookEventType;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAt: string;
  readonly generation: number;
  readonly nextAttemptAt?: string;
  /** Kept by deliveries of the earlier layout and items written before the trim (the current layout lists its attempts' times). */
  readonly lastAttemptAt?: string;
  /** The body as sent, kept by deliveries of domain events and of the earlier layout (email events rebuild it). */
  readonly payload?: string;
  /** The first attempt, kept on the item. */
  readonly firstAttempt?: Attempt;
}

export interface Attempt {
  readonly id: string;
  readonly deliveryId: string;
  /** The HTTP status, or 0 when no response arrived (refused, timeout, network error). */
  readonly statusCode: number;
  readonly durationMs: number;
  readonly response: string;
  readonly sentAt: string;
  /** The attempt's number (SQS's receive count of the message that carried it). */
  readonly n: number;
}

/** What every write of a delivery carries, so that whichever comes first creates the item. */
export interface DeliveryIdentity {
  readonly id: string;
  readonly webhookId: string;
  readonly tenantId: string;
  readonly emailId?: string;
  readonly eventId: string;
  readonly eventType: WebhookEventType;
  /** The body; stored for a domain event and for a delivery of the earlier layout. */
  readonly payload: string;
  /** The delivery's created_at (the time it was queued), kept from the first write. */
  readonly queuedAt: string;
  readonly generation: number;
}

export interface Outcome {
  readonly status: DeliveryStatus;
  /** When the outcome was decided (the attempt's start, or now when no attempt was made). */
  readonly attemptAt: string;
  readonly nextAttemptAt?: string;
  /** The attempt this outcome follows; absent when none was made (a disabled endpoint). */
  readonly attempt?: Omit<Attempt, 'id' | 'deliveryId'>;
}

export interface DeliveryListOptions {
  readonly limit: number;
  readonly after?: string;
  readonly before?: string;
}

export class InvalidDeliveryCursorError extends Error {}

const isLegacy = (deliveryId: string): boolean => !isTimeOrderedId(deliveryId);

/** The item of a delivery, in whichever layout its id belongs to. */
const deliveryKey = (webhookId: string, deliveryId: string) =>
  (isLegacy(deliveryId) ? keys.legacyWebhookDelivery(deliveryId) : keys.webhookDelivery(webhookId, deliveryId));

const attemptId = (deliveryId: string, sentAt: string, n: number): string => derivedId('webhook-attempt', deliveryId, sentAt, String(n));

/** Orders deliveries of both layouts together: `<time, 12 hex digits of ms>#<id>`. */
const hexTime = (ms: number): string => Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
function orderKey(item: Record<string, unknown>): string {
  if (typeof item.gsi2sk === 'string') {
    const { createdAt, id } = parseListSortKey(item.gsi2sk);
    return `${hexTime(Date.parse(createdAt))}#${id}`;
  }
  const id = deliveryIdOf(item);
  return isLegacy(id) ? `${hexTime(Date.parse(item.created_at as string))}#${id}` : `${id.slice(0, 8)}${id.slice(9, 13)}#${id}`;
}

/** `WD#<first 12 hex digits of a time, as an id spells them>`: the sort-key prefix of ids of that millisecond. */
const idPrefixAt = (ms: number): string => {
  const hex = hexTime(ms);
  return `WD#${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
};

const deliveryIdOf = (item: Record<string, unknown>): string =>
  (item.sk === 'DELIVERY' ? deliveryIdOfKey(item.pk as string) : deliveryIdOfKey(item.sk as string));

/** The endpoint of a delivery item: `webhook_id` (the earlier layout, and items written before the trim), else its key's. */
const webhookIdOf = (item: Record<string, unknown>): string =>
  (typeof item.webhook_id === 'string' ? item.webhook_id : webhookIdOfDeliveryKey(item.pk as string));

export class DeliveryStore {
  constructor(
    private readonly db: Db,
    private readonly retentionDays: number,
  ) {}

  /** A delivery of an endpoint, or undefined (absent or expired). */
  async get(webhookId: string, deliveryId: string, options: { readonly consistent?: boolean } = {}): Promise<Delivery | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: deliveryKey(webhookId, deliveryId), ConsistentRead: options.consistent ?? true }));
    return Item && webhookIdOf(Item) === webhookId && isLive(Item as { expires_at?: number }, this.db.now()) ? toDelivery(Item) : undefined;
  }

  /** A delivery of this tenant's endpoint, or undefined. */
  async getFor(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    const d = await this.get(webhookId, deliveryId);
    return d && d.tenantId === tenantId ? d : undefined;
  }

  /**
   * Records the outcome of an attempt of `generation`, and the attempt: one UpdateItem, which also
   * keeps the attempt on the item when it is the delivery's first. Conditional: a newer generation
   * (a replay) or an earlier success of this generation wins, and the outcome is skipped (returns
   * false); the attempt is still logged, as its own item.
   */
  async recordOutcome(identity: DeliveryIdentity, outcome: Outcome): Promise<boolean> {
    const legacy = isLegacy(identity.id);
    const created = Date.parse(identity.queuedAt);
    const values: Record<string, unknown> = {
      ':s': outcome.status, ':success': 'success', ':g': identity.generation,
      ':t': identity.tenantId, ':e': identity.eventId, ':type': identity.eventType, ':c': identity.queuedAt,
      ':x': expiresAt(Number.isNaN(created) ? this.db.now() : created, this.retentionDays),
    };
    const sets = [
      '#s = :s', 'generation = :g', 'tenant_id = if_not_exists(tenant_id, :t)',
      'event_id = if_not_exists(event_id, :e)', 'event_type = if_not_exists(event_type, :type)',
      'created_at = if_not_exists(created_at, :c)', 'expires_at = if_not_exists(expires_at, :x)',
    ];
    const removes: string[] = [];
    if (identity.emailId !== undefined) (sets.push('email_id = if_not_exists(email_id, :em)'), (values[':em'] = identity.emailId));
    // A domain event is not rebuilt from anything: its body (small) is kept for a replay.
    if (!legacy && isDomainEventType(identity.eventType)) (sets.push('payload = if_not_exists(payload, :p)'), (values[':p'] = identity.payload));
    const attempt = outcome.attempt;
    if (attempt !== undefined) {
      sets.push('attempts = if_not_exists(attempts, :zero) + :one');
      Object.assign(values, { ':zero': 0, ':one': 1 });
      // The earlier layout kept the last attempt's time on the item; the current one has its attempts' own times.
      if (legacy) (sets.push('last_attempt_at = :at'), (values[':at'] = outcome.attemptAt));
      if (!legacy) {
        sets.push('first_attempt = if_not_exists(first_attempt, :fa)');
        values[':fa'] = { status_code: attempt.statusCode, duration_ms: attempt.durationMs, response: attempt.response, sent_at: attempt.sentAt, n: attempt.n };
      }
    }
    if (outcome.nextAttemptAt !== undefined) (sets.push('next_attempt_at = :next'), (values[':next'] = outcome.nextAttemptAt));
    else removes.push('next_attempt_at');
    if (legacy) this.legacyIndexes(identity, outcome.status, sets, removes, values);
    // An attempt of the earlier layout is always its own item, as that layout lists them.
    if (legacy && attempt !== undefined) await this.putAttempt(identity.id, attempt);
    try {
      const { Attributes } = await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: deliveryKey(identity.webhookId, identity.id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_not_exists(pk) OR generation < :g OR (generation = :g AND #s <> :success)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: values,
        ...(!legacy && attempt !== undefined ? { ReturnValues: 'ALL_OLD' as const } : {}),
      }));
      // The first-attempt slot was taken (a retry, a replay): this attempt gets its own item.
      if (!legacy && attempt !== undefined && Attributes?.first_attempt !== undefined) await this.putAttempt(identity.id, attempt);
      return true;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (!legacy && attempt !== undefined) await this.putAttempt(identity.id, attempt);
      return false;
    }
  }

  /**
   * Starts a replay: the next generation, pending again. Returns the delivery as replayed, or
   * undefined when it is not this tenant's endpoint's (or has expired).
   */
  async beginReplay(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    try {
      const { Attributes } = await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: deliveryKey(webhookId, deliveryId),
        // gsi1: an earlier-layout delivery leaves the failed index it was in.
        UpdateExpression: 'SET #s = :p, generation = generation + :one, next_attempt_at = :now REMOVE gsi1pk, gsi1sk',
        // The key names the endpoint; an item of the earlier layout (keyed by the delivery alone) names it in `webhook_id`.
        ConditionExpression: 'attribute_exists(pk) AND tenant_id = :t AND (attribute_not_exists(webhook_id) OR webhook_id = :w) AND (attribute_not_exists(expires_at) OR expires_at > :nowS)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: {
          ':p': 'pending', ':one': 1, ':now': new Date(this.db.now()).toISOString(), ':t': tenantId, ':w': webhookId,
          ':nowS': epochSeconds(this.db.now()),
        },
        ReturnValues: 'ALL_NEW',
      }));
      return Attributes ? toDelivery(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** An endpoint's deliveries, newest first, by cursor (a delivery id), merged over the shards. */
  async list(webhookId: string, options: DeliveryListOptions): Promise<{ data: Delivery[]; hasMore: boolean }> {
    const cursorId = options.after ?? options.before;
    let cursor: string | undefined;
    if (cursorId !== undefined) {
      const d = await this.get(webhookId, cursorId);
      if (!d) throw new InvalidDeliveryCursorError(`No delivery with id ${cursorId} to page from.`);
      cursor = orderKey(isLegacy(d.id) ? { sk: 'DELIVERY', pk: `WD#${d.id}`, created_at: d.createdAt } : { sk: `WD#${d.id}` });
    }
    const newer = options.before !== undefined;
    // The key conditions bound each shard to the cursor's millisecond; `keep` orders exactly.
    const ms = cursor === undefined ? undefined : parseInt(cursor.slice(0, 12), 16);
    const shards: ShardQuery[] = [];
    for (let shard = 0; shard < DELIVERY_SHARDS; shard++) {
      const base = ms === undefined
        ? { cond: 'begins_with(sk, :wd)', values: { ':wd': 'WD#' } }
        : newer
          ? { cond: 'sk BETWEEN :lo AND :hi', values: { ':lo': idPrefixAt(ms), ':hi': 'WD#~' } }
          : { cond: 'sk BETWEEN :lo AND :hi', values: { ':lo': 'WD#', ':hi': `${idPrefixAt(ms)}~` } };
      shards.push({
        KeyConditionExpression: `pk = :pk AND ${base.cond}`,
        ExpressionAttributeValues: { ':pk': keys.webhookDeliveryShard(webhookId, shard), ...base.values },
      });
      const legacy = ms === undefined
        ? { cond: '', values: {} }
        : newer
          ? { cond: ' AND gsi2sk >= :c', values: { ':c': new Date(ms).toISOString() } }
          : { cond: ' AND gsi2sk < :c', values: { ':c': new Date(ms + 1).toISOString() } };
      shards.push({
        IndexName: 'gsi2',
        KeyConditionExpression: `gsi2pk = :pk${legacy.cond}`,
        ExpressionAttributeValues: { ':pk': keys.legacyWebhookDeliveries(webhookId, shard), ...legacy.values },
      });
    }
    const keep = cursor === undefined ? undefined : newer ? (i: Record<string, unknown>) => orderKey(i) > cursor! : (i: Record<string, unknown>) => orderKey(i) < cursor!;
    const { items, hasMore } = await queryShardsMerged(this.db, { shards, orderKey, descending: !newer, limit: options.limit, ...(keep ? { keep } : {}) });
    if (newer) items.reverse();
    // gsi2 is keys only: the earlier layout's items are read in one batch.
    const legacyKeys = items.filter((i) => typeof i.gsi2sk === 'string').map((i) => ({ pk: i.pk, sk: i.sk }));
    const full = new Map((legacyKeys.length ? await batchGetAll(this.db, legacyKeys) : []).map((i) => [deliveryIdOf(i), i]));
    const data = items.flatMap((i) => {
      const item = typeof i.gsi2sk === 'string' ? full.get(deliveryIdOf(i)) : i;
      return item && isLive(item as { expires_at?: number }, this.db.now()) ? [toDelivery(item)] : [];
    });
    return { data, hasMore };
  }

  /**
   * Failed deliveries of an endpoint for events since `since` (ISO), oldest first, at most `limit`:
   * the endpoint's deliveries since then, read shard by shard, keeping the failed ones.
   */
  async failedSince(webhookId: string, since: string, limit: number): Promise<{ data: Delivery[]; hasMore: boolean }> {
    const ms = Date.parse(since);
    const now = this.db.now();
    const shards: ShardQuery[] = [];
    for (let shard = 0; shard < DELIVERY_SHARDS; shard++) {
      shards.push({
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
        // Read and billed all the same; only the failed ones travel back.
        FilterExpression: '#s = :failed',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':pk': keys.webhookDeliveryShard(webhookId, shard), ':lo': idPrefixAt(ms), ':hi': 'WD#~', ':failed': 'failed' },
      });
      shards.push({
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk >= :since',
        ExpressionAttributeValues: { ':pk': keys.legacyWebhookFailed(webhookId, shard), ':since': since },
      });
    }
    const { items, hasMore } = await queryShardsMerged(this.db, {
      shards, orderKey, descending: false, limit,
      keep: (i) => i.status === 'failed' && isLive(i as { expires_at?: number }, now),
    });
    return { data: items.map(toDelivery), hasMore };
  }

  /** A delivery's attempts, newest first: the one on the item and the ones written apart. */
  async listAttempts(delivery: Delivery, options: { limit: number; after?: string }): Promise<{ data: Attempt[]; hasMore: boolean }> {
    const items = await queryItems(this.db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': keys.deliveryAttempts(delivery.id), ':a': 'A#' },
    });
    const out: Attempt[] = items.filter((i) => isLive(i as { expires_at?: number }, this.db.now())).map((i) => ({
      id: i.attempt_id as string, deliveryId: delivery.id, statusCode: i.status_code as number, durationMs: i.duration_ms as number,
      response: i.response as string, sentAt: i.sent_at as string, n: (i.n as number | undefined) ?? Number((i.sk as string).slice(-3)),
    }));
    if (delivery.firstAttempt) out.push(delivery.firstAttempt);
    const rank = (a: Attempt) => `${a.sentAt}#${String(a.n).padStart(3, '0')}`;
    out.sort((a, b) => (rank(a) < rank(b) ? 1 : rank(a) > rank(b) ? -1 : 0));
    let from = 0;
    if (options.after !== undefined) {
      const at = out.findIndex((a) => a.id === options.after);
      if (at === -1) throw new InvalidDeliveryCursorError(`No attempt with id ${options.after} to page from.`);
      from = at + 1;
    }
    return { data: out.slice(from, from + options.limit), hasMore: out.length > from + options.limit };
  }

  /** Logs one attempt as its own item (expires with the retention). */
  private async putAttempt(deliveryId: string, attempt: Omit<Attempt, 'id' | 'deliveryId'>): Promise<void> {
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: {
        ...keys.deliveryAttempt(deliveryId, attempt.sentAt, attempt.n), kind: 'webhook_attempt',
        attempt_id: attemptId(deliveryId, attempt.sentAt, attempt.n), n: attempt.n,
        status_code: attempt.statusCode, duration_ms: attempt.durationMs, response: attempt.response, sent_at: attempt.sentAt,
        expires_at: expiresAt(this.db.now(), this.retentionDays),
      },
    }));
  }

  /** What an earlier-layout delivery keeps writing: its body, its gsi2 entry, its gsi1 entry while failed. */
  private legacyIndexes(identity: DeliveryIdentity, status: DeliveryStatus, sets: string[], removes: string[], values: Record<string, unknown>): void {
    const shard = deliveryShard(identity.id);
    sets.push('kind = :kind', 'webhook_id = if_not_exists(webhook_id, :w)');
    Object.assign(values, { ':kind': 'webhook_delivery', ':w': identity.webhookId });
    sets.push('payload = if_not_exists(payload, :p)', 'gsi2pk = if_not_exists(gsi2pk, :pk2)', 'gsi2sk = if_not_exists(gsi2sk, :sk2)');
    Object.assign(values, { ':p': identity.payload, ':pk2': keys.legacyWebhookDeliveries(identity.webhookId, shard), ':sk2': `${identity.queuedAt}#${identity.id}` });
    if (status === 'failed') {
      sets.push('gsi1pk = :pk1', 'gsi1sk = if_not_exists(gsi2sk, :sk2)');
      values[':pk1'] = keys.legacyWebhookFailed(identity.webhookId, shard);
    } else {
      removes.push('gsi1pk', 'gsi1sk');
    }
  }
}

function toDelivery(i: Record<string, unknown>): Delivery {
  const id = deliveryIdOf(i);
  const first = i.first_attempt as Record<string, unknown> | undefined;
  return {
    id,
    webhookId: webhookIdOf(i),
    tenantId: i.tenant_id as string,
    ...(i.email_id !== undefined ? { emailId: i.email_id as string } : {}),
    eventId: i.event_id as string,
    eventType: i.event_type as WebhookEventType,
    status: i.status as DeliveryStatus,
    attempts: (i.attempts as number | undefined) ?? 0,
    createdAt: i.created_at as string,
    generation: (i.generation as number | undefined) ?? 0,
    ...(i.next_attempt_at !== undefined ? { nextAttemptAt: i.next_attempt_at as string } : {}),
    ...(i.last_attempt_at !== undefined ? { lastAttemptAt: i.last_attempt_at as string } : {}),
    ...(i.payload !== undefined ? { payload: i.payload as string } : {}),
    ...(first !== undefined
      ? {
          firstAttempt: {
            id: attemptId(id, first.sent_at as string, first.n as number), deliveryId: id, statusCode: first.status_code as number,
            durationMs: first.duration_ms as number, response: first.response as string, sentAt: first.sent_at as string, n: first.n as number,
          },
        }
      : {}),
  };
}
