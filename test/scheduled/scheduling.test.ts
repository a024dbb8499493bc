/**
 * Scheduled sending through the send routes and the dispatch handler, on dynalite, the local SES
 * server and the local scheduler (with the real SDK clients). Webhooks are recorded at the
 * EventFanOut seam (what the fan-out would queue), not sent.
 */
import { GetScheduleCommand, DeleteScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { call, type Handler } from '../support/api';
import type { SendHarness } from '../send/harness';
import { SCHEDULE_TARGET, type TestTenant, dispatchDepsOn, schedulingForFile } from '../support/scheduling';
import { dispatchMessage, scheduleName } from '../../lambdas/core/domain/schedule';
import { keys } from '../../lambdas/core/table';
import { TAG_EMAIL_ID, parseEmailTag } from '../../lambdas/core/domain/email';
import { createDispatchHandler, dispatch, type DispatchDeps } from '../../lambdas/dispatch/core';
import { TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { sesTenantName } from '../../lambdas/core/domain/ses-tenants';

const GROUP = SCHEDULE_TARGET.groupName;
const TARGET = SCHEDULE_TARGET;
const NOW = Date.parse('2030-06-01T12:00:30Z');

let h: SendHarness;
let schedulerClient: SchedulerClient;
let handler: Handler;
let acme: TestTenant;
let other: TestTenant;
const { fanOut, events, clock } = schedulingForFile(NOW, (s) => ({ h, schedulerClient, handler, acme, other } = s));

const email = (over: Record<string, unknown> = {}) => ({ from: 'Acme <hello@acme.test>', to: 'user@example.org', subject: 'Later', html: '<p>Later</p>', ...over });

const dispatchDeps = (over: Partial<DispatchDeps> = {}) => dispatchDepsOn(h, clock.now, fanOut, over);

async function schedule(body: Record<string, unknown>, key = acme.key): Promise<string> {
  const res = await call(handler, 'POST', '/emails', { key, body: email(body) });
  expect(res.status).toBe(200);
  return res.body.id as string;
}

const getEmail = async (id: string, key = acme.key) => (await call(handler, 'GET', `/emails/${id}`, { key })).body;
const scheduleOf = (id: string) => schedulerClient.send(new GetScheduleCommand({ Name: scheduleName(id), GroupName: GROUP }));
const taggedWith = (id: string) => (s: { request: { EmailTags?: { Name?: string; Value?: string }[] } }) =>
  s.request.EmailTags?.some((t) => t.Name === TAG_EMAIL_ID && parseEmailTag(t.Value ?? '')?.emailId === id) ?? false;
const sesCount = (id: string) => h.ses.sent().filter(taggedWith(id)).length;

describe('POST /emails with scheduled_at', () => {
  it('writes the email scheduled, creates its schedule at the next whole minute, fires email.scheduled, sends nothing yet', async () => {
    const id = await schedule({ scheduled_at: '2030-06-02T09:00:10Z', headers: { 'X-Ref': '7' } });
    expect(sesCount(id)).toBe(0);
    expect(await getEmail(id)).toMatchObject({ id, last_event: 'scheduled', scheduled_at: '2030-06-02T09:01:00.000Z' });
    const s = await scheduleOf(id);
    expect(s).toMatchObject({ ScheduleExpression: 'at(2030-06-02T09:01:00)', ScheduleExpressionTimezone: 'UTC', ActionAfterCompletion: 'DELETE', FlexibleTimeWindow: { Mode: 'OFF' } });
    expect(JSON.parse(s.Target!.Input!)).toEqual({ v: 1, email_id: id, scheduled_at: '2030-06-02T09:01:00.000Z' });
    expect(events).toEqual([expect.objectContaining({ type: 'email.scheduled', emailId: id, tenantId: acme.tenantId, timestamp: new Date(NOW).toISOString() })]);
    // Retention counts from the due time.
    const { Item } = await h.dynamo.doc.send(new GetCommand({ TableName: h.table, Key: keys.emailMeta(id) }));
    expect(Item!.expires_at).toBe(Date.parse('2030-06-02T09:01:00Z') / 1000 + 30 * 86_400);
  });

  it('reads natural language against the request time, in UTC unless the text names a zone', async () => {
    const inOneMin = await schedule({ scheduled_at: 'in 1 min' });
    expect((await getEmail(inOneMin)).scheduled_at).toBe('2030-06-01T12:02:00.000Z');
    const tomorrow = await schedule({ scheduledAt: 'tomorrow at 9am' });
    expect((await getEmail(tomorrow)).scheduled_at).toBe('2030-06-02T09:00:00.000Z');
    const eastern = await schedule({ scheduled_at: 'tomorrow at 9am ET' });
    expect((await getEmail(eastern)).scheduled_at).toBe('2030-06-02T13:00:00.000Z');
  });

  it('sends at once a time in the past or now', async () => {
    for (const when of ['2030-06-01T11:00:00Z', 'now']) {
      const id = await schedule({ scheduled_at: when });
      expect(sesCount(id)).toBe(1);
      expect(await getEmail(id)).toMatchObject({ last_event: 'sent', scheduled_at: null });
    }
  });

  it('refuses with 422, writing nothing, a time further ahead than 30 days and text that is no time', async () => {
    const before = (await h.items()).length;
    for (const [scheduled_at, extra, name] of [
      ['in 31 days', {}, 'validation_error'],
      ['2030-07-02T12:00:00Z', {}, 'validation_error'],
      ['whenever you like', {}, 'invalid_parameter'],
      ['in 31 days', { attachments: [{ filename: 'a.txt', content: 'aGk=' }] }, 'validation_error'],
    ] as const) {
      const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ scheduled_at, ...extra }) });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ statusCode: 422, name });
    }
    expect((await h.items()).length).toBe(before);
  });

  it('schedules each email of a batch by its own scheduled_at', async () => {
    const res = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: [email({ scheduled_at: 'in 2 hours' }), email({})] });
    expect(res.status).toBe(200);
    const [later, now] = res.body.data.map((d: { id: string }) => d.id);
    expect((await getEmail(later)).last_event).toBe('scheduled');
    expect((await getEmail(now)).last_event).toBe('sent');
  });

  it('in a permissive batch, an email scheduled too far ahead is that email\'s error; the others go', async () => {
    const res = await call(handler, 'POST', '/emails/batch', {
      key: acme.key, headers: { 'x-batch-validation': 'permissive' },
      body: [email({ scheduled_at: 'in 40 days' }), email({ scheduled_at: 'in 1 hour' })],
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(1);
    expect(res.body.errors).toEqual([{ index: 0, message: expect.stringMatching(/30 days/) }]);
  });
});

