import { Duration, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { ScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DeadLetterQueue } from './dead-letter-queue';
import type { SesameFunction } from './sesame-function';

export interface EmailSchedulerProps {
  /** The function that sends scheduled emails; it drains the dispatch queue. */
  readonly dispatch: SesameFunction;
  /**
   * Dispatch invocations at most at once (2 to 1000). Schedules due at the same minute (a 9 am burst)
   * wait on the queue rather than run into SES's sending rate. @default 5
   */
  readonly maxConcurrency?: number;
  /** Messages per dispatch invocation. @default 10 */
  readonly batchSize?: number;
  /** Receives before a message goes to the DLQ (a throttled send comes back each time). @default 20 */
  readonly maxReceiveCount?: number;
}

/**
 * Scheduled sending: the stack's schedule group (one-time schedules, one per scheduled email, made
 * at run time by the send function), the role EventBridge Scheduler assumes to put a schedule's
 * message on the dispatch queue, that queue with its DLQ, and the event source mapping that drains
 * it into the dispatch function with a maximum concurrency and partial batch failures.
 */
export class EmailScheduler extends Construct {
  readonly group: ScheduleGroup;
  readonly queue: Queue;
  readonly deadLetterQueue: DeadLetterQueue;
  /** The role schedules run as: it may send to the dispatch queue and nothing else. */
  readonly role: Role;

  constructor(scope: Construct, id: string, props: EmailSchedulerProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? 5;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) throw new Error(`maxConcurrency must be an integer from 2 to 1000, got ${maxConcurrency}`);
    this.group = new ScheduleGroup(this, 'Group', { scheduleGroupName: scheduleGroupName(Stack.of(this).stackName) });
    this.deadLetterQueue = new DeadLetterQueue(this, 'Dlq', {
      purpose: 'scheduled emails the dispatch function could not process',
      // `npx sesame dlq redrive` moves them back to the dispatch queue (SESAME_DISPATCH_QUEUE_URL).
      redriveVariable: 'SESAME_DISPATCH_DLQ_URL',
    });
    this.queue = this.buildQueue(props.dispatch, props.maxReceiveCount ?? 20);
    this.role = this.buildRole();
    this.attachDispatch(props.dispatch, props.batchSize ?? 10, maxConcurrency);
  }

  private buildQueue(dispatch: SesameFunction, maxReceiveCount: number): Queue {
    const timeout = dispatch.fn.timeout ?? Duration.seconds(3);
    return new Queue(this, 'Queue', {
      retentionPeriod: Duration.days(14),
      // AWS's advice for a queue feeding Lambda: six times the function's timeout.
      visibilityTimeout: Duration.seconds(Math.max(30, 6 * timeout.toSeconds())),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue.queue, maxReceiveCount },
    });
  }

  private buildRole(): Role {
    const stack = Stack.of(this);
    const role = new Role(this, 'Role', {
      description: 'EventBridge Scheduler: puts scheduled emails on the dispatch queue',
      // Only schedules of this account's group may assume it (the confused deputy).
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${this.group.scheduleGroupName}/*` }) },
      }),
    });
    role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return role;
  }

  private attachDispatch(dispatch: SesameFunction, batchSize: number, maxConcurrency: number): void {
    this.queue.grantConsumeMessages(dispatch.fn);
    dispatch.fn.addEventSource(new SqsEventSource(this.queue, { batchSize, maxConcurrency, reportBatchItemFailures: true }));
  }
}

/** The schedule group of a stack: its name, within the service's 64 characters. */
export const scheduleGroupName = (stackName: string): string => `${stackName.slice(0, 54)}-scheduled`;
