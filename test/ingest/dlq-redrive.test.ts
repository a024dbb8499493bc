/**
 * `npx sesame dlq redrive` against the local SQS (in memory, this file's own) and the
 * embedded DynamoDB store: ingest DLQs go back through ingestion, the webhook and dispatch DLQs back
 * to their queues.
 */
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../lambdas/admin/cli';
import { adminDeps } from '../../lambdas/admin/deps';
import { readDlqConfig } from '../../lambdas/core/config';
import { redriveDlqs, snsEventFromDlqBody } from '../../lambdas/ingest/redrive';
import { startTestDynamo, startTestSqs, type TestDynamo, type TestSqs } from '../support/services';
import { FIXTURE_MESSAGE_ID, FIXTURE_TOPIC, SIGNED, sesFixture, signedLambdaEvent, withMail, withTaggedMessage } from './fixtures';
import { makeWorld } from './world';

let dynamo: TestDynamo;
let sqs: TestSqs;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  sqs = await startTestSqs();
});
afterAll(() => Promise.all([dynamo.close(), sqs.close()]));

/** The SNS message as the subscription's DLQ keeps it: the HTTP shape of the notification. */
const snsDlqBody = (file: string) => readFileSync(join(SIGNED, 'http', `${file}.json`), 'utf8');

/** What Lambda's on-failure destination sends for an asynchronous invocation that failed every attempt. */
const invocationRecord = (payload: unknown) => JSON.stringify({
  version: '1.0',
  timestamp: '2024-01-01T00:03:00.000Z',
  requestContext: { requestId: 'c0ffee00-0000-4000-8000-000000000000', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sesame-ingest:$LATEST', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
  requestPayload: payload,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'EmailNotFoundError', errorMessage: 'No email for SES message ...' },
});

async function put(url: string, body: string, attributes: Record<string, string> = {}) {
  await sqs.client.send(new SendMessageCommand({
    QueueUrl: url, MessageBody: body,
    MessageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])),
  }));
}

async function counts(url: string) {
  const { Attributes } = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return { visible: Number(Attributes?.ApproximateNumberOfMessages), hidden: Number(Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

describe('snsEventFromDlqBody', () => {
  it('reads the three shapes a DLQ holds, and nothing else', () => {
    const fromSubscriptionDlq = snsEventFromDlqBody(snsDlqBody('event-delivery.v1'))!;
    expect(fromSubscriptionDlq.Records[0]!.Sns).toMatchObject({ Type: 'Notification', TopicArn: FIXTURE_TOPIC, SigningCertUrl: expect.stringContaining('https://sns.') });
    expect(fromSubscriptionDlq.Records[0]!.Sns.Message.endsWith('\n')).toBe(true);
    expect(snsEventFromDlqBody(invocationRecord(signedLambdaEvent('open')))).toEqual(signedLambdaEvent('open'));
    expect(snsEventFromDlqBody(JSON.stringify(signedLambdaEvent('open')))).toEqual(signedLambdaEvent('open'));
    for (const body of ['garbage', '{}', '{"requestPayload":{}}', '42']) expect(snsEventFromDlqBody(body)).toBeUndefined();
  });
});

describe('redriveDlqs', () => {
  it('re-ingests the ingest DLQs, moves the webhook and dispatch DLQs back, keeps what fails again, and counts', async () => {
    // Prepare
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const [eventsDlq, failureDlq, webhooks, dispatch] = await Promise.all([sqs.freshQueue(), sqs.freshQueue(), sqs.freshQueue({ maxReceiveCount: 3 }), sqs.freshQueue({ maxReceiveCount: 20 })]);
    await put(eventsDlq.url, JSON.stringify(withTaggedMessage(JSON.parse(snsDlqBody('event-delivery.v1')))), { ErrorCode: '500', ErrorMessage: 'Lambda throttled' });
    await put(eventsDlq.url, 'not an SNS message');
    await put(eventsDlq.url, JSON.stringify({ ...JSON.parse(snsDlqBody('event-delivery.v1')), Message: JSON.stringify(withMail(sesFixture('delivery'), { messageId: 'never-sent' })) + '\n' }));
    await put(failureDlq.url, invocationRecord(signedLambdaEvent('bounce-permanent-general')));
    for (const n of [1, 2, 3]) await put(webhooks.dlqUrl!, JSON.stringify({ delivery: n }), { attempt: String(n) });
    const scheduled = ['a', 'b'].map((n) => JSON.stringify({ email_id: `email-${n}`, scheduled_at: '2026-01-01T09:00:00.000Z' }));
    for (const body of scheduled) await put(dispatch.dlqUrl!, body);

    // Act
    const report = await redriveDlqs({
      sqs: sqs.client,
      config: {
        eventsDlqUrl: eventsDlq.url, ingestFailureDlqUrl: failureDlq.url, webhookDlqUrl: webhooks.dlqUrl!, webhookQueueUrl: webhooks.url,
        dispatchDlqUrl: dispatch.dlqUrl!, dispatchQueueUrl: dispatch.url,
      },
      ingest: () => world.deps,
      inbound: () => { throw new Error('no inbound DLQ configured: never built'); },
      options: { waitTimeSeconds: 0, visibilityTimeout: 60 },
    });

    // Assess: the counts, the events applied, the webhooks back in their queue, the rest kept.
    expect(report).toEqual({
      events_dlq: { received: 3, done: 1, kept: 2, unreadable: 1 },
      ingest_failure_dlq: { received: 1, done: 1, kept: 0, unreadable: 0 },
      webhook_dlq: { received: 3, done: 3, kept: 0 },
      inbound_dlq: { skipped: 'SESAME_INBOUND_DLQ_URL is not set' },
      dispatch_dlq: { received: 2, done: 2, kept: 0 },
    });
    const view = await world.view(id);
    expect(view.events.map((e) => e.type)).toEqual(['email.sent', 'email.delivered', 'email.bounced']);
    expect(view.lastEvent).toBe('bounced');
    expect(await counts(eventsDlq.url)).toEqual({ visible: 0, hidden: 2 });
    expect(await counts(failureDlq.url)).toEqual({ visible: 0, hidden: 0 });
    expect(await counts(webhooks.dlqUrl!)).toEqual({ visible: 0, hidden: 0 });
    const moved = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: webhooks.url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
    expect((moved.Messages ?? []).map((m) => [m.Body, m.MessageAttributes?.attempt?.StringValue]).sort()).toEqual([
      ['{"delivery":1}', '1'], ['{"delivery":2}', '2'], ['{"delivery":3}', '3'],
    ]);
    // The scheduled emails' messages are back on the dispatch queue as they were, the DLQ empty.
    expect(await counts(dispatch.dlqUrl!)).toEqual({ visible: 0, hidden: 0 });
    const redispatched = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: dispatch.url, MaxNumberOfMessages: 10 }));
    expect((redispatched.Messages ?? []).map((m) => m.Body).sort()).toEqual(scheduled);
  });

  it('reports an unset queue as skipped, and refuses to run with none', async () => {
    const unused = () => { throw new Error('no inbound DLQ configured: never built'); };
    const world = await makeWorld(dynamo);
    const webhooks = await sqs.freshQueue({ maxReceiveCount: 3 });
    await expect(redriveDlqs({ sqs: sqs.client, config: { webhookDlqUrl: webhooks.dlqUrl!, webhookQueueUrl: webhooks.url }, ingest: () => world.deps, inbound: unused, options: { waitTimeSeconds: 0 } }))
      .resolves.toEqual({
        events_dlq: { skipped: 'SESAME_EVENTS_DLQ_URL is not set' },
        ingest_failure_dlq: { skipped: 'SESAME_INGEST_FAILURE_DLQ_URL is not set' },
        webhook_dlq: { received: 0, done: 0, kept: 0 },
        inbound_dlq: { skipped: 'SESAME_INBOUND_DLQ_URL is not set' },
        dispatch_dlq: { skipped: 'SESAME_DISPATCH_DLQ_URL is not set' },
      });
    await expect(redriveDlqs({ sqs: sqs.client, config: {}, ingest: () => world.deps, inbound: unused })).rejects.toThrow(/SESAME_EVENTS_DLQ_URL.*SESAME_INBOUND_DLQ_URL.*SESAME_DISPATCH_DLQ_URL/);
  });
});

