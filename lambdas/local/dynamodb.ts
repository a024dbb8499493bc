/**
 * Local stand-in for DynamoDB: dynalite (pure npm, LevelDB underneath) on 127.0.0.1, and the table
 * built from the one shared definition (lambdas/core/table.ts), so local mode and tests run on
 * the same layout as the CDK stack. No business logic lives here.
 *
 * What dynalite does not do, and what that means here:
 * - no UpdateTimeToLive and no TTL sweeping: ensureTable skips TTL. Nothing depends on it, since
 *   reads check `expires_at` themselves (TTL deletes lazily in AWS too);
 * - no TransactWriteItems (the design uses single-item conditional writes only);
 * - no item on a failed condition even with ReturnValuesOnConditionCheckFailure;
 * - no UpdateTable that adds or changes a GSI: a persisted table whose key schema or indexes differ
 *   from TABLE is rebuilt by ensureTable instead (dumped to a file, deleted, created anew, loaded
 *   back), keeping every item; see ensureTable;
 * - a kill between the two writes of a CreateTable leaves the table CREATING for good, which
 *   ensureTable settles at start (describeSettled).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import dynalite from 'dynalite';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { TABLE, type KeyAttribute, type TableDefinition } from '../core/table';
import { isTemporaryFile, removeDurably } from './json-files';
import { closeServer, listenOnLoopback } from './listen';
import { countItems, dumpFile, dumpTable, loadDump } from './table-dump';

export interface StartDynamoOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Folder for dynalite's LevelDB files; the data survives restarts. In memory when absent. */
  readonly dataDir?: string;
}

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or AWS_ENDPOINT_URL_DYNAMODB. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops accepting connections and closes the store (flushes LevelDB when persisted). */
  close(): Promise<void>;
}

