import { createHash } from 'node:crypto';
import { Stack } from 'aws-cdk-lib';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import {
  ConfigurationSet,
  ConfigurationSetEventDestination,
  ConfigurationSetTlsPolicy,
  EmailSendingEvent,
  EventDestination,
} from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { CONFIGURATION_SET_CHOICES, type ConfigurationSetChoice, configurationSetName } from '../lambdas/core/routes';
import { publishedEventTypes, tlsPolicyFor } from '../lambdas/core/domain/configuration-sets';
import { DeadLetterQueue } from './dead-letter-queue';
import type { SesameFunction } from './sesame-function';

/**
 * The event types of a configuration set, as the CDK names them: those of publishedEventTypes
 * (lambdas/core/domain/configuration-sets.ts, which says why OPEN and CLICK depend on tracking).
 * SES v2's names are the enum's keys, so a type the CDK does not know is a compile error.
 */
export function eventTypesFor(tracking: { readonly open: boolean; readonly click: boolean }): EmailSendingEvent[] {
  return publishedEventTypes(tracking).map((type) => EmailSendingEvent[type]);
}

export interface SesEventsProps {
  /**
   * Prefix of the configuration set names (see configurationSetName). Configuration set names are
   * unique per account and region, so two stacks side by side need different prefixes.
   * @default - derived from the stack name (`Sesame` gives `sesame`)
   */
  readonly configurationSetPrefix?: string;
  /** The function that applies SES events; subscribed directly to the topic. */
  readonly ingest: SesameFunction;
  /** Attempts Lambda makes again after a failed asynchronous invocation of ingest. @default 2 */
  readonly ingestRetryAttempts?: number;
}

/**
 * SES configuration sets (one per tracking and TLS choice) publishing every event type to one SNS topic,
 * and the ingest function subscribed directly to that topic. Nothing is dropped on the way:
 * - SNS → Lambda: SNS hands the event to Lambda's asynchronous queue; if it cannot (throttling
 *   beyond SNS's retries, a permission error), the subscription's dead-letter queue keeps it.
 * - Lambda → ingest: a failing invocation is retried `ingestRetryAttempts` times, then sent to the
 *   on-failure destination, whose messages carry the original SNS event as `requestPayload`.
 */
export class SesEvents extends Construct {
  /** The topic every configuration set publishes to. */
  readonly topic: Topic;
  readonly configurationSetPrefix: string;
  /** One configuration set per entry of CONFIGURATION_SET_CHOICES, in the same order. */
  readonly configurationSets: ConfigurationSet[];
  /** ARNs of the configuration sets, for the send function's policy. */
  readonly configurationSetArns: string[];
  /** Keeps events SNS could not hand to Lambda. */
  readonly subscriptionDeadLetterQueue: DeadLetterQueue;
  /** Keeps events whose ingest invocations failed every attempt. */
  readonly ingestFailureQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: SesEventsProps) {
    super(scope, id);
    this.configurationSetPrefix = props.configurationSetPrefix ?? configurationSetPrefixFor(Stack.of(this).stackName);
    this.topic = new Topic(this, 'Topic', { enforceSSL: true });
    this.configurationSets = CONFIGURATION_SET_CHOICES.map((choice) => this.addConfigurationSet(choice));
    this.configurationSetArns = this.configurationSets.map((set) =>
      Stack.of(this).formatArn({ service: 'ses', resource: 'configuration-set', resourceName: set.configurationSetName }),
    );
    this.subscriptionDeadLetterQueue = new DeadLetterQueue(this, 'SubscriptionDlq', {
      purpose: 'SES events SNS could not deliver to the ingest function',
      targetOfServiceRedrive: true,
    });
    this.ingestFailureQueue = new DeadLetterQueue(this, 'IngestFailures', {
      purpose: "SES events whose ingest invocations failed every attempt",
      targetOfServiceRedrive: true,
    });
    this.subscribeIngest(props.ingest, props.ingestRetryAttempts ?? 2);
  }

  private addConfigurationSet(choice: ConfigurationSetChoice): ConfigurationSet {
    const name = configurationSetName(this.configurationSetPrefix, choice);
    const set = new ConfigurationSet(this, `ConfigurationSet-${name}`, {
      configurationSetName: name,
      tlsPolicy: ConfigurationSetTlsPolicy[tlsPolicyFor(choice)],
      // No suppression options: a set's own would override the SES tenants' scope, and each
      // tenant's own list must apply (lambdas/core/domain/configuration-sets.ts).
      reputationMetrics: true,
      sendingEnabled: true,
    });
    new ConfigurationSetEventDestination(this, `Destination-${name}`, {
      configurationSet: set,
      destination: EventDestination.snsTopic(this.topic),
      events: eventTypesFor(choice),
    });
    return set;
  }

  private subscribeIngest(ingest: SesameFunction, retryAttempts: number): void {
    // LambdaSubscription also grants sns.amazonaws.com invoke permission with the topic as SourceArn.
    const subscription = this.topic.addSubscription(new LambdaSubscription(ingest.fn, { deadLetterQueue: this.subscriptionDeadLetterQueue.queue }));
    // SES publishes a validation message to the topic when an event destination is created. Were the
    // subscription live before the permission, SNS could not invoke ingest with it, and it would land in
    // the subscription's DLQ and fire its alarm on the first deploy.
    for (const permission of ingest.fn.permissionsNode.children) {
      if (permission instanceof CfnPermission) subscription.node.addDependency(permission);
    }
    ingest.fn.configureAsyncInvoke({ retryAttempts, onFailure: new SqsDestination(this.ingestFailureQueue.queue) });
    ingest.bindEventsTopic(this.topic);
  }
}

/** Room a configuration set name (at most 64 characters) keeps for the longest tracking suffix, `-open-click`. */
const MAX_PREFIX_LENGTH = 64 - '-open-click'.length;

/**
 * The default configuration set prefix of a stack: its name in lower case (`Sesame` gives `sesame`),
 * cut to fit SES's 64 characters with a hash of the whole name, so that two stack names never share it.
 */
export function configurationSetPrefixFor(stackName: string): string {
  const name = stackName.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  if (name.length <= MAX_PREFIX_LENGTH) return name;
  const hash = createHash('sha256').update(stackName).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_PREFIX_LENGTH - hash.length - 1)}-${hash}`;
}