describe('npx sesame dlq redrive', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  it('runs from the environment and prints the counts as one JSON object', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const [failureDlq, webhooks, dispatch] = await Promise.all([sqs.freshQueue(), sqs.freshQueue({ maxReceiveCount: 3 }), sqs.freshQueue({ maxReceiveCount: 20 })]);
    await put(failureDlq.url, invocationRecord(signedLambdaEvent('delivery')));
    await put(webhooks.dlqUrl!, '{"delivery":"x"}');
    await put(dispatch.dlqUrl!, '{"email_id":"x","scheduled_at":"2026-01-01T09:00:00.000Z"}');
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      SESAME_TABLE_NAME: world.table,
      SESAME_RETENTION_DAYS: '36500',
      SESAME_EVENTS_TOPIC_ARN: FIXTURE_TOPIC,
      SESAME_INGEST_FAILURE_DLQ_URL: failureDlq.url,
      SESAME_WEBHOOK_DLQ_URL: webhooks.dlqUrl!,
      SESAME_WEBHOOK_QUEUE_URL: webhooks.url,
      SESAME_DISPATCH_DLQ_URL: dispatch.dlqUrl!,
      SESAME_DISPATCH_QUEUE_URL: dispatch.url,
    });
    delete process.env.SESAME_EVENTS_DLQ_URL;

    const result = await runCli(['dlq', 'redrive'], adminDeps);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      events_dlq: { skipped: 'SESAME_EVENTS_DLQ_URL is not set' },
      ingest_failure_dlq: { received: 1, done: 1, kept: 0, unreadable: 0 },
      webhook_dlq: { received: 1, done: 1, kept: 0 },
      inbound_dlq: { skipped: 'SESAME_INBOUND_DLQ_URL is not set' },
      dispatch_dlq: { received: 1, done: 1, kept: 0 },
    });
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'delivered' });
    expect(await counts(dispatch.url)).toEqual({ visible: 1, hidden: 0 });
  });
});

describe('readDlqConfig', () => {
  it('names the dispatch queue a dispatch DLQ goes back to, and refuses the DLQ without it', () => {
    expect(readDlqConfig({ SESAME_DISPATCH_DLQ_URL: 'http://sqs/dlq', SESAME_DISPATCH_QUEUE_URL: 'http://sqs/queue' }))
      .toEqual({ dispatchDlqUrl: 'http://sqs/dlq', dispatchQueueUrl: 'http://sqs/queue' });
    expect(() => readDlqConfig({ SESAME_DISPATCH_DLQ_URL: 'http://sqs/dlq' })).toThrow(/SESAME_DISPATCH_QUEUE_URL \(where SESAME_DISPATCH_DLQ_URL's messages go back to\)/);
  });
});
