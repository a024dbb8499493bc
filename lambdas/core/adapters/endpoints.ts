/**
 * Webhook endpoints and their deliveries in DynamoDB (layout: lambdas/core/table.ts).
 *
 * - An endpoint (`WH#<id>`/`WEBHOOK`) holds its URL, event filter, status and sealed signing
 *   secrets (the current one, and during a rotation the previous one with the time it stops
 *   signing). A tenant's endpoints are one gsi1 partition, read by the fan-out with one Query.
 * - `failing_since` is written only when it changes: set on a failure when absent, removed on a
 *   success when present. A failing endpoint is read on every attempt but not rewritten.
 * - A delivery (`WD#<id>`/`DELIVERY`) is upserted by the deliver function at each attempt; its
 *   attempts are items beside it. `generation` orders replays: a replay increments it, so an older
 *   message of the same delivery is recognised and dropped.
 */
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { EmailEventType } from '../domain/applied-event';
import { derivedId, newId } from '../domain/ids';
import { newSigningSecret, ROTATION_OVERLAP_MS, type StoredSecrets } from '../domain/webhook-signing';
import { EMAIL_LIST_SHARDS, keys } from '../table';
import { type Db, epochSeconds, expiresAt, isConditionFailure, isLive, queryItems } from './dynamo';
import type { SecretBox } from './secrets';

export type WebhookStatus = 'enabled' | 'disabled';

export interface Webhook {
  readonly id: string;
  readonly tenantId: string;
  readonly endpoint: string;
  readonly events: readonly EmailEventType[];
  readonly status: WebhookStatus;
  readonly createdAt: string;
  readonly failingSince?: string;
  readonly disabledReason?: string;
}

export interface WebhookWithSecrets extends Webhook {
  readonly secrets: StoredSecrets;
}

/** What the fan-out needs of an endpoint. */
export interface Subscriber {
  readonly id: string;
  readonly events: readonly EmailEventType[];
  readonly status: WebhookStatus;
}

export interface WebhookPatch {
  readonly endpoint?: string;
  readonly events?: readonly EmailEventType[];
  readonly status?: WebhookStatus;
}

export class WebhookStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async create(tenantId: string, input: { endpoint: string; events: readonly EmailEventType[] }): Promise<{ webhook: Webhook; signingSecret: string }> {
    const id = newId();
    const createdAt = new Date(this.db.now()).toISOString();
    const signingSecret = newSigningSecret();
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: {
        ...keys.webhook(id), kind: 'webhook',
        webhook_id: id, tenant_id: tenantId, endpoint: input.endpoint, events: [...input.events],
        status: 'enabled', created_at: createdAt,
        secret: await this.box.seal(signingSecret, id),
        gsi1pk: keys.tenantWebhooks(tenantId), gsi1sk: `${createdAt}#${id}`,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
    return { webhook: { id, tenantId, endpoint: input.endpoint, events: [...input.events], status: 'enabled', createdAt }, signingSecret };
  }

  /** The tenant's endpoint with its current signing secret, or undefined (absent or another tenant's). */
  async get(tenantId: string, id: string): Promise<(Webhook & { signingSecret: string }) | undefined> {
    const found = await this.getWithSecrets(id);
    if (!found || found.tenantId !== tenantId) return undefined;
    return { ...strip(found), signingSecret: found.secrets.current };
  }