export async function startDynamo(options: StartDynamoOptions = {}): Promise<LocalDynamo> {
  const server: Server = dynalite({
    path: options.dataDir,
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await listenOnLoopback(server, options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () => (closing ??= closeServer(server)),
  };
}

export interface EnsureTableOptions {
  /**
   * Folder for the dump a rebuild writes (local mode: `<data folder>/dynamodb-rebuild`). Without
   * it, a table that differs from the definition is refused, since its items could not be kept.
   */
  readonly rebuildDir?: string;
  /** @default TABLE */
  readonly definition?: TableDefinition;
  /** Runs after each step of a rebuild; the crash tests stop the process there. */
  readonly afterStep?: (step: RebuildStep) => Promise<void>;
}

/** The steps of a rebuild, in order (`loaded-batch` after each batch of items put back). */
export type RebuildStep = 'dumped' | 'deleted' | 'created' | 'loaded-batch';

export interface TableRebuild {
  /** Items put back, i.e. every item the table held. */
  readonly items: number;
  /** What differed (`index gsi3 added`, ...); empty when an interrupted rebuild was finished. */
  readonly changes: readonly string[];
  /** One line for the person at the terminal. */
  readonly summary: string;
}

/**
 * Creates `tableName` from the definition (pk/sk, the GSIs with their projections, on-demand
 * billing) when it does not exist, and waits until the table and its indexes are ACTIVE.
 * Idempotent, and safe when two callers race. TTL is not enabled: dynalite has no
 * UpdateTimeToLive (see above).
 *
 * A table whose key schema or indexes differ from the definition (one made by an earlier version)
 * is rebuilt, since dynalite cannot change them in place. Indexes derive from item attributes, so
 * the items are kept as they are:
 *   1. every item is dumped to `<rebuildDir>/<table>.jsonl` (temporary file, fsync, rename), and
 *      the table counted against the dump (on a mismatch, the dump is deleted and nothing changed);
 *   2. the table is deleted; 3. created from the definition; 4. the items are put back;
 *   5. the table is counted against the dump, and the dump deleted.
 * Once the dump exists it is the truth: a start that finds one finishes the rebuild from step 2
 * (deleting a table left from any other definition, creating it if missing, putting every item
 * again, which changes nothing for the items already there) and never dumps the table over it. A
 * crash before the dump's rename leaves the old table and a temporary file (deleted here). This
 * runs at start, before local mode serves anything, so nothing else writes to the table meanwhile.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string, options: EnsureTableOptions = {}): Promise<{ rebuilt?: TableRebuild }> {
  const wanted = createTableInput(tableName, options.definition);
  const { rebuildDir } = options;
  if (rebuildDir !== undefined) {
    await removeTemporaryFiles(rebuildDir);
    const dump = dumpFile(rebuildDir, tableName);
    if (existsSync(dump)) return { rebuilt: await rebuild(client, wanted, dump, [], options) };
  }
  const existing = await describeSettled(client, wanted);
  if (!existing) {
    await create(client, wanted);
    await waitUntilActive(client, tableName);
    return {};
  }
  const changes = differences(existing, wanted);
  if (changes.length === 0) {
    await waitUntilActive(client, tableName);
    return {};
  }
  if (rebuildDir === undefined) {
    throw new Error(`Table ${tableName} exists but does not match the table definition (${changes.join('; ')}), and no folder was given to rebuild it in.`);
  }
  await waitUntilActive(client, tableName);
  await mkdir(rebuildDir, { recursive: true });
  const dump = dumpFile(rebuildDir, tableName);
  const dumped = await dumpTable(client, tableName, dump);
  const held = await countItems(client, tableName);
  if (held !== dumped) {
    await removeDurably(dump);
    throw new Error(`Table ${tableName} holds ${held} items but ${dumped} were dumped: the table is left as it was.`);
  }
  await options.afterStep?.('dumped');
  return { rebuilt: await rebuild(client, wanted, dump, changes, options) };
}

/** Steps 2 to 5 above, from the dump. */
async function rebuild(client: DynamoDBClient, wanted: CreateTableCommandInput, dump: string, changes: string[], options: EnsureTableOptions): Promise<TableRebuild> {
  const tableName = wanted.TableName!;
  const existing = await describeSettled(client, wanted);
  // A table of the current definition here was made by this rebuild (and perhaps partly loaded).
  const current = existing !== undefined && differences(existing, wanted).length === 0;
  if (existing && !current) {
    await deleteTable(client, tableName);
    await options.afterStep?.('deleted');
  }
  if (!current) {
    await create(client, wanted);
    await options.afterStep?.('created');
  }
  await waitUntilActive(client, tableName);
  const items = await loadDump(client, tableName, dump, async () => options.afterStep?.('loaded-batch'));
  const found = await countItems(client, tableName);
  if (found !== items) throw new Error(`Table ${tableName} holds ${found} items after its rebuild, the dump ${items}: the dump ${dump} is kept, and the next start tries again.`);
  await removeDurably(dump);
  const what = changes.length > 0 ? changes.join(', ') : 'finished an interrupted upgrade';
  return { items, changes, summary: `Local table ${tableName} upgraded to the current table definition (${what}): ${items} items kept.` };
}

async function create(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err;
  }
}

/**
 * The table as the start finds it, once what a crash left half done is settled: a table DELETING
 * is deleted to the end (undefined); a table still CREATING a moment later was left so by a kill
 * between dynalite's two writes of a creation, and would stay so forever (dynalite neither deletes
 * nor serves a table being created). It holds no item (dynalite takes none before ACTIVE), so it is
 * made ACTIVE the one way dynalite allows (UpdateTable), and deleted (undefined).
 */
async function describeSettled(client: DynamoDBClient, wanted: CreateTableCommandInput): Promise<TableDescription | undefined> {
  const tableName = wanted.TableName!;
  const table = await describe(client, tableName);
  if (table?.TableStatus === 'DELETING') {
    await deleteTable(client, tableName);
    return undefined;
  }
  if (table?.TableStatus !== 'CREATING') return table;
  try {
    await waitUntilActive(client, tableName, 2_000);
    return await describe(client, tableName);
  } catch {
    const throughput = { ReadCapacityUnits: 1, WriteCapacityUnits: 1 };
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        BillingMode: 'PROVISIONED',
        ProvisionedThroughput: throughput,
        GlobalSecondaryIndexUpdates: (table.GlobalSecondaryIndexes ?? []).map((index) => ({ Update: { IndexName: index.IndexName!, ProvisionedThroughput: throughput } })),
      }),
    );
    await waitUntilActive(client, tableName);
    await deleteTable(client, tableName);
    return undefined;
  }
}

