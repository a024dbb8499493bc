import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /** What the queue parks, for the cdk-nag acknowledgment and the alarm's description, e.g. "the ingest function's failed invocations". */
  readonly purpose: string;
  /**
   * True when the queue is the target of an SNS subscription or of a Lambda on-failure destination
   * rather than of an SQS redrive policy: cdk-nag's SQS3 cannot see that it is a DLQ and is
   * acknowledged. @default false
   */
  readonly targetOfServiceRedrive?: boolean;
  /**
   * The variable `npx sesame dlq redrive` reads this queue's URL from, when the command moves its
   * messages back; the alarm's description names it. @default - the description names no variable
   */
  readonly redriveVariable?: string;
}

/**
 * A dead-letter queue: TLS only, SQS-managed encryption, 14 days' retention (SQS's maximum), so that an
 * operator has two weeks to notice the alarm on its depth and move messages back with `npx sesame`.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: Queue;
  /** What the queue parks. */
  readonly purpose: string;
  /** The variable `npx sesame dlq redrive` reads this queue's URL from, if any. */
  readonly redriveVariable?: string;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.purpose = props.purpose;
    this.redriveVariable = props.redriveVariable;
    this.queue = new Queue(this, 'Queue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    if (props.targetOfServiceRedrive) {
      Validations.of(this.queue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: `This queue is itself a dead-letter queue (${props.purpose}), set as a target by the service rather than by an SQS redrive policy, which cdk-nag does not see; an alarm watches its depth.`,
      });
    }
  }
}
