/**
 * Scheduled emails with attachments: kept in the content bucket under `scheduled/` when accepted,
 * listed (with download URLs) before and after the due time, read back by dispatch and sent with
 * the email, deleted on cancel. Through the real send routes and the dispatch handler, on dynalite,
 * the local SES server, the local S3 stand-in and the local scheduler (real SDK clients).
 */
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { call, type Handler } from '../support/api';
import type { SendHarness } from '../send/harness';
import { SCHEDULE_TARGET, type TestTenant, dispatchDepsOn, schedulingForFile } from '../support/scheduling';
import { SchedulerSchedules } from '../../lambdas/core/adapters/schedules';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { attachmentKey } from '../../lambdas/core/content';
import { keys } from '../../lambdas/core/table';
import { dispatchMessage } from '../../lambdas/core/domain/schedule';
import { TAG_EMAIL_ID, parseEmailTag } from '../../lambdas/core/domain/email';
import { createDispatchHandler, dispatch, type DispatchDeps } from '../../lambdas/dispatch/core';

const TARGET = SCHEDULE_TARGET;
// Now (the local S3 checks a presigned URL's expiry against the real time), 250 ms into a second.
const NOW = Math.floor(Date.now() / 1000) * 1000 + 250;
const DAY = 86_400_000;

let h: SendHarness;
let schedulerClient: SchedulerClient;
let handler: Handler;
let acme: TestTenant;
let other: TestTenant;
const { fanOut, events, clock } = schedulingForFile(NOW, (s) => ({ h, schedulerClient, handler, acme, other } = s));

const pdf = Buffer.from('%PDF-1.4\n' + 'y'.repeat(2000) + '\u0000\u00ff', 'latin1');
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const twoAttachments = [
  { filename: 'invoice.pdf', content: pdf.toString('base64') },
  { filename: 'logo.png', content: png.toString('base64'), content_id: 'logo-1' },
];
const email = (over: Record<string, unknown> = {}) => ({
  from: 'Acme <hello@acme.test>', to: 'user@example.org', subject: 'Your invoice', html: '<img src="cid:logo-1">',
  scheduled_at: 'in 5 min', attachments: twoAttachments, ...over,
});

const dispatchDeps = (over: Partial<DispatchDeps> = {}) => dispatchDepsOn(h, clock.now, fanOut, over);

async function schedule(body: Record<string, unknown> = {}, key = acme.key): Promise<string> {
  const res = await call(handler, 'POST', '/emails', { key, body: email(body) });
  expect(res.status).toBe(200);
  return res.body.id as string;
}

const getEmail = async (id: string) => (await call(handler, 'GET', `/emails/${id}`, { key: acme.key })).body;
const listed = async (id: string, key = acme.key) => call(handler, 'GET', `/emails/${id}/attachments`, { key });
const sentTo = (id: string) => h.ses.sent().filter((s) => s.request.EmailTags?.some((t) => t.Name === TAG_EMAIL_ID && parseEmailTag(t.Value ?? '')?.emailId === id));
/** Which of an email's attachments have an object under the prefix (the stand-in has no listing: one HeadObject each). */
const kept = async (stage: 'sent' | 'scheduled', id: string, attachmentIds: readonly string[]) =>
  (await Promise.all(attachmentIds.map((a) => h.s3.client.send(new HeadObjectCommand({ Bucket: h.s3.bucket, Key: attachmentKey(stage, acme.tenantId, id, a) }))
    .then(() => a, () => undefined)))).filter((a) => a !== undefined);
const idsOf = async (id: string) => ((await listed(id)).body.data as { id: string }[]).map((a) => a.id);
const download = async (url: string) => Buffer.from(await (await fetch(url)).arrayBuffer());

/** Fires an email's schedule into the dispatch handler, as the dispatch queue's event source mapping would. */
async function fire(id: string, deps = dispatchDeps()) {
  const body = JSON.stringify(dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at)));
  const record = { messageId: `m-${id}`, body, receiptHandle: 'r', eventSourceARN: TARGET.queueArn } as SQSRecord;
  return createDispatchHandler(deps)({ Records: [record] });
}

