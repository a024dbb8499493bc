import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue';
import type { SesameFunction } from './sesame-function';

export interface WebhookQueueProps {
  /** The function that delivers webhooks; it consumes the queue through an event source mapping. */
  readonly deliver: SesameFunction;
  /** Messages per deliver invocation. @default 10 */
  readonly batchSize?: number;
  /**
   * How long the event source mapping gathers messages before it invokes deliver (at most
   * `batchSize`). On a busy queue it fills batches: fewer invocations and fewer receives, the
   * batch's attempts run side by side in one invocation. On a quiet queue a webhook waits up to this
   * long. @default Duration.seconds(1)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Most deliver invocations the event source mapping runs at once (2 to 1,000), so that a burst of
   * webhooks cannot take the account's Lambda concurrency from the API functions. At the default, with
   * endpoints answering in 150 ms, about 10 × 10 / 0.15 ≈ 650 webhooks a second. @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Receives before a message goes to the DLQ. The retry schedule (8 attempts) is carried by
   * visibility timeouts and ends with the delivery marked failed by the handler; the DLQ is only a
   * backstop for messages the handler cannot process at all. @default 12
   */
  readonly maxReceiveCount?: number;
}

/**
 * The queue of webhook deliveries (one message per event × endpoint), its dead-letter queue and
 * the event source mapping that feeds the deliver function with partial batch failures.
 */
export class WebhookQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: WebhookQueueProps) {
    super(scope, id);
    const batchingWindow = props.maxBatchingWindow ?? Duration.seconds(1);
    if (batchingWindow.toSeconds() > 300) throw new Error(`maxBatchingWindow is at most 300 seconds, got ${batchingWindow.toSeconds()}`);
    this.deadLetterQueue = new DeadLetterQueue(this, 'Dlq', { purpose: 'webhook deliveries the deliver function could not process' });
    this.queue = new Queue(this, 'Queue', {
      retentionPeriod: Duration.days(14),
      visibilityTimeout: visibilityTimeoutFor(props.deliver, batchingWindow),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue.queue, maxReceiveCount: props.maxReceiveCount ?? 12 },
    });
    const maxConcurrency = props.maxConcurrency ?? 10;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(`maxConcurrency must be an integer from 2 to 1000, got ${maxConcurrency}`);
    }
    this.attachDeliver(props.deliver, props.batchSize ?? 10, batchingWindow, maxConcurrency);
  }

  private attachDeliver(deliver: SesameFunction, batchSize: number, maxBatchingWindow: Duration, maxConcurrency: number): void {
    deliver.bindWebhookQueue(this.queue, 'consume');
    deliver.fn.addEventSource(new SqsEventSource(this.queue, {
      batchSize, maxConcurrency, reportBatchItemFailures: true, ...(maxBatchingWindow.toSeconds() > 0 ? { maxBatchingWindow } : {}),
    }));
  }
}

/**
 * AWS's advice for a queue feeding Lambda: a visibility timeout of six times the function's timeout
 * plus the batching window, so that a batch retried after throttling is not received again while
 * still in flight. The handler sets a message's own visibility to carry its retry delay.
 */
function visibilityTimeoutFor(deliver: SesameFunction, batchingWindow: Duration): Duration {
  const timeout = deliver.fn.timeout ?? Duration.seconds(3);
  return Duration.seconds(Math.max(30, 6 * timeout.toSeconds() + batchingWindow.toSeconds()));
}
