/**
 * `npx sesame dlq redrive`, the inbound DLQ: the invocation records Lambda's on-failure destination
 * parks (their `requestPayload` the SES receipt event) go back through the inbound core, run by the
 * admin tool from its environment, on dynalite, the local S3 stand-in and the local SQS. A message
 * is deleted once processed; one that fails again, or is no receipt event, stays.
 */
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import MailComposer from 'nodemailer/lib/mail-composer';
import { runCli } from '../../lambdas/admin/cli';
import { adminDeps } from '../../lambdas/admin/deps';
import { receivedEmailId } from '../../lambdas/core/domain/inbound';
import { receiptNoticesFromDlqBody } from '../../lambdas/inbound/redrive';
import { type InboundHarness, receiptEvent, startInboundHarness } from './harness';

let h: InboundHarness;
let acme: Awaited<ReturnType<InboundHarness['tenant']>>;
beforeAll(async () => {
  h = await startInboundHarness();
  acme = await h.tenant('acme');
});
afterAll(() => h.close());

/** What Lambda's on-failure destination sends for an asynchronous invocation that failed every attempt. */
const invocationRecord = (payload: unknown) => JSON.stringify({
  version: '1.0',
  timestamp: '2024-01-01T00:03:00.000Z',
  requestContext: { requestId: 'c0ffee00-0000-4000-8000-000000000001', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sesame-inbound:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
  requestPayload: payload,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'ServiceUnavailable', errorMessage: 'DynamoDB was unavailable' },
});

const mime = (subject: string) => new MailComposer({
  from: 'john@sender.example', to: `support@${acme.domain}`, subject, text: 'Hello',
  attachments: [{ filename: 'note.txt', content: 'attached' }],
}).compile().build();

describe('receiptNoticesFromDlqBody', () => {
  it('reads an invocation record and a receipt event, and nothing else', () => {
    const event = receiptEvent('dlqshape1', ['a@acme.test']);
    expect(receiptNoticesFromDlqBody(invocationRecord(event))!.map((n) => [n.sesMessageId, n.recipients])).toEqual([['dlqshape1', ['a@acme.test']]]);
    expect(receiptNoticesFromDlqBody(JSON.stringify(event))!.map((n) => n.sesMessageId)).toEqual(['dlqshape1']);
    for (const body of ['garbage', '{}', '42', 'null', invocationRecord({ Records: [{ Sns: {} }] }), invocationRecord(undefined)]) {
      expect(receiptNoticesFromDlqBody(body)).toBeUndefined();
    }
  });
});

describe('npx sesame dlq redrive, the inbound DLQ', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('stores the parked messages once, deletes them, and keeps what fails again or is unreadable', async () => {
    // Prepare: an event already processed before it was parked (stored once), a fresh one, one whose
    // raw message is gone (fails again), one for no receiving domain (dropped), one body that is no event.
    const parked = await h.storeRaw(await mime('Parked'));
    await h.handler(receiptEvent(parked, [`support@${acme.domain}`]));
    await h.queued();
    const dlq = await h.sqs.freshQueue();
    const put = (body: string) => h.sqs.client.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: body }));
    await put(invocationRecord(receiptEvent(parked, [`support@${acme.domain}`])));
    const fresh = await h.storeRaw(await mime('Fresh'));
    await put(invocationRecord(receiptEvent(fresh, [`support@${acme.domain}`])));
    await put(invocationRecord(receiptEvent('rawmessagegone', [`support@${acme.domain}`])));
    const unwanted = await h.storeRaw(await mime('For nobody'));
    await put(invocationRecord(receiptEvent(unwanted, ['someone@nowhere.example'])));
    await put('not an invocation record');
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SQS: h.sqs.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: h.dynamo.endpoint,
      AWS_ENDPOINT_URL_S3: h.s3.endpoint,
      SESAME_TABLE_NAME: h.table,
      SESAME_CONTENT_BUCKET: h.s3.bucket,
      SESAME_WEBHOOK_QUEUE_URL: h.queueUrl,
      SESAME_INBOUND_DLQ_URL: dlq.url,
    });
    for (const name of ['SESAME_EVENTS_DLQ_URL', 'SESAME_INGEST_FAILURE_DLQ_URL', 'SESAME_WEBHOOK_DLQ_URL', 'SESAME_DISPATCH_DLQ_URL']) delete process.env[name];

    // Act
    const result = await runCli(['dlq', 'redrive'], adminDeps);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      events_dlq: { skipped: 'SESAME_EVENTS_DLQ_URL is not set' },
      ingest_failure_dlq: { skipped: 'SESAME_INGEST_FAILURE_DLQ_URL is not set' },
      webhook_dlq: { skipped: 'SESAME_WEBHOOK_DLQ_URL is not set' },
      inbound_dlq: { received: 5, done: 3, kept: 2, unreadable: 1 },
      dispatch_dlq: { skipped: 'SESAME_DISPATCH_DLQ_URL is not set' },
    });
    const emails = (await h.received.list(acme.tenantId, { limit: 100 })).data;
    expect(emails.filter((e) => e.sesMessageId === parked)).toHaveLength(1);
    expect(await h.received.get(acme.tenantId, receivedEmailId(acme.tenantId, fresh))).toMatchObject({ subject: 'Fresh', attachments: [{ filename: 'note.txt', size: 8 }] });
    expect(emails.some((e) => e.sesMessageId === 'rawmessagegone')).toBe(false);
    // Mail for no receiving domain is dropped as the function drops it: its raw message deleted.
    expect(emails.some((e) => e.sesMessageId === unwanted)).toBe(false);
    await expect(h.content.readRaw(unwanted)).rejects.toThrow();
    const { Attributes } = await h.sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    expect([Number(Attributes!.ApproximateNumberOfMessages), Number(Attributes!.ApproximateNumberOfMessagesNotVisible)]).toEqual([0, 2]);
  });
});
