/**
 * Counters under load, through the ingest core on dynalite: 300 emails, each sent and delivered
 * (one SES event per invocation, as SNS invokes the ingest function), eight invocations at a time.
 * Every event is counted exactly once, no counter write fails, and the writes spread over the shards
 * so that at 1,000 emails a second (four counted events each: sent, delivered, opened, clicked) the
 * busiest counter item would take fewer than 1,000 writes a second, DynamoDB's per-item limit; that
 * spread, not the local store (which never throttles), is what keeps counter writes unthrottled in AWS.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { createEventCounter, MetricCounters } from '../../lambdas/core/adapters/metric-counters';
import { ingestSnsEvent, type IngestDeps } from '../../lambdas/ingest/core';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { sesFixture, snsEvent, withMail } from '../ingest/fixtures';
import { makeWorld } from '../ingest/world';

jest.setTimeout(120_000);

let dynamo: TestDynamo;
beforeAll(async () => { dynamo = await startTestDynamo(); });
afterAll(() => dynamo.close());

const EMAILS = 300;
const PER_ITEM_LIMIT = 1_000;
const EVENTS_PER_SECOND_AT_1000_EMAILS = 4_000;

it('counts 300 emails\' events exactly, with no failed counter write and no hot counter item', async () => {
  const world = await makeWorld(dynamo);
  const writesByItem = new Map<string, number>();
  const recording = {
    send: (command: { input: Record<string, unknown> }) => {
      const k = command.input.Key as { pk?: string; sk?: string } | undefined;
      if (k?.pk?.startsWith('MC#')) writesByItem.set(`${k.pk}/${k.sk}`, (writesByItem.get(`${k.pk}/${k.sk}`) ?? 0) + 1);
      return world.db.doc.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  const deps: IngestDeps = { ...world.deps, counters: createEventCounter(new MetricCounters(createDb(recording, world.table)), world.deps.log) };

  const time = '2026-11-29T10:30:00.000Z';
  const emails = await Promise.all(Array.from({ length: EMAILS }, (_, i) => world.createEmail().then((e) => ({ ...e, ses: `ses-load-${i}` }))));
  const invocations = emails.flatMap((e) => ['send', 'delivery'].map((fixture) => {
    const ses = withMail(sesFixture(fixture), { messageId: e.ses, emailId: e.id, tenantId: e.tenantId });
    ses.mail.timestamp = time;
    if (ses.delivery) ses.delivery.timestamp = time;
    return snsEvent(ses);
  }));
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < invocations.length) await ingestSnsEvent(deps, invocations[next++]!);
  }));

  const counts = await new MetricCounters(world.db).read('tenant-a', '2026-11-29T10', '2026-11-29T10');
  expect(counts.get('2026-11-29T10')).toEqual({ sent: EMAILS, delivered: EMAILS });
  expect(world.logs.filter((l) => l.level === 'error')).toEqual([]);
  const writes = [...writesByItem.values()];
  const total = writes.reduce((s, n) => s + n, 0);
  expect(total).toBe(2 * EMAILS);
  const busiestShare = Math.max(...writes) / total;
  expect(busiestShare * EVENTS_PER_SECOND_AT_1000_EMAILS).toBeLessThan(PER_ITEM_LIMIT);
});
