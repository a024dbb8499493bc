/** What every DynamoDB adapter shares: the document client, the table, a clock. */
import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

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
