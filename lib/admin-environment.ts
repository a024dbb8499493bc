import { Aws, CfnOutput } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { DoctorVariable } from '../lambdas/admin/doctor-config';

/** What the admin tool reads from a deployed stack: doctor's variables, the region and the queues dlq redrive moves messages back to. */
export type AdminVariable =
  | Exclude<DoctorVariable, 'SESAME_LOCAL' | 'SESAME_SECRETS_KEY'>
  | 'AWS_REGION'
  | 'SESAME_WEBHOOK_QUEUE_URL'
  | 'SESAME_DISPATCH_QUEUE_URL'
  | 'SESAME_STACK_NAME'
  | 'SESAME_CONTENT_BUCKET';

export interface AdminEnvironmentProps {
  readonly table: ITable;
  readonly configurationSetPrefix: string;
  /** The stack's name: SES tenants are `<prefix>-<tenant id>`, the prefix derived from it (tenants create, show, list, migrate). */
  readonly stackName: string;
  readonly eventsTopic: ITopic;
  readonly ingest: IFunction;
  readonly eventsDeadLetterQueue: IQueue;
  readonly ingestFailureQueue: IQueue;
  readonly webhookQueue: IQueue;
  readonly webhookDeadLetterQueue: IQueue;
  /** Scheduled sending: the dispatch queue's DLQ (doctor's depth, `dlq redrive`) and the queue its messages go back to. */
  readonly dispatchQueue: IQueue;
  readonly dispatchDeadLetterQueue: IQueue;
  readonly secretsKey: ISecret;
  /** The Route 53 zones Sesame writes records into, as SESAME_ROUTE53_ZONES names them ('' for none). */
  readonly route53Zones: string;
  /** Sesame's receipt rule set ('' when receiving is off). */
  readonly receiptRuleSet: string;
  /**
   * Receiving on: the inbound function's on-failure queue (doctor's depth, `dlq redrive`) and the
   * content bucket its parked events are processed again against. Off: both variables are empty.
   */
  readonly inbound?: { readonly deadLetterQueue: IQueue; readonly contentBucket: string };
}

/**
 * The `AdminEnvironment` output: one line of `NAME=value` pairs that points `npx sesame` (doctor,
 * dlq redrive, tenants, keys) at this stack, as local mode prints its own. An operator prefixes it
 * to the command, with credentials for the account.
 */
export class AdminEnvironment extends Construct {
  /** The variables, in the order the line names them. */
  readonly variables: Readonly<Record<AdminVariable, string>>;

  constructor(scope: Construct, id: string, props: AdminEnvironmentProps) {
    super(scope, id);
    this.variables = {
      AWS_REGION: Aws.REGION,
      SESAME_TABLE_NAME: props.table.tableName,
      SESAME_CONFIGURATION_SET: props.configurationSetPrefix,
      SESAME_STACK_NAME: props.stackName,
      SESAME_EVENTS_TOPIC_ARN: props.eventsTopic.topicArn,
      SESAME_INGEST_FUNCTION_ARN: props.ingest.functionArn,
      SESAME_EVENTS_DLQ_URL: props.eventsDeadLetterQueue.queueUrl,
      SESAME_INGEST_FAILURE_DLQ_URL: props.ingestFailureQueue.queueUrl,
      SESAME_WEBHOOK_QUEUE_URL: props.webhookQueue.queueUrl,
      SESAME_WEBHOOK_DLQ_URL: props.webhookDeadLetterQueue.queueUrl,
      SESAME_SECRETS_KEY_ARN: props.secretsKey.secretArn,
      SESAME_ROUTE53_ZONES: props.route53Zones,
      SESAME_RECEIPT_RULE_SET: props.receiptRuleSet,
      SESAME_INBOUND_DLQ_URL: props.inbound?.deadLetterQueue.queueUrl ?? '',
      SESAME_CONTENT_BUCKET: props.inbound?.contentBucket ?? '',
      SESAME_DISPATCH_QUEUE_URL: props.dispatchQueue.queueUrl,
      SESAME_DISPATCH_DLQ_URL: props.dispatchDeadLetterQueue.queueUrl,
    };
    const output = new CfnOutput(this, 'Output', {
      value: Object.entries(this.variables).map(([name, value]) => `${name}=${value}`).join(' '),
      description: 'Prefix to npx sesame (doctor, dlq redrive, tenants, keys) to point it at this stack',
    });
    output.overrideLogicalId('AdminEnvironment');
  }
}
