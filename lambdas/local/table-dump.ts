/**
 * The dump of a local table's items, written while local mode rebuilds its table with a new
 * definition (ensureTable in lambdas/local/dynamodb.ts). One file, `<folder>/<table>.jsonl`, written
 * whole to a temporary name, fsynced and renamed (json-files.ts), so that it either holds every item
 * or does not exist. JSON Lines, so that no step holds the whole table as one string:
 *
 *   {"table":"sesame","version":1}
 *   {"item":{"pk":{"S":"E#..."},"sk":{"S":"BODY#000"},"chunk":{"B":"<base64>"}}}
 *   ...
 *   {"count":1234}
 *
 * Items keep DynamoDB's own attribute value shapes; binary values (B, BS) are written in base64.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  BatchWriteItemCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { writeLinesAtomic } from './json-files';

const DUMP_VERSION = 1;
/** BatchWriteItem takes at most 25 requests. */
const BATCH = 25;
const MAX_BATCH_ATTEMPTS = 10;

type Item = Record<string, AttributeValue>;

/** The dump file of `tableName` in `dir`. */
export const dumpFile = (dir: string, tableName: string): string => join(dir, `${tableName}.jsonl`);

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** S, N, SS, NS, BOOL and NULL are JSON already. */
function encodeValue(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.M !== undefined) return { M: encodeItem(value.M) };
  if (value.L !== undefined) return { L: value.L.map(encodeValue) };
  return value;
}

function encodeItem(item: Item): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, encodeValue(value)]));
}

function decodeValue(value: Record<string, unknown>): AttributeValue {
  if (typeof value.B === 'string') return { B: bytes(value.B) };
  if (Array.isArray(value.BS)) return { BS: (value.BS as string[]).map(bytes) };
  if (value.M !== undefined) return { M: decodeItem(value.M as Record<string, Record<string, unknown>>) };
  if (Array.isArray(value.L)) return { L: (value.L as Record<string, unknown>[]).map(decodeValue) };
  return value as unknown as AttributeValue;
}

function decodeItem(item: Record<string, Record<string, unknown>>): Item {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, decodeValue(value)]));
}

async function* scanPages(client: DynamoDBClient, tableName: string): AsyncGenerator<Item[]> {
  let start: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    if (page.Items?.length) yield page.Items;
    start = page.LastEvaluatedKey;
  } while (start);
}

/** Writes every item of the table to `file`, durably (see above), one write per page; returns how many. */
export async function dumpTable(client: DynamoDBClient, tableName: string, file: string): Promise<number> {
  let count = 0;
  async function* lines(): AsyncGenerator<string> {
    yield JSON.stringify({ table: tableName, version: DUMP_VERSION });
    for await (const items of scanPages(client, tableName)) {
      count += items.length;
      yield items.map((item) => JSON.stringify({ item: encodeItem(item) })).join('\n');
    }
    yield JSON.stringify({ count });
  }
  await writeLinesAtomic(file, lines());
  return count;
}

/** The items of a dump, checked against its first and last lines. */
async function* readDump(file: string, tableName: string): AsyncGenerator<Item> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let header = false;
  let count = 0;
  let declared: number | undefined;
  for await (const line of lines) {
    if (line === '') continue;
    const entry = JSON.parse(line) as { table?: string; version?: number; item?: Record<string, Record<string, unknown>>; count?: number };
    if (!header) {
      if (entry.table !== tableName || entry.version !== DUMP_VERSION) throw new Error(`${file} is not a dump of table ${tableName} that this version of Sesame reads`);
      header = true;
    } else if (entry.item) {
      if (declared !== undefined) throw new Error(`${file} has items after its count`);
      count += 1;
      yield decodeItem(entry.item);
    } else if (typeof entry.count === 'number') {
      declared = entry.count;
    }
  }
  if (declared !== count) throw new Error(`${file} is incomplete (${count} items read, ${declared ?? 'no'} count)`);
}

/** Puts a batch, then whatever DynamoDB left unprocessed, with a growing pause between tries. */
async function writeBatch(client: DynamoDBClient, tableName: string, requests: WriteRequest[]): Promise<void> {
  let pending = requests;
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > MAX_BATCH_ATTEMPTS) throw new Error(`${pending.length} items of table ${tableName} stayed unprocessed after ${MAX_BATCH_ATTEMPTS} tries`);
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
    const { UnprocessedItems } = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } }));
    pending = UnprocessedItems?.[tableName] ?? [];
  }
}

/**
 * Puts every item of the dump into the table (a put of an item already there writes the same item
 * again); returns how many. `afterBatch` runs after each batch (the crash tests stop there).
 */
export async function loadDump(client: DynamoDBClient, tableName: string, file: string, afterBatch?: () => Promise<void>): Promise<number> {
  let batch: WriteRequest[] = [];
  let count = 0;
  const flush = async () => {
    await writeBatch(client, tableName, batch);
    count += batch.length;
    batch = [];
    await afterBatch?.();
  };
  for await (const item of readDump(file, tableName)) {
    batch.push({ PutRequest: { Item: item } });
    if (batch.length === BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return count;
}

/** How many items the table holds (a full Scan that counts). */
export async function countItems(client: DynamoDBClient, tableName: string): Promise<number> {
  let count = 0;
  let start: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}
