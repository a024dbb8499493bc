/**
 * Webhook endpoints in DynamoDB (layout: lambdas/core/table.ts); their deliveries are in
 * deliveries.ts.
 *
 * - An endpoint (`WH#<id>`/`WEBHOOK`) holds its URL, event filter, status and sealed signing
 *   secrets (the current one, and during a rotation the previous one with the time it stops
 *   signing). A tenant's endpoints are one gsi1 partition, read by the fan-out with one Query.
 * - `failing_since` is written only when it changes: set on a failure when absent, removed on a
 *   success when present. A failing endpoint is read on every attempt but not rewritten.
 * - The deliver function reads an endpoint through EndpointCache: at most ENDPOINT_CACHE_MS old.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { WebhookEventType } from '../domain/applied-event';
import { newId } from '../domain/ids';
import { newSigningSecret, ROTATION_OVERLAP_MS, type StoredSecrets } from '../domain/webhook-signing';
import { keys } from '../table';
import { type Db, isConditionFailure, queryItems } from './dynamo';
import type { SecretBox } from './secrets';

export type WebhookStatus = 'enabled' | 'disabled';

export interface Webhook {
  readonly id: string;
  readonly tenantId: string;
  readonly endpoint: string;
  readonly events: readonly WebhookEventType[];
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
  readonly events: readonly WebhookEventType[];
  readonly status: WebhookStatus;
}

export interface WebhookPatch {
  readonly endpoint?: string;
  readonly events?: readonly WebhookEventType[];
  readonly status?: WebhookStatus;
}

export class WebhookStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  async create(tenantId: string, input: { endpoint: string; events: readonly WebhookEventType[] }): Promise<{ webhook: Webhook; signingSecret: string }> {
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
    return items.map((i) => ({ id: i.webhook_id as string, events: (i.events as WebhookEventType[]) ?? [], status: i.status as WebhookStatus }));
  }
}

function toWebhook(i: Record<string, unknown>): Webhook {
  return {
    id: i.webhook_id as string,
    tenantId: i.tenant_id as string,
    endpoint: i.endpoint as string,
    events: (i.events as WebhookEventType[]) ?? [],
    status: i.status as WebhookStatus,
    createdAt: i.created_at as string,
    ...(i.failing_since !== undefined ? { failingSince: i.failing_since as string } : {}),
    ...(i.disabled_reason !== undefined ? { disabledReason: i.disabled_reason as string } : {}),
  };
}

const strip = ({ secrets: _secrets, ...rest }: WebhookWithSecrets): Webhook => rest;

/** How long the deliver function trusts an endpoint it read. */
export const ENDPOINT_CACHE_MS = 10_000;

export type EndpointReader = Pick<WebhookStore, 'getWithSecrets' | 'markFailing' | 'clearFailing' | 'disable'>;

/**
 * The deliver function's endpoints, each read at most once per ENDPOINT_CACHE_MS per container (an
 * absent endpoint too). What this container writes (failing since, disabled) updates its copy at
 * once; what others change (a new URL, events, a disable, a deletion, a rotated secret) is seen
 * within ENDPOINT_CACHE_MS.
 */
export class EndpointCache implements EndpointReader {
  private readonly entries = new Map<string, { webhook: WebhookWithSecrets | undefined; until: number }>();

  constructor(
    private readonly store: EndpointReader,
    private readonly options: { readonly ttlMs?: number; readonly now?: () => number; readonly maxEntries?: number } = {},
  ) {}

  async getWithSecrets(id: string): Promise<WebhookWithSecrets | undefined> {
    const now = (this.options.now ?? Date.now)();
    const hit = this.entries.get(id);
    if (hit && hit.until > now) return hit.webhook;
    const webhook = await this.store.getWithSecrets(id);
    this.entries.delete(id);
    if (this.entries.size >= (this.options.maxEntries ?? 1000)) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { webhook, until: now + (this.options.ttlMs ?? ENDPOINT_CACHE_MS) });
    return webhook;
  }

  async markFailing(id: string, sinceIso: string): Promise<void> {
    await this.store.markFailing(id, sinceIso);
    this.patch(id, (w) => (w.failingSince === undefined ? { ...w, failingSince: sinceIso } : w));
  }

  async clearFailing(id: string): Promise<void> {
    await this.store.clearFailing(id);
    this.patch(id, ({ failingSince: _f, ...w }) => w);
  }

  async disable(id: string, reason: string): Promise<void> {
    await this.store.disable(id, reason);
    this.patch(id, (w) => ({ ...w, status: 'disabled', disabledReason: reason }));
  }

  private patch(id: string, change: (w: WebhookWithSecrets) => WebhookWithSecrets): void {
    const hit = this.entries.get(id);
    if (hit?.webhook) hit.webhook = change(hit.webhook);
  }
}
