/**
 * Local mode on a data folder whose table was made before an index existed (the console's sparse
 * gsi3): dynalite cannot add an index, so ensureTable rebuilds the table and keeps every item, also
 * when the rebuild is killed (SIGKILL) after any of its steps.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, ensureTable, startDynamo, type LocalDynamo } from '../../lambdas/local/dynamodb';
import { countItems, dumpFile } from '../../lambdas/local/table-dump';
import { TABLE, keys, type TableDefinition } from '../../lambdas/core/table';
import { localClientConfig } from '../support/services';

type Item = Record<string, AttributeValue>;

const SAMPLE_COUNT = 64;

/** The table definition before the console's sparse index. */
const BEFORE_GSI3: TableDefinition = { ...TABLE, globalSecondaryIndexes: TABLE.globalSecondaryIndexes.filter((i) => i.indexName !== 'gsi3') };

const s = (value: string): AttributeValue => ({ S: value });

/** Items of every kind of attribute value the table holds (SAMPLE_COUNT), two of them on gsi3's keys. */
function sampleItems(): Item[] {
  const bounced = keys.emailStatus('em_bounced');
  const complained = keys.emailStatus('em_complained');
  const items: Item[] = [
    { pk: s(bounced.pk), sk: s(bounced.sk), version: { N: '3' }, gsi2pk: s('M#msg-1'), gsi2sk: s('MSG'), gsi3pk: s(keys.tenantProblems('t1', 'bounced')), gsi3sk: s('2026-11-01T10:00:00.000Z#em_bounced') },
    { pk: s(complained.pk), sk: s(complained.sk), version: { N: '5' }, gsi3pk: s(keys.tenantProblems('t1', 'complained')), gsi3sk: s('2026-11-02T10:00:00.000Z#em_complained') },
    { pk: s('K#key-1'), sk: s('KEY'), gsi1pk: s(keys.tenantKeys('t1')), gsi1sk: s('2026-10-01#key-1'), name: s('Production') },
    {
      pk: s('E#em_body'), sk: s('BODY#000'),
      chunk: { B: new Uint8Array([0x1f, 0x8b, 0, 255, 10, 13]) },
      digests: { BS: [new Uint8Array([1, 2]), new Uint8Array([3])] },
      sizes: { NS: ['1', '2.5'] },
      tags: { SS: ['a', 'b'] },
      nested: { M: { list: { L: [{ B: new Uint8Array([7]) }, { BOOL: true }, { NULL: true }, { M: { n: { N: '-1' } } }] } } },
    },
  ];
  // Four items of 300 KB: more than one Scan page (1 MB), so that the dump pages.
  for (let n = 0; n < 4; n++) items.push({ pk: s(`E#em_large_${n}`), sk: s('BODY#000'), text: s(String(n).repeat(300_000)) });
  for (let n = 0; n < 56; n++) items.push({ pk: s(`E#em_${n}`), sk: s('META'), gsi2pk: s(`T#t1#E#${n % 8}`), gsi2sk: s(`2026-11-01T00:00:${String(n).padStart(2, '0')}Z`), subject: s(`Hello ${n}`) });
  return items;
}

const byKey = (a: Item, b: Item) => `${a.pk!.S}|${a.sk!.S}`.localeCompare(`${b.pk!.S}|${b.sk!.S}`);

async function scanAll(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items.sort(byKey);
}

/** dynalite on `<dir>/dynamodb`, as local mode starts it, and a client. */
async function open(dir: string): Promise<{ dynamo: LocalDynamo; client: DynamoDBClient; close(): Promise<void> }> {
  const dynamo = await startDynamo({ port: 0, dataDir: path.join(dir, 'dynamodb') });
  const client = new DynamoDBClient(localClientConfig(dynamo.endpoint));
  return { dynamo, client, close: async () => { client.destroy(); await dynamo.close(); } };
}

/** A data folder whose `sesame` table was made from BEFORE_GSI3 and holds the sample items. */
async function olderDataFolder(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sesame-rebuild-'));
  const older = await open(dir);
  try {
    await older.client.send(new CreateTableCommand(createTableInput('sesame', BEFORE_GSI3)));
    await ensureTable(older.client, 'sesame', { definition: BEFORE_GSI3 });
    for (const item of sampleItems()) await older.client.send(new PutItemCommand({ TableName: 'sesame', Item: item }));
  } finally {
    await older.close();
  }
  return dir;
}

