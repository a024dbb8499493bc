import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createTableInput, ensureTable, startDynamo } from '../../lambdas/local/dynamodb';
import { TABLE } from '../../lambdas/core/table';
import { localClientConfig, startTestDynamo, type TestDynamo } from '../support/services';

describe('local DynamoDB (dynalite)', () => {
  let dynamo: TestDynamo;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });

  afterAll(async () => {
    await dynamo.close();
  });

  it('listens on 127.0.0.1 only', () => {
    // Assess
    expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('creates the table from TABLE: pk/sk, both GSIs with their projections, on demand, ACTIVE', async () => {
    // Prepare
    const name = await dynamo.freshTable();

    // Act
    const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: name }));

    // Assess
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey.name, KeyType: 'RANGE' },
    ]);
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((i) => [i.IndexName, i]));
    expect(Object.keys(indexes).sort()).toEqual(TABLE.globalSecondaryIndexes.map((i) => i.indexName).sort());
    for (const index of TABLE.globalSecondaryIndexes) {
      expect(indexes[index.indexName]?.IndexStatus).toBe('ACTIVE');
      expect(indexes[index.indexName]?.Projection?.ProjectionType).toBe(index.projection);
      expect(indexes[index.indexName]?.KeySchema).toEqual([
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ]);
    }
  });

  it('ensureTable is idempotent', async () => {
    // Prepare
    const name = await dynamo.freshTable();
    await dynamo.doc.send(new PutCommand({ TableName: name, Item: { pk: 'T#1', sk: 'TENANT' } }));

    // Act
    await ensureTable(dynamo.client, name);

    // Assess
    const { TableNames } = await dynamo.client.send(new ListTablesCommand({}));
    expect(TableNames?.filter((t) => t === name)).toHaveLength(1);
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: name, Key: { pk: 'T#1', sk: 'TENANT' } }));
    expect(Item).toEqual({ pk: 'T#1', sk: 'TENANT' });
  });

  it('ensureTable rebuilds a table built from another definition with TABLE, keeping its items', async () => {
    // Prepare: a table with no index at all, holding an item that carries gsi1's keys.
    const name = `old-${Date.now()}`;
    await dynamo.client.send(new CreateTableCommand(createTableInput(name, { ...TABLE, globalSecondaryIndexes: [] })));
    await dynamo.doc.send(new PutCommand({ TableName: name, Item: { pk: 'K#a', sk: 'KEY', gsi1pk: 'T#1#KEYS', gsi1sk: '2024-01-01' } }));
    const rebuildDir = await mkdtemp(path.join(tmpdir(), 'sesame-rebuild-'));

    // Act
    const { rebuilt } = await ensureTable(dynamo.client, name, { rebuildDir });

    // Assess
    expect(rebuilt?.items).toBe(1);
    expect(rebuilt?.changes).toEqual(TABLE.globalSecondaryIndexes.map((i) => `index ${i.indexName} added`));
    const { Items } = await dynamo.doc.send(
      new QueryCommand({ TableName: name, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': 'T#1#KEYS' } }),
    );
    expect(Items).toEqual([{ pk: 'K#a', sk: 'KEY', gsi1pk: 'T#1#KEYS', gsi1sk: '2024-01-01' }]);
    await rm(rebuildDir, { recursive: true, force: true });
  });

  it('ensureTable without a folder for the dump refuses a table built from another definition, and leaves it as it is', async () => {
    // Prepare
    const name = `old-${Date.now()}`;
    await dynamo.client.send(new CreateTableCommand(createTableInput(name, { ...TABLE, globalSecondaryIndexes: [] })));

    // Act
    const result = ensureTable(dynamo.client, name);

    // Assess
    await expect(result).rejects.toThrow(/index gsi1 added.*no folder was given to rebuild it in/);
    const { Table } = await dynamo.client.send(new DescribeTableCommand({ TableName: name }));
    expect(Table?.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('fails a conditional put with ConditionalCheckFailedException', async () => {
    // Prepare
    const name = await dynamo.freshTable();
    const item = { pk: 'E#1', sk: 'STATUS', last_event: 'sent' };
    await dynamo.doc.send(new PutCommand({ TableName: name, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));

    // Act
    const second = dynamo.doc.send(
      new PutCommand({ TableName: name, Item: { ...item, last_event: 'queued' }, ConditionExpression: 'attribute_not_exists(pk)' }),
    );

    // Assess
    await expect(second).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: name, Key: { pk: 'E#1', sk: 'STATUS' } }));
    expect(Item?.last_event).toBe('sent');
  });

  it('queries both GSIs: gsi1 returns whole items, gsi2 keys only', async () => {
    // Prepare
    const name = await dynamo.freshTable();
    await dynamo.doc.send(new PutCommand({ TableName: name, Item: { pk: 'K#a', sk: 'KEY', gsi1pk: 'T#1#KEYS', gsi1sk: '2024-01-02', label: 'second' } }));
    await dynamo.doc.send(new PutCommand({ TableName: name, Item: { pk: 'K#b', sk: 'KEY', gsi1pk: 'T#1#KEYS', gsi1sk: '2024-01-01', label: 'first' } }));
    await dynamo.doc.send(new PutCommand({ TableName: name, Item: { pk: 'K#c', sk: 'KEY', gsi1pk: 'T#2#KEYS', gsi1sk: '2024-01-01', label: 'other tenant' } }));
    await dynamo.doc.send(new PutCommand({ TableName: name, Item: { pk: 'E#1', sk: 'META', gsi2pk: 'T#1#E#3', gsi2sk: '2024-01-01T00:00:00Z', subject: 'Hi' } }));

    // Act
    const keys = await dynamo.doc.send(
      new QueryCommand({ TableName: name, IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': 'T#1#KEYS' } }),
    );
    const emails = await dynamo.doc.send(
      new QueryCommand({ TableName: name, IndexName: 'gsi2', KeyConditionExpression: 'gsi2pk = :p', ExpressionAttributeValues: { ':p': 'T#1#E#3' } }),
    );

    // Assess
    expect(keys.Items?.map((i) => i.label)).toEqual(['first', 'second']);
    expect(emails.Items).toEqual([{ pk: 'E#1', sk: 'META', gsi2pk: 'T#1#E#3', gsi2sk: '2024-01-01T00:00:00Z' }]);
  });
});

describe('local DynamoDB persistence', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'sesame-dynamo-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps tables and items across a restart on the same data folder', async () => {
    // Prepare
    const first = await startDynamo({ dataDir });
    const firstClient = new DynamoDBClient(localClientConfig(first.endpoint));
    await ensureTable(firstClient, 'sesame');
    await DynamoDBDocumentClient.from(firstClient).send(new PutCommand({ TableName: 'sesame', Item: { pk: 'T#1', sk: 'TENANT', name: 'Acme' } }));
    firstClient.destroy();
    await first.close();

    // Act
    const second = await startDynamo({ dataDir });
    const secondClient = new DynamoDBClient(localClientConfig(second.endpoint));
    try {
      await ensureTable(secondClient, 'sesame');
      const { Item } = await DynamoDBDocumentClient.from(secondClient).send(new GetCommand({ TableName: 'sesame', Key: { pk: 'T#1', sk: 'TENANT' } }));

      // Assess
      expect(Item).toEqual({ pk: 'T#1', sk: 'TENANT', name: 'Acme' });
    } finally {
      secondClient.destroy();
      await second.close();
    }
  });

  it('starts empty without a data folder', async () => {
    // Prepare
    const memory = await startDynamo();
    const client = new DynamoDBClient(localClientConfig(memory.endpoint));
    try {
      // Act
      const { TableNames } = await client.send(new ListTablesCommand({}));

      // Assess
      expect(TableNames).toEqual([]);
    } finally {
      client.destroy();
      await memory.close();
    }
  });
});

describe('local DynamoDB on a data folder, killed', () => {
  it('keeps every acknowledged write through SIGKILL (LevelDB hands each write to the system before answering)', async () => {
    // Prepare: a process that writes and reports each acknowledged put.
    const dir = await mkdtemp(path.join(tmpdir(), 'sesame-dynalite-kill-'));
    const root = path.resolve(__dirname, '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/support/dynamo-writer.ts'), dir, '25'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));

    // Act: killed right after the last acknowledgement, without any chance to close.
    const deadline = Date.now() + 20_000;
    while (!out.includes('acknowledged 25') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await exited;
    const reopened = await startDynamo({ port: 0, dataDir: dir });
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(reopened.endpoint)));
    try {
      const found = await Promise.all(Array.from({ length: 25 }, (_, i) => doc.send(new GetCommand({ TableName: 'crash', Key: { pk: `item-${i + 1}`, sk: 'META' } }))));

      // Assess
      expect(out).toContain('acknowledged 25');
      expect(found.map((f) => f.Item?.n)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    } finally {
      doc.destroy();
      await reopened.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