/** Deletes the table and waits until it is gone (dynalite drops its items before it answers). */
async function deleteTable(client: DynamoDBClient, tableName: string, timeoutMs = 30_000): Promise<void> {
  try {
    await client.send(new DeleteTableCommand({ TableName: tableName }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException)) throw err;
  }
  const deadline = Date.now() + timeoutMs;
  while (await describe(client, tableName)) {
    if (Date.now() > deadline) throw new Error(`Table ${tableName} is still there ${timeoutMs} ms after its deletion`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A crash while a dump was written leaves its temporary file: never a dump, so deleted. */
async function removeTemporaryFiles(dir: string): Promise<void> {
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  for (const name of names) if (isTemporaryFile(name)) await rm(join(dir, name), { force: true });
}

export function createTableInput(tableName: string, definition: TableDefinition = TABLE): CreateTableCommandInput {
  const attributes = new Map<string, KeyAttribute>();
  for (const key of [definition.partitionKey, definition.sortKey]) attributes.set(key.name, key);
  for (const index of definition.globalSecondaryIndexes) {
    attributes.set(index.partitionKey.name, index.partitionKey);
    attributes.set(index.sortKey.name, index.sortKey);
  }
  const indexes = definition.globalSecondaryIndexes.map((index) => ({
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: index.sortKey.name, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: index.projection },
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()].map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [
      { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: definition.sortKey.name, KeyType: 'RANGE' },
    ],
    // DynamoDB refuses an empty list: a definition without indexes sends none.
    ...(indexes.length > 0 ? { GlobalSecondaryIndexes: indexes } : {}),
  };
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

function keySignature(schema: readonly { AttributeName?: string; KeyType?: string }[] | undefined): string {
  return (schema ?? []).map((k) => `${k.AttributeName}:${k.KeyType}`).join(',');
}

/** What differs between a table and the one the definition makes: key schema, key types, indexes. */
function differences(table: TableDescription, wanted: CreateTableCommandInput): string[] {
  const changes: string[] = [];
  if (keySignature(table.KeySchema) !== keySignature(wanted.KeySchema)) changes.push('key schema changed');
  const types = (definitions: readonly { AttributeName?: string; AttributeType?: string }[] | undefined) =>
    new Map((definitions ?? []).map((a) => [a.AttributeName, a.AttributeType]));
  const had = types(table.AttributeDefinitions);
  for (const [name, type] of types(wanted.AttributeDefinitions)) {
    if (had.has(name) && had.get(name) !== type) changes.push(`key attribute ${name} changed type`);
  }
  const indexes = new Map((table.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    const found = indexes.get(index.IndexName);
    indexes.delete(index.IndexName);
    if (!found) changes.push(`index ${index.IndexName} added`);
    else if (keySignature(found.KeySchema) !== keySignature(index.KeySchema) || found.Projection?.ProjectionType !== index.Projection?.ProjectionType) {
      changes.push(`index ${index.IndexName} changed`);
    }
  }
  for (const name of indexes.keys()) changes.push(`index ${name} removed`);
  if ((table.LocalSecondaryIndexes ?? []).length > 0) changes.push('local indexes removed');
  return changes;
}

async function waitUntilActive(client: DynamoDBClient, tableName: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await describe(client, tableName);
    const active = table?.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (active) return;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} is not ACTIVE after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