const rebuildDir = (dir: string) => path.join(dir, 'dynamodb-rebuild');

async function indexNames(client: DynamoDBClient): Promise<string[]> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: 'sesame' }));
  return (Table?.GlobalSecondaryIndexes ?? []).filter((i) => i.IndexStatus === 'ACTIVE').map((i) => i.IndexName!).sort();
}

async function problemKeys(client: DynamoDBClient, status: string): Promise<Item[]> {
  const { Items } = await client.send(
    new QueryCommand({ TableName: 'sesame', IndexName: 'gsi3', KeyConditionExpression: 'gsi3pk = :p', ExpressionAttributeValues: { ':p': s(keys.tenantProblems('t1', status)) } }),
  );
  return Items ?? [];
}

describe('a data folder whose table lacks an index', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('is rebuilt with the index at start, every item kept as it was, and the new index answers', async () => {
    // Prepare
    const dir = await olderDataFolder();
    dirs.push(dir);
    const local = await open(dir);
    try {
      // Act
      const { rebuilt } = await ensureTable(local.client, 'sesame', { rebuildDir: rebuildDir(dir) });

      // Assess
      expect(rebuilt).toEqual({ items: SAMPLE_COUNT, changes: ['index gsi3 added'], summary: `Local table sesame upgraded to the current table definition (index gsi3 added): ${SAMPLE_COUNT} items kept.` });
      expect(await indexNames(local.client)).toEqual(['gsi1', 'gsi2', 'gsi3']);
      expect((await local.client.send(new ScanCommand({ TableName: 'sesame' }))).LastEvaluatedKey).toBeDefined(); // the items span pages
      expect(await scanAll(local.client, 'sesame')).toEqual(sampleItems().sort(byKey));
      expect(await problemKeys(local.client, 'bounced')).toEqual([
        { pk: s('E#em_bounced'), sk: s('STATUS'), gsi3pk: s('T#t1#P#bounced'), gsi3sk: s('2026-11-01T10:00:00.000Z#em_bounced') },
      ]);
      expect((await problemKeys(local.client, 'complained')).map((i) => i.pk)).toEqual([s('E#em_complained')]);
      const { Items: keyItems } = await local.client.send(
        new QueryCommand({ TableName: 'sesame', IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': s('T#t1#KEYS') } }),
      );
      expect(keyItems?.map((i) => i.name)).toEqual([s('Production')]);
      expect(await readdir(rebuildDir(dir))).toEqual([]);
      await expect(ensureTable(local.client, 'sesame', { rebuildDir: rebuildDir(dir) })).resolves.toEqual({});
    } finally {
      await local.close();
    }
  });

  it('keeps the rebuilt table and its items across a restart', async () => {
    // Prepare
    const dir = await olderDataFolder();
    dirs.push(dir);
    const first = await open(dir);
    await ensureTable(first.client, 'sesame', { rebuildDir: rebuildDir(dir) });
    await first.close();

    // Act
    const second = await open(dir);
    try {
      const result = await ensureTable(second.client, 'sesame', { rebuildDir: rebuildDir(dir) });

      // Assess
      expect(result).toEqual({});
      expect(await scanAll(second.client, 'sesame')).toEqual(sampleItems().sort(byKey));
      expect(await problemKeys(second.client, 'bounced')).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it('ignores the temporary file of a dump that was never finished, and rebuilds from the table', async () => {
    // Prepare: what a kill during the dump's writing leaves (the table untouched, half a temporary file).
    const dir = await olderDataFolder();
    dirs.push(dir);
    await mkdir(rebuildDir(dir));
    const temporary = `${dumpFile(rebuildDir(dir), 'sesame')}.4242.0badf00d.tmp`;
    await writeFile(temporary, '{"table":"sesame","version":1}\n{"item":{"pk":{"S":"E#ghost"},"sk":{"S":"META"}}}\n');
    const local = await open(dir);
    try {
      // Act
      const { rebuilt } = await ensureTable(local.client, 'sesame', { rebuildDir: rebuildDir(dir) });

      // Assess
      expect(rebuilt?.changes).toEqual(['index gsi3 added']);
      expect(await scanAll(local.client, 'sesame')).toEqual(sampleItems().sort(byKey));
      expect(existsSync(temporary)).toBe(false);
    } finally {
      await local.close();
    }
  });
});

/** Runs the rebuild in a process of its own, killed as soon as it reports the step. */
async function killedAt(dir: string, step: string): Promise<string> {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/support/table-rebuilder.ts'), dir, step], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!out.includes(`paused at ${step}`) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await exited;
  return out;
}

describe('a rebuild killed (SIGKILL) after a step', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it.each([
    ['dumped', SAMPLE_COUNT],
    ['deleted', undefined],
    ['loaded-batch', 25],
  ])('after %s: the next start finishes it from the dump, with every item and the new index', async (step, itemsInTableAtKill) => {
    // Prepare
    const dir = await olderDataFolder();
    dirs.push(dir);
    const out = await killedAt(dir, step);

    // Act
    const local = await open(dir);
    try {
      const { Table } = await local.client.send(new DescribeTableCommand({ TableName: 'sesame' })).catch(() => ({ Table: undefined }));
      const atKill = Table ? await countItems(local.client, 'sesame') : undefined;
      const dumpedAtKill = existsSync(dumpFile(rebuildDir(dir), 'sesame'));
      const { rebuilt } = await ensureTable(local.client, 'sesame', { rebuildDir: rebuildDir(dir) });

      // Assess
      expect(out).toContain(`paused at ${step}`);
      expect(dumpedAtKill).toBe(true);
      expect(atKill).toBe(itemsInTableAtKill);
      expect(rebuilt).toEqual({ items: SAMPLE_COUNT, changes: [], summary: `Local table sesame upgraded to the current table definition (finished an interrupted upgrade): ${SAMPLE_COUNT} items kept.` });
      expect(await indexNames(local.client)).toEqual(['gsi1', 'gsi2', 'gsi3']);
      expect(await scanAll(local.client, 'sesame')).toEqual(sampleItems().sort(byKey));
      expect(await problemKeys(local.client, 'bounced')).toHaveLength(1);
      expect(existsSync(dumpFile(rebuildDir(dir), 'sesame'))).toBe(false);
    } finally {
      await local.close();
    }
  });
});

describe('a table left CREATING by a kill during its creation', () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

  it('is replaced at the next start of a rebuild, which then puts every item back', async () => {
    // Prepare: a rebuild killed once the old table was deleted, then a creation of the table killed midway.
    const dir = await olderDataFolder();
    dirs.push(dir);
    await killedAt(dir, 'deleted');
    expect(await killedAt(dir, 'creating')).toContain('paused at creating');
    const local = await open(dir);
    try {
      const { Table } = await local.client.send(new DescribeTableCommand({ TableName: 'sesame' }));

      // Act
      const { rebuilt } = await ensureTable(local.client, 'sesame', { rebuildDir: rebuildDir(dir) });

      // Assess
      expect(Table?.TableStatus).toBe('CREATING');
      expect(rebuilt?.items).toBe(SAMPLE_COUNT);
      expect(await indexNames(local.client)).toEqual(['gsi1', 'gsi2', 'gsi3']);
      expect(await scanAll(local.client, 'sesame')).toEqual(sampleItems().sort(byKey));
    } finally {
      await local.close();
    }
  });

  it('is replaced at the next first start, which then uses the table', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'sesame-rebuild-'));
    dirs.push(dir);
    expect(await killedAt(dir, 'creating')).toContain('paused at creating');
    const local = await open(dir);
    try {
      // Act
      const result = await ensureTable(local.client, 'sesame', { rebuildDir: rebuildDir(dir) });
      await local.client.send(new PutItemCommand({ TableName: 'sesame', Item: { pk: s('T#1'), sk: s('TENANT') } }));

      // Assess
      expect(result).toEqual({});
      expect(await indexNames(local.client)).toEqual(['gsi1', 'gsi2', 'gsi3']);
      expect(await countItems(local.client, 'sesame')).toBe(1);
    } finally {
      await local.close();
    }
  });
});