describe('PATCH /emails/{id} and POST /emails/{id}/cancel', () => {
  it('reschedules: the email and its schedule move to the new time', async () => {
    const id = await schedule({ scheduled_at: 'in 1 hour' });
    const res = await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: { scheduled_at: '2030-06-03T08:00:00Z' } });
    expect(res).toMatchObject({ status: 200, body: { object: 'email', id } });
    expect((await getEmail(id)).scheduled_at).toBe('2030-06-03T08:00:00.000Z');
    expect((await scheduleOf(id)).ScheduleExpression).toBe('at(2030-06-03T08:00:00)');
  });

  it('a reschedule that finds the schedule gone creates it again while the email is scheduled', async () => {
    const id = await schedule({ scheduled_at: 'in 1 hour' });
    await schedulerClient.send(new DeleteScheduleCommand({ Name: scheduleName(id), GroupName: GROUP }));
    await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: { scheduled_at: 'in 3 hours' } });
    expect((await scheduleOf(id)).ScheduleExpression).toBe('at(2030-06-01T15:01:00)');
  });

  it("cancels: last_event canceled, the schedule deleted; then both answer 422; another tenant's email is 404", async () => {
    const id = await schedule({ scheduled_at: 'in 1 hour' });
    expect((await call(handler, 'POST', `/emails/${id}/cancel`, { key: other.key })).status).toBe(404);
    expect((await call(handler, 'PATCH', `/emails/${id}`, { key: other.key, body: { scheduled_at: 'in 2 hours' } })).status).toBe(404);
    const res = await call(handler, 'POST', `/emails/${id}/cancel`, { key: acme.key });
    expect(res).toMatchObject({ status: 200, body: { object: 'email', id } });
    expect((await getEmail(id)).last_event).toBe('canceled');
    await expect(scheduleOf(id)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    for (const r of [
      await call(handler, 'POST', `/emails/${id}/cancel`, { key: acme.key }),
      await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: { scheduled_at: 'in 2 hours' } }),
    ]) {
      expect(r.status).toBe(422);
      expect(r.body).toMatchObject({ statusCode: 422, name: 'validation_error' });
      expect(r.body.message).toMatch(/no longer scheduled \(last event: canceled\)/);
    }
  });

  it('refuses to cancel a sent email, and 404s an unknown one', async () => {
    const id = await schedule({});
    const res = await call(handler, 'POST', `/emails/${id}/cancel`, { key: acme.key });
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/last event: sent/);
    expect((await call(handler, 'POST', '/emails/00000000-0000-4000-8000-000000000000/cancel', { key: acme.key })).status).toBe(404);
    expect((await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: {} })).status).toBe(422);
  });
});

