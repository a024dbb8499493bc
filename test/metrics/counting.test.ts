/**
 * Metric counters through the real ingest core on dynalite (emails whose send did not record their
 * Send event, so ingestion applies it, as when SES's answer to SendEmail was lost): each invocation's applied events are
 * added once (one UpdateItem per counter item they touch), duplicates are not counted again, unique
 * opens and clicks count an email's first only; GET /emails/metrics answers the counts in two time
 * zones.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SNSEvent } from 'aws-lambda';
import { createDb, type Db } from '../../lambdas/core/adapters/dynamo';
import { createEventCounter, MetricCounters } from '../../lambdas/core/adapters/metric-counters';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { ingestSnsEvent, type IngestDeps } from '../../lambdas/ingest/core';
import { metricsRoutes } from '../../lambdas/send/metrics';
import { call, captureLogger, isResendError, type Handler } from '../support/api';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { sesFixture, snsEvent, withMail, type Json } from '../ingest/fixtures';
import { makeWorld, type World } from '../ingest/world';
import { sendResponseEvent } from '../../lambdas/send/core';

let dynamo: TestDynamo;
let world: World;
let deps: IngestDeps;
let counterWrites: Record<string, unknown>[];
let api: Handler;
let key: string;

const INNER: Record<string, string> = { Delivery: 'delivery', Open: 'open', Click: 'click', Bounce: 'bounce' };

/** A fixture for one email at a time of our choosing (the event's own time and the mail's). */
function timed(fixture: string, time: string, email: { id: string; tenantId: string; sesMessageId: string }): Json {
  const ses = withMail(sesFixture(fixture), { messageId: email.sesMessageId, emailId: email.id, tenantId: email.tenantId });
  ses.mail.timestamp = time;
  const inner = INNER[ses.eventType as string];
  if (inner) ses[inner].timestamp = time;
  return ses;
}

/** Several SES events in one SNS invocation. */
const batch = (...events: Json[]): SNSEvent => ({ Records: events.flatMap((e) => snsEvent(e).Records) });