  /** Any endpoint by id, with its secrets opened (the deliver function). */
  async getWithSecrets(id: string): Promise<WebhookWithSecrets | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.webhook(id), ConsistentRead: true }));
    if (!Item) return undefined;
    const secrets: StoredSecrets = {
      current: await this.box.open(Item.secret as string, id),
      ...(Item.previous_secret !== undefined && (Item.previous_until as number) > this.db.now()
        ? { previous: await this.box.open(Item.previous_secret as string, id), previousUntil: Item.previous_until as number }
        : {}),
    };
    return { ...toWebhook(Item), secrets };
  }

  /** A tenant's endpoints, newest first. A tenant has few; they are one gsi1 partition. */
  async list(tenantId: string): Promise<Webhook[]> {
    const items = await this.queryTenant(tenantId, undefined);
    return items.map(toWebhook);
  }


  /** Applies a patch to the tenant's endpoint; false when there is none. Enabling clears the failure state. */
  async update(tenantId: string, id: string, patch: WebhookPatch): Promise<boolean> {
    const sets: string[] = [];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':t': tenantId };
    if (patch.endpoint !== undefined) (sets.push('endpoint = :e'), (values[':e'] = patch.endpoint));
    if (patch.events !== undefined) (sets.push('events = :ev'), (values[':ev'] = [...patch.events]));
    if (patch.status !== undefined) {
      sets.push('#s = :s');
      values[':s'] = patch.status;
      if (patch.status === 'enabled') removes.push('failing_since', 'disabled_reason');
    }
    if (sets.length === 0) return (await this.get(tenantId, id)) !== undefined;
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.webhook(id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_exists(pk) AND tenant_id = :t',
        ...(patch.status !== undefined ? { ExpressionAttributeNames: { '#s': 'status' } } : {}),
        ExpressionAttributeValues: values,
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    try {
      await this.db.doc.send(new DeleteCommand({
        TableName: this.db.table,
        Key: keys.webhook(id),
        ConditionExpression: 'attribute_exists(pk) AND tenant_id = :t',
        ExpressionAttributeValues: { ':t': tenantId },
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * A new signing secret; the current one keeps signing beside it for ROTATION_OVERLAP_MS. A
   * rotation during an overlap ends the older overlap (only two secrets sign at once).
   */
  async rotateSecret(tenantId: string, id: string): Promise<string | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.webhook(id), ConsistentRead: true }));
    if (!Item || Item.tenant_id !== tenantId) return undefined;
    const signingSecret = newSigningSecret();
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.webhook(id),
        UpdateExpression: 'SET secret = :new, previous_secret = :old, previous_until = :until',
        // Optimistic: two concurrent rotations cannot both keep "the" old secret.
        ConditionExpression: 'secret = :old',
        ExpressionAttributeValues: { ':new': await this.box.seal(signingSecret, id), ':old': Item.secret, ':until': this.db.now() + ROTATION_OVERLAP_MS },
      }));
    } catch (error) {
      if (isConditionFailure(error)) throw new Error('The signing secret was rotated concurrently');
      throw error;
    }
    return signingSecret;
  }

  /** Records the start of a failure streak, only if none is recorded (one write per streak). */
  async markFailing(id: string, sinceIso: string): Promise<void> {
    await this.conditional({
      UpdateExpression: 'SET failing_since = :f',
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(failing_since)',
      ExpressionAttributeValues: { ':f': sinceIso },
    }, id);
  }

  /** Ends a failure streak, only if one is recorded. */
  async clearFailing(id: string): Promise<void> {
    await this.conditional({ UpdateExpression: 'REMOVE failing_since', ConditionExpression: 'attribute_exists(failing_since)' }, id);
  }

  async disable(id: string, reason: string): Promise<void> {
    await this.conditional({
      UpdateExpression: 'SET #s = :d, disabled_reason = :r',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':d': 'disabled', ':r': reason },
    }, id);
  }

  private async conditional(update: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>, id: string): Promise<void> {
    try {
      await this.db.doc.send(new UpdateCommand({ TableName: this.db.table, Key: keys.webhook(id), ...update }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  private queryTenant(tenantId: string, projection: string | undefined): Promise<Record<string, unknown>[]> {
    return queryTenantWebhooks(this.db, tenantId, projection);
  }
}

function queryTenantWebhooks(db: Db, tenantId: string, projection: string | undefined): Promise<Record<string, unknown>[]> {
  return queryItems(db, {
    IndexName: 'gsi1',
    KeyConditionExpression: 'gsi1pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.tenantWebhooks(tenantId) },
    ...(projection ? { ProjectionExpression: projection, ExpressionAttributeNames: { '#s': 'status' } } : {}),
    ScanIndexForward: false,
  });
}

/** The fan-out's view of a tenant's endpoints: one Query, no secrets (so no key is needed). */
export class WebhookSubscribers {
  constructor(private readonly db: Db) {}

  async subscribers(tenantId: string): Promise<Subscriber[]> {
    const items = await queryTenantWebhooks(this.db, tenantId, 'webhook_id, events, #s');
    return items.map((i) => ({ id: i.webhook_id as string, events: (i.events as EmailEventType[]) ?? [], status: i.status as WebhookStatus }));
  }
}

function toWebhook(i: Record<string, unknown>): Webhook {
  return {
    id: i.webhook_id as string,
    tenantId: i.tenant_id as string,
    endpoint: i.endpoint as string,
    events: (i.events as EmailEventType[]) ?? [],
    status: i.status as WebhookStatus,
    createdAt: i.created_at as string,
    ...(i.failing_since !== undefined ? { failingSince: i.failing_since as string } : {}),
    ...(i.disabled_reason !== undefined ? { disabledReason: i.disabled_reason as string } : {}),
  };
}

const strip = ({ secrets: _secrets, ...rest }: WebhookWithSecrets): Webhook => rest;

// --- deliveries ------------------------------------------------------------------------------

/** Resend's delivery states: waiting for an attempt, delivered, or given up (replayable). */
export type DeliveryStatus = 'pending' | 'success' | 'failed';

export interface Delivery {
  readonly id: string;
  readonly webhookId: string;
  readonly tenantId: string;
  readonly eventId: string;
  readonly eventType: EmailEventType;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly createdAt: string;
  readonly generation: number;
  readonly nextAttemptAt?: string;
  readonly lastAttemptAt?: string;
  /** The exact body that is signed and sent. */
  readonly payload: string;
}

export interface Attempt {
  readonly id: string;
  readonly deliveryId: string;
  /** The HTTP status, or 0 when no response arrived (refused, timeout, network error). */
  readonly statusCode: number;
  readonly durationMs: number;
  readonly response: string;
  readonly sentAt: string;
}

/** What every write of a delivery carries, so that whichever comes first creates the item. */
export interface DeliveryIdentity {
  readonly id: string;
  readonly webhookId: string;
  readonly tenantId: string;
  readonly eventId: string;
  readonly eventType: EmailEventType;
  readonly payload: string;
  /** The delivery's created_at (the time it was queued), kept from the first write. */
  readonly queuedAt: string;
  readonly generation: number;
}

export interface DeliveryListOptions {
  readonly limit: number;
  readonly after?: string;
  readonly before?: string;
}

export class InvalidDeliveryCursorError extends Error {}

export const deliveryShard = (deliveryId: string): number => parseInt(deliveryId.slice(0, 2), 16) % EMAIL_LIST_SHARDS;

export class DeliveryStore {
  constructor(
    private readonly db: Db,
    private readonly retentionDays: number,
  ) {}

  async get(deliveryId: string): Promise<Delivery | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.webhookDelivery(deliveryId), ConsistentRead: true }));
    return Item && isLive(Item as { expires_at?: number }, this.db.now()) ? toDelivery(Item) : undefined;
  }

  /** A delivery of this tenant's endpoint, or undefined. */
  async getFor(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    const d = await this.get(deliveryId);
    return d && d.tenantId === tenantId && d.webhookId === webhookId ? d : undefined;
  }

  /** Logs one attempt (expires with the retention). */
  async putAttempt(attempt: Omit<Attempt, 'id'>, n: number): Promise<void> {
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: {
        ...keys.deliveryAttempt(attempt.deliveryId, attempt.sentAt, n), kind: 'webhook_attempt',
        attempt_id: derivedId('webhook-attempt', attempt.deliveryId, attempt.sentAt, String(n)),
        status_code: attempt.statusCode, duration_ms: attempt.durationMs, response: attempt.response, sent_at: attempt.sentAt,
        expires_at: expiresAt(this.db.now(), this.retentionDays),
      },
    }));
  }

  /**
   * Records the outcome of an attempt of `generation`. Conditional: a newer generation (a replay)
   * or an earlier success of this generation wins, and the write is skipped (returns false).
   */
  async recordOutcome(
    identity: DeliveryIdentity,
    outcome: { status: DeliveryStatus; attempted: boolean; attemptAt: string; nextAttemptAt?: string },
  ): Promise<boolean> {
    const values: Record<string, unknown> = {
      ':s': outcome.status, ':success': 'success', ':g': identity.generation,
      ':w': identity.webhookId, ':t': identity.tenantId, ':e': identity.eventId, ':type': identity.eventType,
      ':p': identity.payload, ':c': identity.queuedAt,
      ':pk2': keys.webhookDeliveries(identity.webhookId, deliveryShard(identity.id)), ':sk2': `${identity.queuedAt}#${identity.id}`,
      ':x': expiresAt(Date.parse(identity.queuedAt) || this.db.now(), this.retentionDays),
    };
    const sets = [
      '#s = :s', 'generation = :g', 'webhook_id = if_not_exists(webhook_id, :w)', 'tenant_id = if_not_exists(tenant_id, :t)',
      'event_id = if_not_exists(event_id, :e)', 'event_type = if_not_exists(event_type, :type)', 'payload = if_not_exists(payload, :p)',
      'created_at = if_not_exists(created_at, :c)', 'gsi2pk = if_not_exists(gsi2pk, :pk2)', 'gsi2sk = if_not_exists(gsi2sk, :sk2)',
      'expires_at = if_not_exists(expires_at, :x)', 'kind = :kind',
    ];
    values[':kind'] = 'webhook_delivery';
    const removes: string[] = [];
    if (outcome.attempted) {
      sets.push('attempts = if_not_exists(attempts, :zero) + :one', 'last_attempt_at = :at');
      values[':zero'] = 0;
      values[':one'] = 1;
      values[':at'] = outcome.attemptAt;
    }
    if (outcome.nextAttemptAt !== undefined) (sets.push('next_attempt_at = :next'), (values[':next'] = outcome.nextAttemptAt));
    else removes.push('next_attempt_at');
    if (outcome.status === 'failed') {
      // The sparse failed index that recover reads; its sort key is the delivery's created_at.
      sets.push('gsi1pk = :pk1', 'gsi1sk = if_not_exists(gsi2sk, :sk2)');
      values[':pk1'] = keys.webhookFailed(identity.webhookId, deliveryShard(identity.id));
    } else {
      removes.push('gsi1pk', 'gsi1sk');
    }
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.webhookDelivery(identity.id),
        UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
        ConditionExpression: 'attribute_not_exists(pk) OR generation < :g OR (generation = :g AND #s <> :success)',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: values,
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Starts a replay: the next generation, pending again, out of the failed index. Returns the
   * delivery as replayed, or undefined when it is not this tenant's endpoint's.
   */
  async beginReplay(tenantId: string, webhookId: string, deliveryId: string): Promise<Delivery | undefined> {
    try {
      const { Attributes } = await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.webhookDelivery(deliveryId),
        UpdateExpression: 'SET #s = :p, generation = generation + :one, next_attempt_at = :now REMOVE gsi1pk, gsi1sk',
        ConditionExpression: 'attribute_exists(pk) AND tenant_id = :t AND webhook_id = :w AND (attribute_not_exists(expires_at) OR expires_at > :nowS)',
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
    const { limit } = options;
    const cursorId = options.after ?? options.before;
    let cursor: string | undefined;
    if (cursorId !== undefined) {
      const d = await this.get(cursorId);
      if (!d || d.webhookId !== webhookId) throw new InvalidDeliveryCursorError(`No delivery with id ${cursorId} to page from.`);
      cursor = `${d.createdAt}#${d.id}`;
    }
    const newer = options.before !== undefined;
    const pages = await Promise.all(
      Array.from({ length: EMAIL_LIST_SHARDS }, (_, shard) => {
        const range = cursor === undefined ? '' : newer ? ' AND gsi2sk > :c' : ' AND gsi2sk < :c';
        return this.db.doc.send(new QueryCommand({
          TableName: this.db.table,
          IndexName: 'gsi2',
          KeyConditionExpression: `gsi2pk = :pk${range}`,
          ExpressionAttributeValues: { ':pk': keys.webhookDeliveries(webhookId, shard), ...(cursor !== undefined ? { ':c': cursor } : {}) },
          ScanIndexForward: newer,
          Limit: limit + 1,
        }));
      }),
    );
    const sortKeys = pages.flatMap((p) => (p.Items ?? []).map((i) => i.gsi2sk as string)).sort();
    if (!newer) sortKeys.reverse();
    const hasMore = sortKeys.length > limit;
    const page = sortKeys.slice(0, limit);
    if (newer) page.reverse();
    const ids = page.map((sk) => sk.slice(sk.lastIndexOf('#') + 1));
    const items = await this.batchGet(ids);
    const data = ids.flatMap((id) => {
      const item = items.get(id);
      return item && isLive(item as { expires_at?: number }, this.db.now()) ? [toDelivery(item)] : [];
    });
    return { data, hasMore };
  }

  /** Failed deliveries of an endpoint queued at or after `since` (ISO), oldest first, at most `limit`. */
  async failedSince(webhookId: string, since: string, limit: number): Promise<{ data: Delivery[]; hasMore: boolean }> {
    const pages = await Promise.all(
      Array.from({ length: EMAIL_LIST_SHARDS }, (_, shard) =>
        queryItems(this.db, {
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk >= :since',
          ExpressionAttributeValues: { ':pk': keys.webhookFailed(webhookId, shard), ':since': since },
          Limit: limit + 1,
        }, limit + 1),
      ),
    );
    const all = pages.flat().filter((i) => isLive(i as { expires_at?: number }, this.db.now()))
      .sort((a, b) => String(a.gsi1sk).localeCompare(String(b.gsi1sk)));
    return { data: all.slice(0, limit).map(toDelivery), hasMore: all.length > limit };
  }

  /** A delivery's attempts, newest first. */
  async listAttempts(deliveryId: string, options: { limit: number; after?: string }): Promise<{ data: Attempt[]; hasMore: boolean }> {
    const items = await queryItems(this.db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :a)',
      ExpressionAttributeValues: { ':pk': keys.webhookDelivery(deliveryId).pk, ':a': 'A#' },
      ScanIndexForward: false,
    });
    const out: Attempt[] = items.filter((i) => isLive(i as { expires_at?: number }, this.db.now())).map((i) => ({
      id: i.attempt_id as string, deliveryId, statusCode: i.status_code as number, durationMs: i.duration_ms as number,
      response: i.response as string, sentAt: i.sent_at as string,
    }));
    let from = 0;
    if (options.after !== undefined) {
      const at = out.findIndex((a) => a.id === options.after);
      if (at === -1) throw new InvalidDeliveryCursorError(`No attempt with id ${options.after} to page from.`);
      from = at + 1;
    }
    return { data: out.slice(from, from + options.limit), hasMore: out.length > from + options.limit };
  }

  private async batchGet(ids: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const out = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < ids.length; i += 100) {
      let request: Record<string, unknown>[] | undefined = ids.slice(i, i + 100).map((id) => keys.webhookDelivery(id));
      for (let attempt = 0; request && request.length > 0; attempt++) {
        if (attempt > 8) throw new Error('BatchGetItem left keys unprocessed');
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
        const res = await this.db.doc.send(new BatchGetCommand({ RequestItems: { [this.db.table]: { Keys: request } } }));
        for (const item of res.Responses?.[this.db.table] ?? []) out.set((item.pk as string).slice(3), item);
        request = res.UnprocessedKeys?.[this.db.table]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return out;
  }
}

function toDelivery(i: Record<string, unknown>): Delivery {
  return {
    id: (i.pk as string).slice(3),
    webhookId: i.webhook_id as string,
    tenantId: i.tenant_id as string,
    eventId: i.event_id as string,
    eventType: i.event_type as EmailEventType,
    status: i.status as DeliveryStatus,
    attempts: (i.attempts as number | undefined) ?? 0,
    createdAt: i.created_at as string,
    generation: (i.generation as number | undefined) ?? 0,
    ...(i.next_attempt_at !== undefined ? { nextAttemptAt: i.next_attempt_at as string } : {}),
    ...(i.last_attempt_at !== undefined ? { lastAttemptAt: i.last_attempt_at as string } : {}),
    payload: i.payload as string,
  };
}
