/**
 * `npm start` on a data folder written by a version before the console's sparse index (gsi3): its
 * table has no gsi3 and its STATUS items carry no gsi3 attributes. Local mode upgrades the table at
 * start, says so in one line, and keeps the key, the domain and every email; emails that bounce from
 * then on are listed by `GET /emails?status=bounced` (as in AWS, earlier ones are not indexed).
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { createTableInput, ensureTable, startDynamo } from '../../lambdas/local/dynamodb';
import { TABLE } from '../../lambdas/core/table';
import { localClientConfig } from '../support/services';
import { startLocalMode, type RunningLocal } from '../support/local-mode';

jest.setTimeout(120_000);

const API_KEY = 're_upgradetest_0123456789abcdefghijklmn';
const BEFORE_GSI3 = { ...TABLE, globalSecondaryIndexes: TABLE.globalSecondaryIndexes.filter((i) => i.indexName !== 'gsi3') };

let local: RunningLocal | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'sesame-upgrade-'));
afterAll(async () => {
  await local?.kill();
  await rm(dataDir, { recursive: true, force: true });
});

const start = () => startLocalMode({ dataDir, apiKey: API_KEY, extraEnv: { POWERTOOLS_LOG_LEVEL: 'ERROR' } });

async function api(path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${local!.apiUrl}${path}`, { ...init, headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' } });
  return { status: res.status, body: await res.json() };
}

async function sendAndSettle(to: string, final: string): Promise<string> {
  const sent = await api('/emails', { method: 'POST', body: JSON.stringify({ from: 'Upgrade <hello@example.com>', to, subject: `To ${to}`, text: 'Hi' }) });
  expect(sent.status).toBe(200);
  const deadline = Date.now() + 30_000;
  while ((await api(`/emails/${sent.body.id}`)).body.last_event !== final) {
    if (Date.now() > deadline) throw new Error(`${sent.body.id} did not reach ${final}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return sent.body.id as string;
}

/** Turns the folder's table into the one an older version made: no gsi3, no gsi3 attributes. */
async function downgradeTable(): Promise<number> {
  const dynamo = await startDynamo({ dataDir: join(dataDir, 'dynamodb') });
  const client = new DynamoDBClient(localClientConfig(dynamo.endpoint));
  try {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: 'sesame', ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    await client.send(new DeleteTableCommand({ TableName: 'sesame' }));
    while (await client.send(new DescribeTableCommand({ TableName: 'sesame' })).then(() => true, () => false)) await new Promise((r) => setTimeout(r, 25));
    await client.send(new CreateTableCommand(createTableInput('sesame', BEFORE_GSI3)));
    await ensureTable(client, 'sesame', { definition: BEFORE_GSI3 });
    for (const { gsi3pk: _pk, gsi3sk: _sk, ...item } of items) await client.send(new PutItemCommand({ TableName: 'sesame', Item: item }));
    return items.length;
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

it('upgrades the table of an older data folder at start and keeps the key, the domain and every email', async () => {
  // Prepare: a folder with emails, then its table as an older version left it.
  local = await start();
  const bouncedBefore = await sendAndSettle('bounced@resend.dev', 'bounced');
  const deliveredBefore = await sendAndSettle('delivered@resend.dev', 'delivered');
  expect(await local.stop()).toBe(0);
  local = undefined;
  const items = await downgradeTable();

  // Act
  local = await start();
  const listed = await api('/emails');
  const domains = await api('/domains');
  const bouncedAfter = await sendAndSettle('bounced@resend.dev', 'bounced');
  const problems = await api('/emails?status=bounced');

  // Assess
  expect(local.output()).toContain(`Local table sesame upgraded to the current table definition (index gsi3 added): ${items} items kept.`);
  expect(listed.status).toBe(200);
  expect(listed.body.data.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining([bouncedBefore, deliveredBefore]));
  expect((await api(`/emails/${bouncedBefore}`)).body.last_event).toBe('bounced');
  expect(domains.body.data.map((d: { name: string }) => d.name)).toEqual(['example.com']);
  expect(problems.body.data.map((e: { id: string }) => e.id)).toEqual([bouncedAfter]);
  expect(await local.stop()).toBe(0);
  local = undefined;
});
