import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  ListQueueTagsCommand,
  MessageNotInflight,
  QueueDoesNotExist,
  QueueNameExists,
  SendMessageBatchCommand,
  UnsupportedOperation,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ensureQueue } from '../../lambdas/local/sqs';
import { md5OfMessageAttributes } from '../../lambdas/local/sqs-wire';
import { TEST_CREDENTIALS, TEST_REGION, startTestSqs, type TestSqs } from '../support/services';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('local SQS, through the real SQS client', () => {
  let sqs: TestSqs;

  beforeAll(async () => {
    sqs = await startTestSqs();
  });

  afterAll(async () => {
    await sqs.close();
  });

  it('names queues on 127.0.0.1, so a client configured by AWS_ENDPOINT_URL_SQS reaches them', async () => {
    // Prepare
    const { url } = await sqs.freshQueue();
    const saved = process.env.AWS_ENDPOINT_URL_SQS;
    process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint; // read by the SDK at the first request, not at construction
    const envClient = new SQSClient({ region: TEST_REGION, credentials: TEST_CREDENTIALS });
    const warn = jest.spyOn(console, 'warn');

    try {
      // Act
      await envClient.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'via env' }));
      const { Messages } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url }));

      // Assess
      expect(url.startsWith(`${sqs.endpoint}/`)).toBe(true);
      expect(Messages?.map((m) => m.Body)).toEqual(['via env']);
      expect(warn).not.toHaveBeenCalled(); // the SDK warns when a QueueUrl's host differs from the endpoint
    } finally {
      warn.mockRestore();
      envClient.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SQS;
      else process.env.AWS_ENDPOINT_URL_SQS = saved;
    }
  });

  it('sends, receives and deletes a message', async () => {
    // Prepare
    const { url } = await sqs.freshQueue();
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"n":1}' }));

    // Act
    const received = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0, MaxNumberOfMessages: 10 }));
    await sqs.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: received.Messages![0]!.ReceiptHandle }));
    const after = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }));

    // Assess
    expect(received.Messages?.map((m) => m.Body)).toEqual(['{"n":1}']);
    expect(after.Messages ?? []).toEqual([]);
  });

  it('ChangeMessageVisibility delays redelivery until the new timeout passes', async () => {
    // Prepare
    const { url } = await sqs.freshQueue();
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'retry me' }));
    const first = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 30 }));

    // Act
    await sqs.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first.Messages![0]!.ReceiptHandle, VisibilityTimeout: 1 }));
    const tooEarly = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url }));
    await sleep(1100);
    const later = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));

    // Assess
    expect(tooEarly.Messages ?? []).toEqual([]);
    expect(later.Messages?.map((m) => m.Body)).toEqual(['retry me']);
    expect(later.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('moves a message to the DLQ once it was received maxReceiveCount times', async () => {
    // Prepare
    const { url, dlqUrl } = await sqs.freshQueue({ maxReceiveCount: 2 });
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'poison' }));
    const receive = () => sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }));

    // Act
    const attempts = [await receive(), await receive(), await receive()];
    const parked = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl }));

    // Assess
    expect(attempts.map((a) => a.Messages?.length ?? 0)).toEqual([1, 1, 0]);
    expect(parked.Messages?.map((m) => m.Body)).toEqual(['poison']);
  });

  it('ensureQueue is idempotent and sets the redrive policy and the DLQ retention', async () => {
    // Prepare
    const name = `idem-${Date.now()}`;
    const first = await ensureQueue(sqs.client, name, { dlqName: `${name}-dlq`, maxReceiveCount: 3 });

    // Act
    const second = await ensureQueue(sqs.client, name, { dlqName: `${name}-dlq`, maxReceiveCount: 3 });

    // Assess
    expect(second).toBe(first);
    const { Attributes } = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: first, AttributeNames: ['RedrivePolicy'] }));
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toEqual({ deadLetterTargetArn: expect.stringMatching(new RegExp(`:${name}-dlq$`)), maxReceiveCount: 3 });
    const { QueueUrl: dlqUrl } = await sqs.client.send(new GetQueueUrlCommand({ QueueName: `${name}-dlq` }));
    const dlq = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['MessageRetentionPeriod'] }));
    expect(dlq.Attributes?.MessageRetentionPeriod).toBe(String(14 * 24 * 3600));
  });

  it('answers a long poll as soon as a message is sent', async () => {
    const { url } = await sqs.freshQueue();
    const started = Date.now();
    const waiting = sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 }));
    await sleep(200);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'wake up' }));
    const { Messages } = await waiting;
    expect(Messages?.map((m) => m.Body)).toEqual(['wake up']);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('sends a batch with delays, reporting a bad entry apart, and keeps message attributes with SQS\'s MD5', async () => {
    // Prepare
    const { url } = await sqs.freshQueue();

    // Act
    const res = await sqs.client.send(new SendMessageBatchCommand({
      QueueUrl: url,
      Entries: [
        { Id: 'now', MessageBody: 'now', MessageAttributes: { ordinal: { DataType: 'Number', StringValue: '1' }, category: { DataType: 'String', StringValue: 'test' } } },
        { Id: 'later', MessageBody: 'later', DelaySeconds: 900 },
        { Id: 'bad', MessageBody: 'bad \u0000' },
      ],
    }));
    const received = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
    const counts = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessagesDelayed'] }));

    // Assess: the MD5 is the value SQS publishes for these two attributes.
    expect(res.Successful?.map((e) => e.Id).sort()).toEqual(['later', 'now']);
    expect(res.Successful?.find((e) => e.Id === 'now')?.MD5OfMessageAttributes).toBe('d21ae90c49061e927f57df5f5d72be1f');
    expect(res.Failed).toEqual([expect.objectContaining({ Id: 'bad', SenderFault: true, Code: 'InvalidMessageContents' })]);
    expect(received.Messages?.map((m) => [m.Body, m.MessageAttributes?.category?.StringValue, m.MD5OfMessageAttributes])).toEqual([['now', 'test', 'd21ae90c49061e927f57df5f5d72be1f']]);
    expect(counts.Attributes?.ApproximateNumberOfMessagesDelayed).toBe('1');
  });

  it('computes MD5OfMessageAttributes as SQS does', () => {
    expect(md5OfMessageAttributes({ SellerName: { DataType: 'String', StringValue: 'Example Store' } })).toBe('cd28f3b68aeee4b2eac9c66f2f694b58');
    expect(md5OfMessageAttributes({ timestamp: { DataType: 'Number', StringValue: '1493147359900' } })).toBe('235c5c510d26fb653d073faed50ae77c');
  });

  it('refuses an old receipt handle for a visibility change, and deletes nothing with it', async () => {
    const { url } = await sqs.freshQueue();
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'm' }));
    const first = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 0 }));
    const second = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: 30 }));
    const stale = first.Messages![0]!.ReceiptHandle!;

    await expect(sqs.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: stale, VisibilityTimeout: 0 }))).rejects.toBeInstanceOf(MessageNotInflight);
    await sqs.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: stale }));
    const { Attributes } = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessagesNotVisible'] }));

    expect(second.Messages).toHaveLength(1);
    expect(Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');
  });

  it('answers in SQS\'s error shapes, which the SDK raises as its own exceptions', async () => {
    const { name } = await sqs.freshQueue();
    await expect(sqs.client.send(new GetQueueUrlCommand({ QueueName: 'no-such-queue' }))).rejects.toBeInstanceOf(QueueDoesNotExist);
    await expect(sqs.client.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '5' } }))).rejects.toBeInstanceOf(QueueNameExists);
    await expect(sqs.client.send(new ListQueueTagsCommand({ QueueUrl: `${sqs.endpoint}/000000000000/${name}` }))).rejects.toBeInstanceOf(UnsupportedOperation);
  });
});

