/**
 * The shared DynamoDB plumbing against dynalite: batchGetAll (chunks of 100, unprocessed keys asked
 * again) and queryShardsMerged (one ordered list over shard partitions).
 */
import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, createDb, type Db, queryShardsMerged } from '../../lambdas/core/adapters/dynamo';
import { startTestDynamo, type TestDynamo } from '../support/services';

describe('shared DynamoDB plumbing', () => {
  let dynamo: TestDynamo;
  let db: Db;

  beforeAll(async () => {
    dynamo = await startTestDynamo();
    db = createDb(dynamo.doc, await dynamo.freshTable());
    const items = Array.from({ length: 250 }, (_, i) => ({ pk: `P#${i % 3}`, sk: `S#${String(i).padStart(4, '0')}`, n: i, odd: i % 2 === 1 }));
    for (let i = 0; i < items.length; i += 25) {
      await dynamo.doc.send(new BatchWriteCommand({ RequestItems: { [db.table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
  });
  afterAll(() => dynamo.close());

  const key = (i: number) => ({ pk: `P#${i % 3}`, sk: `S#${String(i).padStart(4, '0')}` });

  /**
   * The real client, except that each BatchGetItem answers only its first `served` keys and returns
   * the rest as UnprocessedKeys, as DynamoDB does under throttling (dynalite never does).
   */
  function stingy(served: number, calls: number[]): Db {
    const doc = {
      send: async (command: unknown) => {
        if (!(command instanceof BatchGetCommand)) return dynamo.doc.send(command as never);
        const request = command.input.RequestItems![db.table]!;
        const asked = request.Keys!;
        calls.push(asked.length);
        const res = served === 0 ? { Responses: { [db.table]: [] } } : await dynamo.doc.send(new BatchGetCommand({ RequestItems: { [db.table]: { ...request, Keys: asked.slice(0, served) } } }));
        return { ...res, UnprocessedKeys: asked.length > served ? { [db.table]: { Keys: asked.slice(served) } } : {} };
      },
    } as unknown as DynamoDBDocumentClient;
    return createDb(doc, db.table);
  }

  it('gets every existing item of 250 keys in chunks of 100, leaving out the missing ones', async () => {
    const items = await batchGetAll(db, [...Array.from({ length: 250 }, (_, i) => key(i)), { pk: 'P#0', sk: 'missing' }], { projection: 'n' });
    expect(items.map((i) => i.n as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it('asks again for unprocessed keys until every one is answered', async () => {
    const calls: number[] = [];
    const items = await batchGetAll(stingy(40, calls), Array.from({ length: 100 }, (_, i) => key(i)), { sleep: async () => undefined });
    expect(items).toHaveLength(100);
    expect(calls).toEqual([100, 60, 20]);
  });

  it('throws rather than answer an incomplete set when keys stay unprocessed', async () => {
    const calls: number[] = [];
    await expect(batchGetAll(stingy(0, calls), [key(1)], { sleep: async () => undefined })).rejects.toThrow('unprocessed');
    expect(calls.length).toBeGreaterThan(2);
  });

  it('merges shards into one ordered page, tells whether more exist, and pages a shard on when items are left out', async () => {
    const shards = [0, 1, 2].map((p) => ({ KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `P#${p}` } }));
    const newest = await queryShardsMerged(db, { shards, orderKey: (i) => i.sk as string, descending: true, limit: 5 });
    expect(newest.items.map((i) => i.n)).toEqual([249, 248, 247, 246, 245]);
    expect(newest.hasMore).toBe(true);

    const oldestOdd = await queryShardsMerged(db, { shards, orderKey: (i) => i.sk as string, descending: false, limit: 4, keep: (i) => i.odd === true });
    expect(oldestOdd.items.map((i) => i.n)).toEqual([1, 3, 5, 7]);

    const filtered = [0, 1, 2].map((p) => ({
      KeyConditionExpression: 'pk = :pk', FilterExpression: 'n >= :from', ExpressionAttributeValues: { ':pk': `P#${p}`, ':from': 240 },
    }));
    const tail = await queryShardsMerged(db, { shards: filtered, orderKey: (i) => i.sk as string, descending: false, limit: 3 });
    expect(tail).toMatchObject({ hasMore: true, items: [{ n: 240 }, { n: 241 }, { n: 242 }] });

    const all = await queryShardsMerged(db, { shards, orderKey: (i) => i.sk as string, descending: false, limit: 500, keep: (i) => (i.n as number) >= 245 });
    expect(all).toMatchObject({ hasMore: false });
    expect(all.items.map((i) => i.n)).toEqual([245, 246, 247, 248, 249]);
  });
});
