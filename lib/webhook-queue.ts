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
    this.deadLetterQueue = new DeadLetterQueue(this, 'Dlq', { purpose: 'webhook deliveries the deliver function could not process' });
    this.queue = new Queue(this, 'Queue', {
      retentionPeriod: Duration.days(14),
      visibilityTimeout: visibilityTimeoutFor(props.deliver),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue.queue, maxReceiveCount: props.maxReceiveCount ?? 12 },
    });
    this.attachDeliver(props.deliver, props.batchSize ?? 10);
  }

  private attachDeliver(deliver: SesameFunction, batchSize: number): void {
    deliver.bindWebhookQueue(this.queue, 'consume');
    deliver.fn.addEventSource(new SqsEventSource(this.queue, { batchSize, reportBatchItemFailures: true }));
  }
}

/**
 * AWS's advice for a queue feeding Lambda: a visibility timeout of six times the function's timeout,
 * so that a batch retried after throttling is not received again while still in flight. The handler
 * sets a message's own visibility to carry its retry delay.
 */
function visibilityTimeoutFor(deliver: SesameFunction): Duration {
  const timeout = deliver.fn.timeout ?? Duration.seconds(3);
  return Duration.seconds(Math.max(30, 6 * timeout.toSeconds()));
}
