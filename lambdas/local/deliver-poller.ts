/**
 * Local stand-in for an SQS event source mapping (the deliver function's, the dispatch function's): long-polls the queue,
 * hands batches of up to 10 records to the handler as an SQSEvent, deletes the records it did not
 * report as failures, and leaves the failures alone, so they come back after their visibility
 * timeout (which the handler sets to the retry delay), exactly as in AWS.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger as rootLogger, type Logger } from '../core/log';
import { localLambdaContext } from './api-server';

export interface DeliverPollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  /** Records per invocation (the mapping's batch size). @default 10 */
  readonly batchSize?: number;
  /** Long-poll wait of each receive, in seconds. @default 5 */
  readonly waitSeconds?: number;
  readonly log?: Logger;
  /** The function it feeds, for its log lines. @default 'deliver' */
  readonly name?: string;
}

export interface DeliverPoller {
  /** Stops polling, waits for the batch in hand to finish. */
  stop(): Promise<void>;
}

export function startDeliverPoller(options: DeliverPollerOptions): DeliverPoller {
  const { sqs, queueUrl, handler } = options;
  const batchSize = Math.min(10, Math.max(1, options.batchSize ?? 10));
  const waitSeconds = options.waitSeconds ?? 5;
  const name = options.name ?? 'deliver';
  const log = (options.log ?? rootLogger).child({ component: `${name}-poller` });
  const abort = new AbortController();
  let stopped = false;
  let queueArn: string | undefined;

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

  const arn = async (): Promise<string> => {
    if (queueArn) return queueArn;
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }), { abortSignal: abort.signal });
    return (queueArn = Attributes?.QueueArn ?? `arn:aws:sqs:${region()}:000000000000:${queueUrl.split('/').pop()}`);
  };
  const region = () => process.env.AWS_REGION ?? 'us-east-1';

  const toRecord = (m: Message, sourceArn: string): SQSRecord => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: m.Attributes?.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: sourceArn,
    awsRegion: region(),
  });

  async function once(): Promise<void> {
    const sourceArn = await arn();
    const { Messages } = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: batchSize,
      WaitTimeSeconds: waitSeconds,
      AttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }), { abortSignal: abort.signal });
    if (!Messages || Messages.length === 0) return;
    const records = Messages.map((m) => toRecord(m, sourceArn));
    let failed: Set<string>;
    try {
      const res = await handler({ Records: records }, localLambdaContext(name));
      failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    } catch (error) {
      // As with the mapping: a thrown invocation fails the whole batch.
      log.error(`${name} handler threw; the batch will be received again`, { error });
      return;
    }
    const done = records.filter((r) => !failed.has(r.messageId));
    if (done.length === 0) return;
    const res = await sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
    }));
    if (res.Failed && res.Failed.length > 0) log.warn('could not delete delivered messages', { failed: res.Failed.length });
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (error) {
        if (stopped) break;
        log.error(`${name} queue poll failed`, { error });
        await sleep(1000);
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      abort.abort();
      await loop;
    },
  };
}