describe('local SQS on a data folder', () => {
  it('rebuilds queues, messages, receive counts, visibility and the DLQ after a crash', async () => {
    // Prepare: a queue with a DLQ after two receives, and messages in every state.
    const dir = mkdtempSync(join(tmpdir(), 'sesame-sqs-'));
    const first = await startTestSqs({ dataDir: dir });
    const { name, url } = await first.freshQueue({ maxReceiveCount: 2 });
    const send = (body: string) => first.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body }));
    const receive = (visibilityTimeout: number) => first.client.send(new ReceiveMessageCommand({ QueueUrl: url, VisibilityTimeout: visibilityTimeout }));
    await send('in flight');
    const inFlight = (await receive(600)).Messages![0]!;
    await send('to the dlq');
    await receive(0);
    await receive(0);
    await receive(600); // moves "to the dlq" (received twice already), then finds nothing visible
    await send('deleted');
    await first.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: (await receive(600)).Messages![0]!.ReceiptHandle }));
    await send('retry now');
    const retry = (await receive(600)).Messages![0]!;
    await first.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: retry.ReceiptHandle, VisibilityTimeout: 0 }));
    await send('fresh');

    // Act: another server on the folder; the first is abandoned as kill -9 would leave it.
    const second = await startTestSqs({ dataDir: dir });
    try {
      const { QueueUrl } = await second.client.send(new GetQueueUrlCommand({ QueueName: name }));
      const { QueueUrl: dlqUrl } = await second.client.send(new GetQueueUrlCommand({ QueueName: `${name}-dlq` }));
      const counts = await second.client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'RedrivePolicy'] }));
      const visible = await second.client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
      const parked = await second.client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10 }));
      // The receipt handle of the first run still works in the second.
      await second.client.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: inFlight.ReceiptHandle, VisibilityTimeout: 0 }));
      const back = await second.client.send(new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));

      // Assess
      expect(counts.Attributes).toMatchObject({ ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '1' });
      expect(JSON.parse(counts.Attributes!.RedrivePolicy!)).toMatchObject({ maxReceiveCount: 2 });
      expect(visible.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['retry now', '2'], ['fresh', '1']]);
      expect(parked.Messages?.map((m) => m.Body)).toEqual(['to the dlq']);
      expect(back.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['in flight', '2']]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

