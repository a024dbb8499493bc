import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { DeadLetterQueue } from './dead-letter-queue';

export interface SesameAlarmsProps {
  /** Every dead-letter queue of the stack: each gets an alarm on its depth. */
  readonly deadLetterQueues: readonly DeadLetterQueue[];
  /** Alarm when the account's SES bounce rate reaches this; AWS reviews an account at 5%. @default 0.04 */
  readonly bounceRateThreshold?: number;
  /** Alarm when the account's SES complaint rate reaches this; AWS reviews an account at 0.1%. @default 0.0008 */
  readonly complaintRateThreshold?: number;
  /** Create an SNS topic that every alarm notifies (on ALARM and back to OK). @default true */
  readonly createTopic?: boolean;
  /** Subscribe this address to the alarm topic (it must confirm). @default - no subscription */
  readonly alarmEmail?: string;
}

/**
 * Alarms that make sure nothing sits unnoticed: the depth of every dead-letter queue, and SES's
 * account reputation below the levels at which AWS reviews or pauses sending.
 */
export class SesameAlarms extends Construct {
  /** The topic alarms notify, when created. */
  readonly topic?: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: SesameAlarmsProps) {
    super(scope, id);
    if (props.alarmEmail !== undefined && props.createTopic === false) throw new Error('alarmEmail needs the alarm topic (createTopic)');
    if (props.createTopic ?? true) this.topic = this.createTopic(props.alarmEmail);
    props.deadLetterQueues.forEach((dlq, i) => this.addDeadLetterQueueAlarm(`Dlq${i}`, dlq));
    this.addReputationAlarm('BounceRate', 'Reputation.BounceRate', props.bounceRateThreshold ?? 0.04);
    this.addReputationAlarm('ComplaintRate', 'Reputation.ComplaintRate', props.complaintRateThreshold ?? 0.0008);
  }

  private createTopic(alarmEmail: string | undefined): Topic {
    const topic = new Topic(this, 'Topic', { enforceSSL: true, displayName: 'Sesame alarms' });
    if (alarmEmail) topic.addSubscription(new EmailSubscription(alarmEmail));
    return topic;
  }

  private addDeadLetterQueueAlarm(id: string, dlq: DeadLetterQueue): void {
    this.addAlarm(
      new Alarm(this, id, {
        alarmDescription: dlq.redriveVariable
          ? `Messages are parked in a dead-letter queue: ${dlq.purpose}. Once the cause is fixed, move them back with npx sesame dlq redrive (${dlq.redriveVariable} names this queue).`
          : `Messages are parked in a dead-letter queue: ${dlq.purpose}. Move them back with npx sesame once the cause is fixed.`,
        metric: dlq.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  private addReputationAlarm(id: string, metricName: string, threshold: number): void {
    this.addAlarm(
      new Alarm(this, id, {
        alarmDescription: `SES account ${metricName} is at or above ${threshold}, close to the level at which AWS reviews or pauses sending.`,
        metric: new Metric({ namespace: 'AWS/SES', metricName, statistic: 'Maximum', period: Duration.hours(1) }),
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  private addAlarm(alarm: Alarm): void {
    if (this.topic) {
      alarm.addAlarmAction(new SnsAction(this.topic));
      alarm.addOkAction(new SnsAction(this.topic));
    }
    this.alarms.push(alarm);
  }
}
