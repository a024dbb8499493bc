/**
 * Idempotency keys (per tenant, 24 hours). `begin` claims the key with a single conditional put;
 * the first response is stored by `complete` and replayed afterwards. 429 and 5xx answers are not
 * stored: `release` frees the key so that a retry runs again.
 */
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { sha256Hex } from '../domain/ids';
import { keys } from '../table';
import { type Db, epochSeconds, isConditionFailure } from './dynamo';

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** How long an in-flight claim blocks others: longer than an API function's timeout. */
export const IN_FLIGHT_LOCK_SECONDS = 60;

export interface IdempotencyOptions {
  /** Seconds an in-flight claim blocks a retry (SESAME_IDEMPOTENCY_LOCK_SECONDS). @default IN_FLIGHT_LOCK_SECONDS */
  readonly lockSeconds?: number;
}

export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

export type BeginResult =
  | { readonly outcome: 'started' }
  | { readonly outcome: 'replay'; readonly response: StoredResponse }
  | { readonly outcome: 'mismatch' }
  | { readonly outcome: 'in_flight' };

export class IdempotencyStore {
  constructor(
    private readonly db: Db,
    private readonly options: IdempotencyOptions = {},
  ) {}

  private key(tenantId: string, idempotencyKey: string) {
    return keys.idempotency(tenantId, sha256Hex(idempotencyKey));
  }

  async begin(tenantId: string, idempotencyKey: string, fingerprint: string): Promise<BeginResult> {
    const now = epochSeconds(this.db.now());
    const Key = this.key(tenantId, idempotencyKey);
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: { ...Key, kind: 'idempotency', fingerprint, state: 'in_flight', locked_until: now + (this.options.lockSeconds ?? IN_FLIGHT_LOCK_SECONDS), expires_at: now + IDEMPOTENCY_TTL_SECONDS },
        // Free, expired, or an abandoned claim for the same request (its function died mid-way).
        ConditionExpression: 'attribute_not_exists(pk) OR expires_at < :now OR (#s = :inflight AND locked_until < :now AND fingerprint = :fp)',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':now': now, ':inflight': 'in_flight', ':fp': fingerprint },
      }));
      return { outcome: 'started' };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key, ConsistentRead: true }));
    if (!Item) return this.begin(tenantId, idempotencyKey, fingerprint);
    if (Item.fingerprint !== fingerprint) return { outcome: 'mismatch' };
    if (Item.state === 'done') return { outcome: 'replay', response: JSON.parse(Item.response as string) as StoredResponse };
    return { outcome: 'in_flight' };
  }

  async complete(tenantId: string, idempotencyKey: string, response: StoredResponse): Promise<void> {
    await this.db.doc.send(new UpdateCommand({
      TableName: this.db.table,
      Key: this.key(tenantId, idempotencyKey),
      UpdateExpression: 'SET #s = :done, #r = :r REMOVE locked_until',
      ExpressionAttributeNames: { '#s': 'state', '#r': 'response' },
      ExpressionAttributeValues: { ':done': 'done', ':r': JSON.stringify(response) },
    }));
  }

  async release(tenantId: string, idempotencyKey: string): Promise<void> {
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: this.key(tenantId, idempotencyKey) }));
  }
}
