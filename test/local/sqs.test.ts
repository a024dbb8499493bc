import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { ensureQueue } from '../../lambdas/local/sqs';
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
});