describe('a scheduled email with attachments', () => {
  it('keeps them under scheduled/ when accepted, lists them while it waits, with URLs that download the bytes', async () => {
    const id = await schedule();
    expect(sentTo(id)).toEqual([]);
    const list = await listed(id);
    expect(list.status).toBe(200);
    expect(list.body.data).toEqual([
      expect.objectContaining({ filename: 'invoice.pdf', size: pdf.length, content_type: 'application/pdf', content_disposition: 'attachment' }),
      expect.objectContaining({ filename: 'logo.png', size: png.length, content_type: 'image/png', content_disposition: 'inline', content_id: 'logo-1' }),
    ]);
    const [first, second] = list.body.data as { id: string; download_url: string }[];
    expect(first!.download_url).toContain(`/scheduled/${acme.tenantId}/${id}/attachments/${first!.id}`);
    expect(await download(first!.download_url)).toEqual(pdf);
    expect(await download(second!.download_url)).toEqual(png);
    expect(await kept('sent', id, [first!.id, second!.id])).toEqual([]);
    expect(await kept('scheduled', id, [first!.id, second!.id])).toEqual([first!.id, second!.id]);
    // The email record holds the attachments' metadata, not their bytes; the schedule's message holds ids only.
    const { Item } = await h.dynamo.doc.send(new GetCommand({ TableName: h.table, Key: keys.emailMeta(id) }));
    expect(JSON.stringify(Item).length).toBeLessThan(pdf.length);
    expect(Object.keys(dispatchMessage(id, 0))).toEqual(['v', 'email_id', 'scheduled_at']);
    expect((await listed(id, other.key)).status).toBe(404);
  });

  it('is sent at its due time with the attachments read back from the bucket; they are still listed after', async () => {
    const id = await schedule();
    clock.set(NOW + 6 * 60_000);
    expect(await fire(id)).toEqual({ batchItemFailures: [] });
    const [sent, ...again] = sentTo(id);
    expect(again).toEqual([]);
    const attachments = sent!.request.Content!.Simple!.Attachments!;
    expect(attachments.map((a) => [a.FileName, a.ContentType, a.ContentDisposition, a.ContentId])).toEqual([
      ['invoice.pdf', 'application/pdf', 'ATTACHMENT', undefined],
      ['logo.png', 'image/png', 'INLINE', 'logo-1'],
    ]);
    expect(attachments.map((a) => Buffer.from(a.RawContent!))).toEqual([pdf, png]);
    expect((await getEmail(id)).last_event).toBe('sent');
    clock.set(NOW);
    const list = await listed(id);
    expect(list.body.data.map((a: { filename: string }) => a.filename)).toEqual(['invoice.pdf', 'logo.png']);
    expect(await download(list.body.data[0].download_url)).toEqual(pdf);
  });

  it('is canceled with its attachments: their objects are deleted and none are listed', async () => {
    const id = await schedule();
    const ids = await idsOf(id);
    expect(await kept('scheduled', id, ids)).toHaveLength(2);
    expect((await call(handler, 'POST', `/emails/${id}/cancel`, { key: acme.key })).status).toBe(200);
    expect(await kept('scheduled', id, ids)).toEqual([]);
    expect((await listed(id)).body).toEqual({ object: 'list', has_more: false, data: [] });
    expect((await getEmail(id)).last_event).toBe('canceled');
  });

  it('moves no later than 30 days after it was created (its content is kept for that wait), while one without attachments may', async () => {
    const id = await schedule({ scheduled_at: 'in 10 days' });
    const bare = await schedule({ scheduled_at: 'in 10 days', attachments: undefined });
    clock.set(NOW + 20 * DAY);
    const late = await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: { scheduled_at: 'in 15 days' } });
    expect(late.status).toBe(422);
    expect(late.body).toMatchObject({ statusCode: 422, name: 'validation_error', message: expect.stringMatching(/attachments can be scheduled up to 30 days after it was created/) });
    expect((await call(handler, 'PATCH', `/emails/${bare}`, { key: acme.key, body: { scheduled_at: 'in 15 days' } })).status).toBe(200);
    expect((await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: { scheduled_at: 'in 9 days' } })).status).toBe(200);
    expect((await call(handler, 'PATCH', `/emails/${id}`, { key: other.key, body: { scheduled_at: 'in 15 days' } })).status).toBe(404);
    // Once sent, it is no longer scheduled: that is what it is told, however late the time asked.
    clock.set(NOW + 30 * DAY);
    expect(await fire(id)).toEqual({ batchItemFailures: [] });
    const sent = await call(handler, 'PATCH', `/emails/${id}`, { key: acme.key, body: { scheduled_at: 'in 15 days' } });
    expect(sent.body.message).toMatch(/no longer scheduled \(last event: sent\)/);
  });

  it('fails at its due time, with the reason, when an attachment is gone from the bucket', async () => {
    const id = await schedule();
    const [first] = (await listed(id)).body.data as { id: string }[];
    await h.s3.client.send(new DeleteObjectCommand({ Bucket: h.s3.bucket, Key: attachmentKey('scheduled', acme.tenantId, id, first!.id) }));
    expect(await dispatch(dispatchDeps(), dispatchMessage(id, Date.parse((await getEmail(id)).scheduled_at)))).toBe('failed');
    expect(sentTo(id)).toEqual([]);
    expect((await getEmail(id)).last_event).toBe('failed');
    expect(events).toContainEqual(expect.objectContaining({ type: 'email.failed', emailId: id, details: { failed: { reason: expect.stringMatching(/attachment/) } } }));
  });

  it('waits on the queue, still scheduled, when the bucket cannot be read; the next try sends it', async () => {
    const id = await schedule();
    // A real failure of the stand-in: the bucket does not exist (NoSuchBucket).
    const broken = dispatchDeps({ content: new ContentStore(h.s3.client, 'no-such-bucket', clock.now) });
    expect(await fire(id, broken)).toEqual({ batchItemFailures: [{ itemIdentifier: `m-${id}` }] });
    expect(broken.delays).toHaveLength(1);
    expect((await getEmail(id)).last_event).toBe('scheduled');
    expect(sentTo(id)).toEqual([]);
    expect(await fire(id)).toEqual({ batchItemFailures: [] });
    expect(sentTo(id)).toHaveLength(1);
  });

  it('is refused with a generic 500, writing no email and no schedule, when the bucket cannot take the attachments', async () => {
    const broken = h.handler({ now: clock.now, schedules: new SchedulerSchedules(schedulerClient, TARGET), fanOut, content: () => new ContentStore(h.s3.client, 'no-such-bucket', clock.now) });
    const before = (await h.items()).length;
    const res = await call(broken, 'POST', '/emails', { key: acme.key, body: email() });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, name: 'internal_server_error', message: expect.any(String) });
    expect((await h.items()).length).toBe(before);
    expect(events).toEqual([]);
  });

  it('answers the same email, its attachments kept once, when retried under the same Idempotency-Key', async () => {
    const headers = { 'Idempotency-Key': 'scheduled-with-files' };
    const first = await call(handler, 'POST', '/emails', { key: acme.key, body: email(), headers });
    const retried = await call(handler, 'POST', '/emails', { key: acme.key, body: email(), headers });
    expect(retried.body.id).toBe(first.body.id);
    expect(await kept('scheduled', first.body.id, await idsOf(first.body.id))).toHaveLength(2);
    const [a] = (await listed(first.body.id)).body.data as { id: string }[];
    const head = await h.s3.client.send(new HeadObjectCommand({ Bucket: h.s3.bucket, Key: attachmentKey('scheduled', acme.tenantId, first.body.id, a!.id) }));
    expect(head.ContentLength).toBe(pdf.length);
  });
});

describe('a batch of scheduled emails with attachments', () => {
  it('keeps each scheduled email\'s attachments; an email sent at once carries none, as in Resend', async () => {
    const res = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: [email(), email({ scheduled_at: 'in 2 hours', attachments: [twoAttachments[1]] })] });
    expect(res.status).toBe(200);
    const [one, two] = res.body.data.map((d: { id: string }) => d.id);
    expect((await listed(one)).body.data).toHaveLength(2);
    expect((await listed(two)).body.data.map((a: { filename: string }) => a.filename)).toEqual(['logo.png']);
    const before = (await h.items()).length;
    const refused = await call(handler, 'POST', '/emails/batch', { key: acme.key, body: [email(), email({ scheduled_at: undefined })] });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ statusCode: 422, name: 'validation_error', message: expect.stringMatching(/emails\[1\].*attachments.*scheduled_at/) });
    expect((await h.items()).length).toBe(before);
  });
});
