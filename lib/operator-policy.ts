import { Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { contentObjectPattern } from './content-bucket';
import { iam5ResourceFinding } from './nag-findings';
import { identityArn, tenantArn } from './sesame-function';

export interface OperatorPolicyProps {
  /** The table: tenants and keys (`tenants`, `keys`), and what re-ingesting parked events writes. */
  readonly table: ITable;
  /** Where `dlq redrive` moves webhook deliveries back to, and where re-ingested events fan out. */
  readonly webhookQueue: IQueue;
  /** The dead-letter queues `dlq redrive` drains. */
  readonly deadLetterQueues: readonly IQueue[];
  /** Where `dlq redrive` moves the dispatch DLQ's scheduled emails back to. */
  readonly dispatchQueue: IQueue;
  /** The SES events topic (`doctor` reads its subscriptions). */
  readonly eventsTopic: ITopic;
  /** The configuration sets (`doctor` reads them and their event destinations). */
  readonly configurationSetArns: readonly string[];
  /** The key of webhook signing secrets (`doctor` checks it is readable and well formed). */
  readonly secretsKey: ISecret;
  /** SES tenants are `<prefix>-<tenant id>` (`tenants create`, `show`, `list`, `migrate`). */
  readonly sesTenantPrefix: string;
  /** SES receiving is on: doctor reads which receipt rule set is active. @default false */
  readonly receiving?: boolean;
  /**
   * Receiving on, the content bucket: `dlq redrive` processes parked receipt events again as the
   * inbound function does (reads and deletes raw messages, writes received emails' content).
   */
  readonly contentBucket?: IBucket;
}

/**
 * The managed policy the admin tool (`npx sesame`) needs, for the operator to attach to the role or
 * user that runs it: the tool runs with the operator's credentials, not a function's role. The
 * offline IAM evaluation (test/iam) checks every call the admin tool makes against this policy.
 *
 * - tenants and keys: the table's single-item reads and writes and its index queries;
 * - `dlq redrive`: receive and delete on the dead-letter queues, send to the webhook queue and (the
 *   dispatch DLQ's scheduled emails) to the dispatch queue, and what ingesting an event does (the
 *   same table actions, the same fan-out); receiving on, what the
 *   inbound function does with a receipt event (read and delete the raw message under `inbound/`,
 *   write the received email's content under `received/`);
 * - `doctor`: read-only checks of the SES account, configuration sets, identities, the topic's
 *   subscriptions, the queues, the signing-secrets key and (receiving on) the active receipt rule set;
 * - `tenants`: this stack's SES tenants (create, suppression settings, reputation policy, resource
 *   associations with the configuration sets and identities, status, suppressed addresses), and one
 *   Scan of the table for `tenants migrate`, which finds tenants made before they were listed.
 */
export class OperatorPolicy extends Construct {
  readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorPolicyProps) {
    super(scope, id);
    const { table, webhookQueue, dispatchQueue, deadLetterQueues, eventsTopic, configurationSetArns, secretsKey, sesTenantPrefix } = props;
    const tenants = tenantArn(this, sesTenantPrefix);
    const reputationPolicies = Stack.of(this).formatArn({ service: 'ses', account: 'aws', resource: 'reputation-policy', resourceName: '*' });
    const indexes = `${table.tableArn}/index/*`;
    const identities = identityArn(this);
    const received = props.receiving && props.contentBucket
      ? { raw: props.contentBucket.arnForObjects(contentObjectPattern('inbound')), content: props.contentBucket.arnForObjects(contentObjectPattern('received')) }
      : undefined;
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
        new PolicyStatement({ sid: 'DispatchQueue', actions: ['sqs:SendMessage'], resources: [dispatchQueue.queueArn] }),
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
        new PolicyStatement({ sid: 'TenantsMigrate', actions: ['dynamodb:Scan'], resources: [table.tableArn] }),
        new PolicyStatement({
          sid: 'SesTenants',
          actions: [
            'ses:CreateTenant', 'ses:GetTenant', 'ses:PutTenantSuppressionAttributes', 'ses:GetReputationEntity',
            'ses:ListTenantResources', 'ses:ListSuppressedDestinations',
          ],
          resources: [tenants],
        }),
        new PolicyStatement({ sid: 'SesTenantReputationPolicy', actions: ['ses:UpdateReputationEntityPolicy'], resources: [tenants, reputationPolicies] }),
        new PolicyStatement({
          sid: 'SesTenantResources',
          actions: ['ses:CreateTenantResourceAssociation'],
          resources: [tenants, identities, ...configurationSetArns],
        }),
        new PolicyStatement({ sid: 'SesListTenants', actions: ['ses:ListTenants'], resources: ['*'] }),
        ...(props.receiving ? [new PolicyStatement({ sid: 'SesActiveReceiptRuleSet', actions: ['ses:DescribeActiveReceiptRuleSet'], resources: ['*'] })] : []),
        ...(received ? [
          new PolicyStatement({ sid: 'RedriveRawMessages', actions: ['s3:GetObject', 's3:DeleteObject'], resources: [received.raw] }),
          new PolicyStatement({ sid: 'RedriveReceivedContent', actions: ['s3:PutObject'], resources: [received.content] }),
        ] : []),
      ],
    });
    this.acknowledgeWildcards(indexes, identities, `${eventsTopic.topicArn}:*`, tenants, reputationPolicies);
    if (received) {
      const acknowledge = (resource: string, reason: string) => Validations.of(this.policy).acknowledge({ id: iam5ResourceFinding(this, resource), reason });
      acknowledge(received.raw, 'dlq redrive of the inbound DLQ: the raw received messages, one object per SES message id, which SES names; only the inbound/ prefix of the content bucket.');
      acknowledge(received.content, "dlq redrive of the inbound DLQ: a received email's content, under keys derived from ids made at run time; only the received/ prefix of the content bucket.");
    }
  }

  private acknowledgeWildcards(indexes: string, identities: string, subscriptions: string, tenants: string, reputationPolicies: string): void {
    const acknowledge = (id: string, reason: string) => Validations.of(this.policy).acknowledge({ id, reason });
    acknowledge(iam5ResourceFinding(this, indexes), "The table's own global secondary indexes (gsi1, gsi2 of lambdas/core/table.ts), which the admin tool queries; no other table.");
    acknowledge(
      iam5ResourceFinding(this, identities),
      "Read-only GetEmailIdentity on this account and region's SES identities: the customers' domains are created at run time, so their ARNs are unknown at deploy time.",
    );
    acknowledge(iam5ResourceFinding(this, subscriptions), "Read-only GetSubscriptionAttributes on the subscriptions of the stack's own events topic, whose ids SNS assigns.");
    acknowledge(
      iam5ResourceFinding(this, tenants),
      "This stack's SES tenants, one per Sesame tenant, made by the admin tool: SES appends an id it generates to a tenant's ARN (tenant/<name>/<id>), so tenant/<stack prefix>-* names them.",
    );
    acknowledge(iam5ResourceFinding(this, reputationPolicies), "SES's own managed reputation policies (none, standard, strict), which a tenant's policy is set to.");
    acknowledge('AwsSolutions-IAM5[Resource::*]', 'ses:GetAccount (sending quota and status), ses:ListTenants and ses:DescribeActiveReceiptRuleSet have no resource type: IAM accepts only "*" for them.');
  }
}
