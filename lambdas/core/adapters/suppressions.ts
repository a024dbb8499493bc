/**
 * A tenant's suppression list in Resend's shape (id, email, origin, source email, created_at),
 * kept beside its SES tenant's suppression list, which holds neither ids nor a "manual" origin.
 * Single-item conditional writes, no transactions, no scans (layout in table.ts):
 * - the claim `SE#<tenant>#<lower-cased address>` is put if absent: an address is on a tenant's
 *   list once, whatever its case; it keeps the address in the case first given (the case SES is
 *   then given, and stores);
 * - once SES holds the address, `complete` writes the item by id (listed through gsi1) and lists
 *   the claim under its origin. Reads see complete entries only; an incomplete claim (a crash
 *   between the steps) is completed by the next add of the same address.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SuppressionOrigin } from '../domain/ses-tenants';
import { newId } from '../domain/ids';
import { keys } from '../table';
import { type Db, isConditionFailure } from './dynamo';

export interface Suppression {
  readonly id: string;
  readonly tenantId: string;
  /** As SES stores it. */
  readonly email: string;
  readonly origin: SuppressionOrigin;
  /** The email whose bounce or complaint caused it; absent for manual entries. */
  readonly sourceId?: string;
  readonly createdAt: string;
  /** Whether SES holds it and it is listed. */
  readonly complete: boolean;
}

export interface NewSuppression {
  readonly tenantId: string;
  readonly email: string;
  readonly origin: SuppressionOrigin;
  readonly sourceId?: string;
}

export interface SuppressionPage {
  readonly data: Suppression[];
  readonly hasMore: boolean;
}

export class InvalidSuppressionCursorError extends Error {}

const listed = (s: Suppression) => ({ gsi1sk: `${s.createdAt}#${s.id}` });

function fromItem(item: Record<string, unknown>): Suppression {
  return {
    id: item.suppression_id as string,
    tenantId: item.tenant_id as string,
    email: item.email as string,
    origin: item.origin as SuppressionOrigin,
    ...(typeof item.source_id === 'string' ? { sourceId: item.source_id } : {}),
    createdAt: item.created_at as string,
    complete: item.gsi1pk !== undefined,
  };
}

export class SuppressionStore {
  constructor(private readonly db: Db) {}

  /**
   * Claims `email` on the tenant's list: the new entry, or the one already there for any case of
   * the address (`created: false`), complete or not.
   */
  async claim(entry: NewSuppression): Promise<{ suppression: Suppression; created: boolean }> {
    const suppression: Suppression = {
      id: newId(),
      tenantId: entry.tenantId,
      email: entry.email,
      origin: entry.origin,
      ...(entry.sourceId !== undefined ? { sourceId: entry.sourceId } : {}),
      createdAt: new Date(this.db.now()).toISOString(),
      complete: false,
    };
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: {
          ...keys.suppressionByAddress(entry.tenantId, entry.email),
          kind: 'suppression',
          suppression_id: suppression.id,
          tenant_id: suppression.tenantId,
          email: suppression.email,
          origin: suppression.origin,
          source_id: suppression.sourceId,
          created_at: suppression.createdAt,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return { suppression, created: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const existing = await this.byAddress(entry.tenantId, entry.email, { includeIncomplete: true });
    if (!existing) throw new Error('A suppression claim vanished while it was read; retry');
    return { suppression: existing, created: false };
  }

  /** Lists a claimed entry once SES holds its address: the item by id, then the claim under its origin. */
  async complete(s: Suppression): Promise<Suppression> {
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: {
        ...keys.suppressionById(s.id),
        kind: 'suppression_id',
        suppression_id: s.id,
        tenant_id: s.tenantId,
        email: s.email,
        origin: s.origin,
        source_id: s.sourceId,
        created_at: s.createdAt,
        gsi1pk: keys.tenantSuppressions(s.tenantId),
        ...listed(s),
      },
    }));
    await this.db.doc.send(new UpdateCommand({
      TableName: this.db.table,
      Key: keys.suppressionByAddress(s.tenantId, s.email),
      UpdateExpression: 'SET gsi1pk = :pk, gsi1sk = :sk',
      ConditionExpression: 'suppression_id = :id',
      ExpressionAttributeValues: { ':pk': keys.tenantSuppressions(s.tenantId, s.origin), ':sk': listed(s).gsi1sk, ':id': s.id },
    }));
    return { ...s, complete: true };
  }

  async byAddress(tenantId: string, email: string, options: { includeIncomplete?: boolean } = {}): Promise<Suppression | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.suppressionByAddress(tenantId, email), ConsistentRead: true }));
    if (!Item) return undefined;
    const s = fromItem(Item);
    return s.complete || options.includeIncomplete ? s : undefined;
  }

  /** The tenant's entry with this id; another tenant's is undefined. */
  async byId(tenantId: string, id: string): Promise<Suppression | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.suppressionById(id), ConsistentRead: true }));
    return Item && Item.tenant_id === tenantId ? fromItem(Item) : undefined;
  }

  /** Removes an entry SES no longer holds: the item by id first (it leaves the list), then the claim. */
  async remove(s: Suppression): Promise<void> {
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: keys.suppressionById(s.id) }));
    await this.db.doc.send(new DeleteCommand({
      TableName: this.db.table,
      Key: keys.suppressionByAddress(s.tenantId, s.email),
      ConditionExpression: 'attribute_not_exists(pk) OR suppression_id = :id',
      ExpressionAttributeValues: { ':id': s.id },
    })).catch((error: unknown) => {
      // Another entry took the address meanwhile (removed, then added again): it stays.
      if (!isConditionFailure(error)) throw error;
    });
  }

  /**
   * A tenant's entries, newest first, `limit` at a time, optionally of one origin. `after`: older
   * than that entry; `before`: newer than it (ids of this tenant's entries).
   */
  async list(tenantId: string, options: { limit: number; origin?: SuppressionOrigin; after?: string; before?: string }): Promise<SuppressionPage> {
    const cursorId = options.after ?? options.before;
    let start: Record<string, unknown> | undefined;
    if (cursorId !== undefined) {
      const cursor = await this.byId(tenantId, cursorId);
      if (!cursor || (options.origin !== undefined && cursor.origin !== options.origin)) {
        throw new InvalidSuppressionCursorError(`No suppression with id ${cursorId} to page from.`);
      }
      const partition = keys.tenantSuppressions(tenantId, options.origin);
      const base = options.origin === undefined ? keys.suppressionById(cursor.id) : keys.suppressionByAddress(tenantId, cursor.email);
      start = { ...base, gsi1pk: partition, ...listed(cursor) };
    }
    const newer = options.before !== undefined;
    const page = await this.db.doc.send(new QueryCommand({
      TableName: this.db.table,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.tenantSuppressions(tenantId, options.origin) },
      ScanIndexForward: newer,
      Limit: options.limit + 1,
      ...(start ? { ExclusiveStartKey: start } : {}),
    }));
    const items = (page.Items ?? []).map(fromItem);
    const hasMore = items.length > options.limit;
    const data = items.slice(0, options.limit);
    return { data: newer ? data.reverse() : data, hasMore };
  }
}
