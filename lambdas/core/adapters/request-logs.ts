/**
 * Request logs (GET /logs): one item per API request, written once by the API middleware and
 * expiring after the log retention. A tenant's logs are spread over REQUEST_LOG_SHARDS partitions
 * (`RL#<tenant>#<shard>`, shard from the log id's hash bits) under `RL#<id>`; ids are time-ordered,
 * so each partition sorts by time and a listing is one Query per shard, merged newest first.
 */
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isId, isTimeOrderedId, timeOfId, timeOrderedDerivedId } from '../domain/ids';
import { keys, REQUEST_LOG_SHARDS } from '../table';
import { type Db, expiresAt, isLive, queryShardsMerged } from './dynamo';

export interface RequestLogEntry {
  readonly tenantId: string;
  readonly keyId: string;
  readonly keyName?: string;
  readonly method: string;
  readonly endpoint: string;
  readonly status: number;
  readonly userAgent: string | null;
  /** Already redacted and bounded (domain/request-log.ts). */
  readonly requestBody: unknown;
  readonly responseBody: unknown;
}

export interface RequestLogSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly endpoint: string;
  readonly method: string;
  readonly status: number;
  readonly userAgent: string | null;
  readonly keyId: string;
  readonly keyName: string | null;
}

export interface RequestLog extends RequestLogSummary {
  readonly requestBody: unknown;
  readonly responseBody: unknown;
}

export interface RequestLogPage {
  readonly data: RequestLogSummary[];
  readonly hasMore: boolean;
}

/** The sort-key prefix of every log written at or after `ms` (the time part of a time-ordered id). */
function idTimePrefix(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
}

/**
 * A log item, read back. The id is the sort key's and the time the id's (logs written before the
 * one-write-unit layout also kept `log_id` and `created_at`, the same values).
 */
function toSummary(item: Record<string, unknown>): RequestLogSummary {
  const id = (item.sk as string).slice('RL#'.length);
  return {
    id,
    createdAt: new Date(timeOfId(id)).toISOString(),
    endpoint: item.endpoint as string,
    method: item.method as string,
    status: item.status as number,
    userAgent: (item.user_agent as string | undefined) ?? null,
    keyId: item.key_id as string,
    keyName: (item.key_name as string | undefined) ?? null,
  };
}

const parseBody = (raw: unknown): unknown => (typeof raw === 'string' ? JSON.parse(raw) : null);

export class RequestLogStore {
  constructor(private readonly db: Db, private readonly retentionDays: number) {}

  /**
   * One PutItem. The id is new for every call, so nothing is overwritten. The item keeps nothing
   * its key already tells (the id, and the time the id carries), so that a typical request's log
   * stays under one write unit (1 KB).
   */
  async record(entry: RequestLogEntry): Promise<string> {
    const now = this.db.now();
    const id = timeOrderedDerivedId(now, randomUUID());
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: {
        ...keys.requestLog(entry.tenantId, id),
        method: entry.method,
        endpoint: entry.endpoint,
        status: entry.status,
        ...(entry.userAgent !== null ? { user_agent: entry.userAgent.slice(0, 512) } : {}),
        key_id: entry.keyId,
        ...(entry.keyName !== undefined ? { key_name: entry.keyName } : {}),
        ...(entry.requestBody !== null ? { request_body: JSON.stringify(entry.requestBody) } : {}),
        ...(entry.responseBody !== null ? { response_body: JSON.stringify(entry.responseBody) } : {}),
        expires_at: expiresAt(now, this.retentionDays),
      },
    }));
    return id;
  }

  /** One log of the tenant, or undefined (another tenant's, expired, or not a log id). */
  async get(tenantId: string, id: string): Promise<RequestLog | undefined> {
    if (!isId(id) || !isTimeOrderedId(id)) return undefined;
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.requestLog(tenantId, id) }));
    if (!Item || !isLive(Item as { expires_at?: number }, this.db.now())) return undefined;
    return { ...toSummary(Item), requestBody: parseBody(Item.request_body), responseBody: parseBody(Item.response_body) };
  }

  /**
   * The tenant's logs, newest first. `after`: older than that log; `before`: newer than it (the page
   * nearest to it). Cursors are log ids, which carry their time: no read is needed to page from one.
   */
  async list(tenantId: string, options: { limit: number; after?: string; before?: string }): Promise<RequestLogPage> {
    const now = this.db.now();
    const lo = `RL#${idTimePrefix(now - this.retentionDays * 86_400_000)}`;
    const newer = options.before !== undefined;
    const cursor = options.after ?? options.before;
    const range = cursor === undefined
      ? { cond: 'sk > :lo', values: { ':lo': lo } as Record<string, string> }
      : newer
        ? { cond: 'sk > :c', values: { ':c': `RL#${cursor}` } }
        : { cond: 'sk BETWEEN :lo AND :c', values: { ':lo': lo, ':c': `RL#${cursor}` } };
    const { items, hasMore } = await queryShardsMerged(this.db, {
      shards: Array.from({ length: REQUEST_LOG_SHARDS }, (_, shard) => ({
        KeyConditionExpression: `pk = :pk AND ${range.cond}`,
        ExpressionAttributeValues: { ':pk': keys.requestLogShard(tenantId, shard), ...range.values },
        ProjectionExpression: 'endpoint, #m, #s, user_agent, key_id, key_name, expires_at, sk',
        ExpressionAttributeNames: { '#m': 'method', '#s': 'status' },
      })),
      orderKey: (i) => i.sk as string,
      descending: !newer,
      limit: options.limit,
      keep: (i) => i.sk !== `RL#${cursor}` && isLive(i as { expires_at?: number }, now),
    });
    if (newer) items.reverse();
    return { data: items.map(toSummary), hasMore };
  }
}