describe('dispatch', () => {
  it('sends a due email once, with its headers; a second firing sends nothing', async () => {
    const id = await schedule({ scheduled_at: 'in 5 min', headers: { 'X-Ref': '7' }, tags: [{ name: 'kind', value: 'later' }] });
    const message = dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at));
    clock.set(NOW + 6 * 60_000);
    expect(await dispatch(dispatchDeps(), message)).toBe('sent');
    expect(await dispatch(dispatchDeps(), message)).toBe('skipped');
    expect(sesCount(id)).toBe(1);
    const sent = h.ses.sent().find(taggedWith(id))!;
    expect(sent.request.Content?.Simple?.Headers).toEqual([{ Name: 'X-Ref', Value: '7' }]);
    expect(sent.request.EmailTags).toEqual(expect.arrayContaining([{ Name: 'kind', Value: 'later' }]));
    expect(await getEmail(id)).toMatchObject({ last_event: 'sent', scheduled_at: '2030-06-01T12:06:00.000Z' });
  });

  it("sends as the email's SES tenant, as an immediate send does; SES refuses it while that tenant is paused", async () => {
    const id = await schedule({ scheduled_at: 'in 5 min' });
    const paused = await schedule({ scheduled_at: 'in 5 min' });
    clock.set(NOW + 6 * 60_000);
    expect(await dispatch(dispatchDeps(), dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at)))).toBe('sent');
    expect(h.ses.sent().find(taggedWith(id))!.request.TenantName).toBe(sesTenantName(TEST_SES_TENANT_PREFIX, acme.tenantId));
    await h.ses.pauseTenant(sesTenantName(TEST_SES_TENANT_PREFIX, acme.tenantId), 'The bounce rate of this tenant exceeded its reputation policy.');
    try {
      expect(await dispatch(dispatchDeps(), dispatchMessage(paused, Date.parse((await getEmail(paused)).scheduled_at)))).toBe('failed');
    } finally {
      await h.ses.resumeTenant(sesTenantName(TEST_SES_TENANT_PREFIX, acme.tenantId));
    }
    expect(sesCount(paused)).toBe(0);
    expect((await getEmail(paused)).last_event).toBe('failed');
  });

  it('a firing left over from before a reschedule sends nothing; the new time does', async () => {
    const id = await schedule({ scheduled_at: 'in 5 min' });
    const old = dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at));
    await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: { scheduled_at: 'in 10 min' } });
    expect(await dispatch(dispatchDeps(), old)).toBe('skipped');
    expect(sesCount(id)).toBe(0);
    expect(await dispatch(dispatchDeps(), dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at)))).toBe('sent');
    expect(sesCount(id)).toBe(1);
  });

  it('ends the email failed, with the reason and email.failed, when the domain is no longer verified at the due time', async () => {
    const late = await h.tenant('late');
    const id = await schedule({ from: 'hello@late.test', scheduled_at: 'in 5 min' }, late.key);
    const domain = (await h.domains.getByName('late.test'))!;
    await h.domains.put({ ...domain, verifiedForSending: false, status: 'failed' });
    events.length = 0;
    expect(await dispatch(dispatchDeps(), dispatchMessage(id, Date.parse((await getEmail(id, late.key)).scheduled_at)))).toBe('failed');
    expect(sesCount(id)).toBe(0);
    expect((await getEmail(id, late.key)).last_event).toBe('failed');
    expect(events).toEqual([expect.objectContaining({ type: 'email.failed', emailId: id, details: { failed: { reason: expect.stringMatching(/not verified/) } } })]);
  });

  it('ends the email failed when SES refuses it', async () => {
    const id = await schedule({ scheduled_at: 'in 5 min' });
    h.ses.failNext('SendEmail', 'MessageRejected');
    expect(await dispatch(dispatchDeps(), dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at)))).toBe('failed');
    expect((await getEmail(id)).last_event).toBe('failed');
  });

  it('puts a send SES throttles back on the queue with a delay, still scheduled; the next try sends it', async () => {
    const id = await schedule({ scheduled_at: 'in 5 min' });
    const body = JSON.stringify(dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at)));
    const deps = dispatchDeps();
    const record = { messageId: 'm1', body, receiptHandle: 'r', eventSourceARN: TARGET.queueArn } as SQSRecord;
    h.ses.failNext('SendEmail', 'TooManyRequestsException');
    expect(await createDispatchHandler(deps)({ Records: [record] })).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(deps.delays).toHaveLength(1);
    expect(deps.delays[0]).toBeGreaterThanOrEqual(24);
    expect((await getEmail(id)).last_event).toBe('scheduled');
    expect(await createDispatchHandler(deps)({ Records: [record] })).toEqual({ batchItemFailures: [] });
    expect(sesCount(id)).toBe(1);
  });

  it('race: cancel and dispatch of one email at the same moment end sent once or canceled, never both', async () => {
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const outcomes = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const id = await schedule({ scheduled_at: 'in 5 min' });
      const message = dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at));
      // Start one or the other a few milliseconds later, so that each wins some of the time.
      const [sent, canceled] = await Promise.all([
        pause(i % 2 === 0 ? i % 7 : 0).then(() => dispatch(dispatchDeps(), message)),
        pause(i % 2 === 1 ? i % 7 : 0).then(() => call(handler, 'POST', `/emails/${id}/cancel`, { key: acme.key })),
      ]);
      const last = (await getEmail(id)).last_event;
      const copies = sesCount(id);
      if (sent === 'sent') {
        expect([canceled.status, last, copies]).toEqual([422, 'sent', 1]);
      } else {
        expect([sent, canceled.status, last, copies]).toEqual(['skipped', 200, 'canceled', 0]);
      }
      return sent;
    }));
    expect(new Set(outcomes)).toEqual(new Set(['sent', 'skipped']));
  });
});
