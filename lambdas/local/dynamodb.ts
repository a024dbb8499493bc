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
 * - no UpdateTable that adds a GSI: a persisted table whose indexes differ from TABLE is refused
 *   with a message saying so, rather than silently used.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { TABLE, type KeyAttribute, type TableDefinition } from '../core/table';
import { closeServer, listenOnLoopback } from './listen';

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

/**
 * Creates `tableName` from TABLE (pk/sk, both GSIs with their projections, on-demand billing) when
 * it does not exist, and waits until the table and its indexes are ACTIVE. Idempotent, and safe
 * when two callers race. TTL is not enabled: dynalite has no UpdateTimeToLive (see above).
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const existing = await describe(client, tableName);
  if (existing) {
    assertMatches(existing, tableName);
  } else {
    try {
      await client.send(new CreateTableCommand(createTableInput(tableName)));
    } catch (err) {
      if (!(err instanceof ResourceInUseException)) throw err;
    }
  }
  await waitUntilActive(client, tableName);
}

export function createTableInput(tableName: string, definition: TableDefinition = TABLE): CreateTableCommandInput {
  const attributes = new Map<string, KeyAttribute>();
  for (const key of [definition.partitionKey, definition.sortKey]) attributes.set(key.name, key);
  for (const index of definition.globalSecondaryIndexes) {
    attributes.set(index.partitionKey.name, index.partitionKey);
    attributes.set(index.sortKey.name, index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes.values()].map((a) => ({ AttributeName: a.name, AttributeType: a.type })),
    KeySchema: [
      { AttributeName: definition.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: definition.sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projection },
    })),
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

/** A persisted table built from an older TABLE would make the code fail in confusing ways later: say so now. */
function assertMatches(table: TableDescription, tableName: string): void {
  const wanted = createTableInput(tableName);
  const problems: string[] = [];
  if (keySignature(table.KeySchema) !== keySignature(wanted.KeySchema)) problems.push('key schema');
  const indexes = new Map((table.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
  for (const index of wanted.GlobalSecondaryIndexes ?? []) {
    const found = indexes.get(index.IndexName);
    if (!found) problems.push(`missing index ${index.IndexName}`);
    else if (keySignature(found.KeySchema) !== keySignature(index.KeySchema) || found.Projection?.ProjectionType !== index.Projection?.ProjectionType) {
      problems.push(`index ${index.IndexName} differs`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `Table ${tableName} exists but does not match the table definition (${problems.join('; ')}). ` +
        'Local DynamoDB cannot add indexes to an existing table: remove the local data folder to recreate it.',
    );
  }
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