beforeAll(async () => {
  dynamo = await startTestDynamo();
  world = await makeWorld(dynamo);
  counterWrites = [];
  // The counters' client records every write to a counter item (to count them), then sends it.
  const recording = {
    send: (command: { input: Record<string, unknown> }) => {
      const k = command.input.Key as { pk?: string } | undefined;
      if (k?.pk?.startsWith('MC#')) counterWrites.push(command.input);
      return world.db.doc.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
  const countersDb: Db = createDb(recording, world.table);
  deps = { ...world.deps, counters: createEventCounter(new MetricCounters(countersDb), world.deps.log) };

  const tenants = new TenantStore(world.db);
  await tenants.createTenant('acme', 'tenant-a');
  key = (await tenants.createKey('tenant-a')).token;
  api = createApiHandler(
    metricsRoutes({ counters: new MetricCounters(world.db), now: () => Date.parse('2026-11-30T12:00:00Z') }),
    createAuthenticator(tenants), captureLogger().log,
  ) as Handler;
});
afterAll(() => dynamo.close());

describe('metric counters', () => {
  it('counts applied events once, unique opens and clicks once per email, with one write per counter item per invocation', async () => {
    const a = { ...(await world.createEmail()), sesMessageId: 'ses-a' };
    const b = { ...(await world.createEmail()), sesMessageId: 'ses-b' };

    // 22:10Z on Nov 28: send and delivery of a in one invocation (same hour, same shard: one write).
    await ingestSnsEvent(deps, batch(timed('send', '2026-11-28T22:10:00.000Z', a), timed('delivery', '2026-11-28T22:11:00.000Z', a)));
    expect(counterWrites).toHaveLength(1);
    expect(counterWrites[0]).toMatchObject({ Key: { pk: expect.stringMatching(/^MC#tenant-a#\d+$/), sk: 'H#2026-11-28T22' } });

    // Two opens and a click of a on Nov 29 03:xxZ, the click delivered twice; b sent and bounced at 15:xxZ.
    const click = timed('click', '2026-11-29T03:20:00.000Z', a);
    await ingestSnsEvent(deps, batch(timed('open', '2026-11-29T03:05:00.000Z', a), timed('open', '2026-11-29T03:40:00.000Z', a), click));
    await ingestSnsEvent(deps, snsEvent(click));
    await ingestSnsEvent(deps, batch(timed('send', '2026-11-29T15:00:00.000Z', b), timed('bounce-permanent-general', '2026-11-29T15:01:00.000Z', b)));

    const all = await new MetricCounters(world.db).read('tenant-a', '2026-11-28T00', '2026-11-30T23');
    const sum = (metric: string) => [...all.values()].reduce((n, c) => n + ((c as Record<string, number>)[metric] ?? 0), 0);
    expect(Object.fromEntries(['sent', 'delivered', 'opened', 'unique_opened', 'clicked', 'unique_clicked', 'bounced', 'bounced_permanent'].map((m) => [m, sum(m)])))
      .toEqual({ sent: 2, delivered: 1, opened: 2, unique_opened: 1, clicked: 1, unique_clicked: 1, bounced: 1, bounced_permanent: 1 });
    // One write per invocation that applied something (the duplicate click applied nothing).
    expect(counterWrites).toHaveLength(3);
  });

  it('answers GET /emails/metrics per day in two time zones, with the same totals', async () => {
    const query = 'start_date=2026-11-28T00:00:00Z&end_date=2026-11-30T00:00:00Z&dimensions=period&metrics=sent,delivered,opened,unique_opened,bounced,delivery_rate';
    const utc = await call(api, 'GET', `/emails/metrics?${query}`, { key });
    expect(utc.status).toBe(200);
    expect(utc.body).toEqual({
      object: 'metrics',
      start_date: '2026-11-28T00:00:00.000Z',
      end_date: '2026-11-30T00:00:00.000Z',
      metrics: ['sent', 'delivered', 'opened', 'unique_opened', 'bounced', 'delivery_rate'],
      dimensions: ['period'],
      granularity: 'daily',
      totals: { sent: 2, delivered: 1, opened: 2, unique_opened: 1, bounced: 1, delivery_rate: 0.5 },
      data: [
        { period: '2026-11-28T00:00:00.000Z', sent: 1, delivered: 1, opened: 0, unique_opened: 0, bounced: 0, delivery_rate: 1 },
        { period: '2026-11-29T00:00:00.000Z', sent: 1, delivered: 0, opened: 2, unique_opened: 1, bounced: 1, delivery_rate: 0 },
      ],
    });
    // Tokyo (UTC+9): Nov 28 22:10Z and Nov 29 03:xxZ are both Nov 29 there; 15:00Z is Nov 30.
    const tokyo = await call(api, 'GET', `/emails/metrics?${query}&timezone=Asia/Tokyo`, { key });
    expect(tokyo.body.totals).toEqual(utc.body.totals);
    expect(tokyo.body.data.map((r: { period: string; sent: number; opened: number }) => [r.period, r.sent, r.opened])).toEqual([
      ['2026-11-28T00:00:00.000Z', 0, 0],
      ['2026-11-28T15:00:00.000Z', 1, 2],
      ['2026-11-29T15:00:00.000Z', 1, 0],
    ]);
    // Without dimensions: totals only, every metric.
    const totals = await call(api, 'GET', '/emails/metrics?start_date=2026-11-28&end_date=2026-11-29', { key });
    expect(totals.body.data).toBeUndefined();
    expect(totals.body.totals).toMatchObject({ sent: 2, clicked: 1, unique_clicked: 1, bounced_permanent: 1, received: 0, click_rate: 1 });
  });

  it.each([
    ['timezone=Mars/Olympus', 'timezone'],
    ['granularity=yearly', 'granularity'],
    ['metrics=sent,kisses', 'kisses'],
    ['dimensions=domain', 'period'],
    ['email_id=00000000-0000-4000-8000-000000000000', 'email_id'],
    ['start_date=2026-11-30&end_date=2026-11-01', 'start_date'],
    ['start_date=yesterday', 'start_date'],
    ['start_date=2020-01-01', '400'],
  ])('refuses %s with a 422 in Resend\'s format', async (query, mentions) => {
    const res = await call(api, 'GET', `/emails/metrics?${query}`, { key });
    expect(res.status).toBe(422);
    expect(isResendError(res.body)).toBe(true);
    expect(res.body.message).toContain(mentions);
  });

  it('logs a failed counter write and still applies the events', async () => {
    const c = { ...(await world.createEmail()), sesMessageId: 'ses-c' };
    const captured = captureLogger();
    const failing = createEventCounter({ count: async () => { throw new Error('throttled'); } }, captured.log);
    await expect(ingestSnsEvent({ ...deps, counters: failing }, snsEvent(timed('send', '2026-11-29T16:00:00.000Z', c)))).resolves.toEqual(['applied']);
    expect(captured.lines.some((l) => l.includes('metric counters not updated'))).toBe(true);
  });

  it('counts the Send event the send applied with the next event ingestion applies: in the send\'s hour, in the same counter write, once', async () => {
    const d = { ...(await world.createEmail()), sesMessageId: 'ses-d' };
    // What the send does after SES answers (send/core.ts sendToSes): STATUS with the Send event, left uncounted.
    const sentAt = Date.parse('2026-10-05T08:59:59.000Z');
    const bySend = await world.status.apply({ emailId: d.id, tenantId: d.tenantId }, sendResponseEvent('ses-d', sentAt, ['recipient@example.com']), 'message', { assumeAbsent: true, leaveSentUncounted: true });
    expect(bySend).toMatchObject({ outcome: 'applied', sentUncounted: true });
    const before = counterWrites.length;

    // SES's Send event: found applied, so nothing is written or counted.
    await expect(ingestSnsEvent(deps, snsEvent(timed('send', '2026-10-05T08:59:59.500Z', d)))).resolves.toEqual(['duplicate']);
    expect(counterWrites).toHaveLength(before);
    // The delivery counts itself and the send, each in its hour (two counter items here, one write each).
    await expect(ingestSnsEvent(deps, snsEvent(timed('delivery', '2026-10-05T09:00:01.000Z', d)))).resolves.toEqual(['applied']);
    expect(counterWrites.slice(before).map((w) => (w.Key as { sk: string }).sk).sort()).toEqual(['H#2026-10-05T08', 'H#2026-10-05T09']);
    // Counted once: the mark went with the delivery's write; a redelivery and a later open count only themselves.
    expect((await world.items(d.id)).find((i) => i.sk === 'STATUS')).not.toHaveProperty('su');
    await ingestSnsEvent(deps, snsEvent(timed('delivery', '2026-10-05T09:00:01.000Z', d)));
    await ingestSnsEvent(deps, snsEvent(timed('open', '2026-10-05T09:10:00.000Z', d)));
    const counts = await new MetricCounters(world.db).read('tenant-a', '2026-10-05T00', '2026-10-05T23');
    expect(Object.fromEntries(counts)).toEqual({ '2026-10-05T08': { sent: 1 }, '2026-10-05T09': { delivered: 1, opened: 1, unique_opened: 1 } });
  });

  it('tells the send to count its Send event itself when an SES event overtook it', async () => {
    const e = { ...(await world.createEmail()), sesMessageId: 'ses-e' };
    await expect(ingestSnsEvent(deps, snsEvent(timed('delivery', '2026-10-06T10:00:01.000Z', e)))).resolves.toEqual(['applied']);
    const bySend = await world.status.apply({ emailId: e.id, tenantId: e.tenantId }, sendResponseEvent('ses-e', Date.parse('2026-10-06T10:00:00.000Z'), ['recipient@example.com']), 'message', { assumeAbsent: true, leaveSentUncounted: true });
    // The delivery may be the email's last event: no later write would count it.
    expect(bySend).toMatchObject({ outcome: 'applied', sentUncounted: false });
    expect((await world.items(e.id)).find((i) => i.sk === 'STATUS')).not.toHaveProperty('su');
  });
});
