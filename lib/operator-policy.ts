import { Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { iam5ResourceFinding } from './nag-findings';
import { identityArn } from './sesame-function';

export interface OperatorPolicyProps {
  /** The table: tenants and keys (`tenants`, `keys`), and what re-ingesting parked events writes. */
  readonly table: ITable;
  /** Where `dlq redrive` moves webhook deliveries back to, and where re-ingested events fan out. */
  readonly webhookQueue: IQueue;
  /** The dead-letter queues `dlq redrive` drains. */
  readonly deadLetterQueues: readonly IQueue[];
  /** The SES events topic (`doctor` reads its subscriptions). */
  readonly eventsTopic: ITopic;
  /** The configuration sets (`doctor` reads them and their event destinations). */
  readonly configurationSetArns: readonly string[];
  /** The key of webhook signing secrets (`doctor` checks it is readable and well formed). */
  readonly secretsKey: ISecret;
}

/**
 * The managed policy the admin tool (`npx sesame`) needs, for the operator to attach to the role or
 * user that runs it: the tool runs with the operator's credentials, not a function's role. The
 * offline IAM evaluation (test/iam) checks every call the admin tool makes against this policy.
 *
 * - tenants and keys: the table's single-item reads and writes and its index queries;
 * - `dlq redrive`: receive and delete on the dead-letter queues, send to the webhook queue, and
 *   what ingesting an event does (the same table actions, the same fan-out);
 * - `doctor`: read-only checks of the SES account, configuration sets, identities, the topic's
 *   subscriptions, the queues and the signing-secrets key.
 */
export class OperatorPolicy extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const { table, webhookQueue, deadLetterQueues, eventsTopic, configurationSetArns, secretsKey } = props;
    const indexes = `${table.tableArn}/index/*`;
    const identities = identityArn(this);
    this.policy = new ManagedPolicy(this, 'Policy', {
      description: `Sesame (${Stack.of(this).stackName}): what the admin tool, npx sesame, needs`,
      statements: [
        new PolicyStatement({
          sid: 'TableItems',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [table.tableArn],
        }),
        new PolicyStatement({ sid: 'TableIndexes', actions: ['dynamodb:Query'], resources: [indexes] }),
        new PolicyStatement({
          sid: 'DrainDeadLetterQueues',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
          resources: deadLetterQueues.map((q) => q.queueArn),
        }),
        new PolicyStatement({ sid: 'WebhookQueue', actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], resources: [webhookQueue.queueArn] }),
        new PolicyStatement({ sid: 'SesAccount', actions: ['ses:GetAccount'], resources: ['*'] }),
        new PolicyStatement({
          sid: 'SesConfigurationSets',
          actions: ['ses:GetConfigurationSet', 'ses:GetConfigurationSetEventDestinations'],
          resources: [...configurationSetArns],
        }),
        new PolicyStatement({ sid: 'SesIdentities', actions: ['ses:GetEmailIdentity'], resources: [identities] }),
        new PolicyStatement({ sid: 'EventsTopic', actions: ['sns:ListSubscriptionsByTopic'], resources: [eventsTopic.topicArn] }),
        new PolicyStatement({ sid: 'EventsSubscriptions', actions: ['sns:GetSubscriptionAttributes'], resources: [`${eventsTopic.topicArn}:*`] }),
        new PolicyStatement({ sid: 'SecretsKey', actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: [secretsKey.secretArn] }),
      ],
    });
    this.acknowledgeWildcards(indexes, identities, `${eventsTopic.topicArn}:*`);
  }

  private acknowledgeWildcards(indexes: string, identities: string, subscriptions: string): void {
    const acknowledge = (id: string, reason: string) => Validations.of(this.policy).acknowledge({ id, reason });
    acknowledge(iam5ResourceFinding(this, indexes), "The table's own global secondary indexes (gsi1, gsi2 of lambdas/core/table.ts), which the admin tool queries; no other table.");
    acknowledge(
      iam5ResourceFinding(this, identities),
      "Read-only GetEmailIdentity on this account and region's SES identities: the customers' domains are created at run time, so their ARNs are unknown at deploy time.",
    );
    acknowledge(iam5ResourceFinding(this, subscriptions), "Read-only GetSubscriptionAttributes on the subscriptions of the stack's own events topic, whose ids SNS assigns.");
    acknowledge('AwsSolutions-IAM5[Resource::*]', 'ses:GetAccount (sending quota and status) has no resource type: IAM accepts only "*" for it.');
  }
}
