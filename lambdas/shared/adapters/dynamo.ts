/** What every DynamoDB adapter shares: the document client, the table, a clock. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

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
