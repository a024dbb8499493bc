/**
 * Ingestion's metrics and the events it drops: an event-publishing event without Sesame's tags is
 * mail sent through a Sesame configuration set outside Sesame (the SES console's test email). It
 * matches no email, ever: it is counted and dropped, never retried into a DLQ. Identity notifications
 * never carry tags and are still found by their SES MessageId.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { publishMetrics } from '../../lambdas/core/metrics';
import { createIngestHandler, ingestSnsEvent } from '../../lambdas/ingest/core';
import { emfLines, metricValue, testMetrics } from '../support/emf';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { FIXTURE_MESSAGE_ID, sesFixture, snsEvent, untaggedSesFixture } from './fixtures';
import { makeWorld } from './world';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

const context = { awsRequestId: 'req-1' } as Context;

describe('ingest: events of mail Sesame did not send', () => {
  it.each(['delivery', 'open', 'bounce-permanent-general', 'send'])('drops an untagged %s event, counted, without throwing or writing', async (name) => {
    // Prepare: an email with the event's MessageId exists, so only the missing tag can stop it.
    const world = await makeWorld(dynamo);
    const metrics = testMetrics();
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const before = await world.items(id);
    const handler = middy(createIngestHandler({ ...world.deps, metrics })).use(publishMetrics(metrics));
    const ses = untaggedSesFixture(name);

    // Act
    const lines = await emfLines(() => handler(snsEvent(ses), context));

    // Assess
    expect(await world.items(id)).toEqual(before);
    expect(world.fanned).toEqual([]);
    expect(metricValue(lines, 'SesEventsUntagged', { service: 'test', type: ses.eventType })).toBe(1);
    expect(world.logs).toContainEqual(expect.objectContaining({ level: 'INFO', message: expect.stringContaining('without Sesame\'s tags') }));
  });

  it('still finds an identity notification (never tagged) by its SES MessageId', async () => {
    const world = await makeWorld(dynamo);
    const ses = sesFixture('identity-notifications/delivery');
    const { id } = await world.createEmail({ to: ses.mail.destination, sesMessageId: ses.mail.messageId });
    await expect(ingestSnsEvent(world.deps, snsEvent(ses))).resolves.toEqual(['applied']);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'delivered' });
  });
});

describe('ingest: metrics', () => {
  it('counts an applied event by SES type, once however often it arrives, per tenant only for listed tenants', async () => {
    const world = await makeWorld(dynamo);
    const metrics = testMetrics({ tenants: new Set(['tenant-a']) });
    await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID, tenantId: 'tenant-a' });
    const handler = middy(createIngestHandler({ ...world.deps, metrics })).use(publishMetrics(metrics));

    const lines = await emfLines(async () => {
      await handler(snsEvent(sesFixture('delivery')), context);
      await handler(snsEvent(sesFixture('delivery')), context);
    });

    expect(metricValue(lines, 'SesEvents', { service: 'test', type: 'Delivery' })).toBe(1);
    expect(metricValue(lines, 'SesEvents', { service: 'test', type: 'Delivery', tenant: 'tenant-a' })).toBe(1);
    expect(lines.every((l) => l._aws.CloudWatchMetrics[0]!.Namespace === 'SesameTest')).toBe(true);
  });

  it('has no tenant dimension for a tenant that is not listed', async () => {
    const world = await makeWorld(dynamo);
    const metrics = testMetrics({ tenants: new Set(['someone-else']) });
    await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID, tenantId: 'tenant-a' });
    const handler = middy(createIngestHandler({ ...world.deps, metrics })).use(publishMetrics(metrics));
    const lines = await emfLines(() => handler(snsEvent(sesFixture('delivery')), context));
    expect(metricValue(lines, 'SesEvents', { service: 'test', type: 'Delivery' })).toBe(1);
    expect(lines.some((l) => 'tenant' in l)).toBe(false);
  });
});
