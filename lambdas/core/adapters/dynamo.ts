/** What every DynamoDB adapter shares: the document client, the table, a clock. */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';

export interface Db {
  readonly doc: DynamoDBDocumentClient;
  readonly table: string;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now: () => number;
}

export function createDb(doc: DynamoDBDocumentClient, table: string, now: () => number = Date.now): Db {
  return { doc, table, now };
}

export const isConditionFailure = (error: unknown): boolean =>
  (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';

export const epochSeconds = (ms: number): number => Math.floor(ms / 1000);

/** The TTL value for something created at `ms` and kept `days` days. */
export const expiresAt = (ms: number, days: number): number => epochSeconds(ms) + days * 86_400;

/** Reads enforce retention themselves: TTL deletes lazily, up to days later. */
export const isLive = (item: { expires_at?: number } | undefined, nowMs: number): boolean =>
  item !== undefined && (item.expires_at === undefined || item.expires_at > epochSeconds(nowMs));

/**
 * The items of a Query, page after page, until there are no more or `max` are collected.
 * For bounded collections (a tenant's keys or domains, an email's body chunks or events).
 */
export async function queryItems(
  db: Db,
  input: Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey'>,
  max = Number.POSITIVE_INFINITY,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(new QueryCommand({ ...input, TableName: db.table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = items.length >= max ? undefined : page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** BatchGetItem takes at most this many keys per call. */
const BATCH_GET_MAX = 100;
/** Rounds of retrying unprocessed keys before giving up (with exponential backoff, capped at 1 s). */
const BATCH_GET_ROUNDS = 8;

export interface BatchGetOptions {
  readonly projection?: string;
  readonly names?: Record<string, string>;
  readonly consistent?: boolean;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Every item of `keys` that exists, in any order, 100 keys per BatchGetItem. Keys DynamoDB leaves
 * unprocessed (throttling, the 16 MB response limit) are asked again with backoff; if some are still
 * unprocessed after BATCH_GET_ROUNDS this throws rather than answer an incomplete set.
 */
export async function batchGetAll(
  db: Db,
  keys: readonly Record<string, unknown>[],
  options: BatchGetOptions = {},
): Promise<Record<string, unknown>[]> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const out: Record<string, unknown>[] = [];
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX) chunks.push(keys.slice(i, i + BATCH_GET_MAX));
  await Promise.all(chunks.map(async (chunk) => {
    let request: Record<string, unknown>[] | undefined = chunk;
    for (let round = 0; request && request.length > 0; round++) {
      if (round > BATCH_GET_ROUNDS) throw new Error('BatchGetItem left keys unprocessed');
      if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round));
      const res: BatchGetCommandOutput = await db.doc.send(new BatchGetCommand({
        RequestItems: {
          [db.table]: {
            Keys: request,
            ...(options.projection !== undefined ? { ProjectionExpression: options.projection } : {}),
            ...(options.names !== undefined ? { ExpressionAttributeNames: options.names } : {}),
            ...(options.consistent ? { ConsistentRead: true } : {}),
          },
        },
      }));
      out.push(...(res.Responses?.[db.table] ?? []));
      request = res.UnprocessedKeys?.[db.table]?.Keys as Record<string, unknown>[] | undefined;
    }
  }));
  return out;
}

/** One shard's Query, without the table, paging or order (the merge sets those). */
export type ShardQuery = Omit<QueryCommandInput, 'TableName' | 'ExclusiveStartKey' | 'ScanIndexForward' | 'Limit'>;

export interface ShardedQuery {
  /** The partitions to read, each as one Query. */
  readonly shards: readonly ShardQuery[];
  /** The key the merged result is ordered by (a string that sorts as the collection should). */
  readonly orderKey: (item: Record<string, unknown>) => string;
  /** Greatest order key first. */
  readonly descending: boolean;
  /** Items wanted; one more is read to tell whether there are more. */
  readonly limit: number;
  /** Items to leave out after reading (e.g. the cursor itself, a status); applied before the limit. */
  readonly keep?: (item: Record<string, unknown>) => boolean;
}

/**
 * A collection spread over shard partitions (so that no partition is hot), read as one ordered
 * list: each shard is queried in order for up to `limit + 1` kept items, the results are merged by
 * `orderKey`, and the first `limit` are answered with whether more exist. With `keep`, a shard pages
 * on until it has `limit + 1` kept items or is exhausted (a filtered read costs what it reads).
 */
export async function queryShardsMerged(db: Db, query: ShardedQuery): Promise<{ items: Record<string, unknown>[]; hasMore: boolean }> {
  const want = query.limit + 1;
  const keep = query.keep ?? (() => true);
  const perShard = await Promise.all(query.shards.map(async (shard) => {
    const kept: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      // With a FilterExpression, Limit would count the items read, not those returned: pages of 1 MB instead.
      const page = await db.doc.send(new QueryCommand({
        ...shard, TableName: db.table, ScanIndexForward: !query.descending, ...(shard.FilterExpression ? {} : { Limit: want }), ExclusiveStartKey: start,
      }));
      kept.push(...(page.Items ?? []).filter(keep));
      start = kept.length >= want ? undefined : page.LastEvaluatedKey;
    } while (start);
    return kept.slice(0, want);
  }));
  const ordered = perShard.flat().map((item) => ({ item, key: query.orderKey(item) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (query.descending) ordered.reverse();
  return { items: ordered.slice(0, query.limit).map((o) => o.item), hasMore: ordered.length > query.limit };
}

/**
 * An item's size as DynamoDB counts it (plain values, as the document client returns them):
 * each attribute's name plus its value; strings and binaries by their bytes, numbers about one
 * byte per two significant digits plus one, booleans and nulls one byte, lists and maps three
 * bytes plus one per element (and, for maps, the element names).
 */
export function itemBytes(item: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) if (value !== undefined) size += Buffer.byteLength(name, 'utf8') + valueBytes(value);
  return size;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'bigint') {
    const digits = String(value).replace(/^-/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return Math.ceil(Math.max(1, digits.length) / 2) + 1;
  }
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value as Record<string, unknown>).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k, 'utf8') + valueBytes(v), 0);
  }
  throw new Error(`No DynamoDB size for ${typeof value}`);
}
