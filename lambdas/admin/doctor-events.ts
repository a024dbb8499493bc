/**
 * The path of SES events: each configuration set (one per tracking choice) sends and publishes the
 * event types its tracking choice asks for to the events topic, and the topic invokes the ingest
 * function through a confirmed subscription with a dead-letter queue.
 */
import {
  GetConfigurationSetCommand,
  GetConfigurationSetEventDestinationsCommand,
  type EventDestination,
  type GetConfigurationSetCommandOutput,
} from '@aws-sdk/client-sesv2';
import { GetSubscriptionAttributesCommand, ListSubscriptionsByTopicCommand, type Subscription } from '@aws-sdk/client-sns';
import { CONFIGURATION_SET_CHOICES, configurationSetName } from '../core/routes';
import { publishedEventTypes, type SesTlsPolicy, SUPPRESSED_REASONS, tlsPolicyFor } from '../core/domain/configuration-sets';
import { type CheckResult, type DoctorDeps, fail, ok, warn } from './doctor-check';
import { unset } from './doctor-config';

const isNotFound = (error: unknown) => (error as { name?: string } | undefined)?.name === 'NotFoundException';

export async function checkConfigurationSets(deps: Pick<DoctorDeps, 'ses' | 'config'>): Promise<CheckResult[]> {
  const prefix = deps.config.configurationSetPrefix;
  if (prefix === undefined) return [fail('configuration sets', unset('SESAME_CONFIGURATION_SET'))];
  return Promise.all(CONFIGURATION_SET_CHOICES.map((choice) => checkConfigurationSet(deps, configurationSetName(prefix, choice), choice)));
}

async function checkConfigurationSet(
  deps: Pick<DoctorDeps, 'ses' | 'config'>,
  setName: string,
  choice: { readonly open: boolean; readonly click: boolean; readonly tls: 'opportunistic' | 'enforced' },
): Promise<CheckResult> {
  const name = `configuration set ${setName}`;
  let set: GetConfigurationSetCommandOutput;
  let destinations: EventDestination[];
  try {
    set = await deps.ses.send(new GetConfigurationSetCommand({ ConfigurationSetName: setName }));
    destinations = (await deps.ses.send(new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: setName }))).EventDestinations ?? [];
  } catch (error) {
    if (!isNotFound(error)) throw error;
    return fail(name, `SES has no configuration set ${setName}: deploy the stack (cdk deploy), or set SESAME_CONFIGURATION_SET to its ConfigurationSetPrefix output`);
  }
  return assessConfigurationSet(name, set, destinations, publishedEventTypes(choice), deps.config.eventsTopicArn, tlsPolicyFor(choice));
}

/** One configuration set against what the stack makes. Pure. */
export function assessConfigurationSet(
  name: string,
  set: Pick<GetConfigurationSetCommandOutput, 'ConfigurationSetName' | 'SendingOptions' | 'SuppressionOptions' | 'DeliveryOptions'>,
  destinations: readonly EventDestination[],
  expected: readonly string[],
  topicArn: string | undefined,
  tlsPolicy?: SesTlsPolicy,
): CheckResult {
  const setName = set.ConfigurationSetName ?? name;
  if (set.SendingOptions?.SendingEnabled === false) {
    return fail(name, `sending through the set is paused: aws sesv2 put-configuration-set-sending-options --configuration-set-name ${setName} --sending-enabled`);
  }
  const actualTls = set.DeliveryOptions?.TlsPolicy ?? 'OPTIONAL';
  if (tlsPolicy !== undefined && actualTls !== tlsPolicy) {
    return fail(name, tlsPolicy === 'REQUIRE'
      ? `its TLS policy is ${actualTls}, not REQUIRE: emails of domains with tls enforced may be delivered without TLS; the stack makes it so: cdk deploy`
      : `its TLS policy is ${actualTls}, not OPTIONAL: emails to servers without TLS are not delivered; the stack makes it so: cdk deploy`);
  }
  if (topicArn === undefined) return fail(name, `cannot tell where its events go: ${unset('SESAME_EVENTS_TOPIC_ARN')}`);
  const toTopic = destinations.filter((d) => d.SnsDestination?.TopicArn === topicArn);
  const redeploy = 'the stack makes it so: cdk deploy';
  if (toTopic.length === 0) {
    const elsewhere = destinations.map((d) => d.SnsDestination?.TopicArn ?? d.Name).filter(Boolean);
    return fail(name, `no event destination publishes to ${topicArn}${elsewhere.length ? ` (only to ${elsewhere.join(', ')})` : ''}: no email sent through it gets a status; ${redeploy}, or check SESAME_EVENTS_TOPIC_ARN`);
  }
  const enabled = toTopic.filter((d) => d.Enabled === true);
  if (enabled.length === 0) {
    return fail(name, `its event destination ${toTopic.map((d) => d.Name).join(', ')} is disabled: no email sent through it gets a status; ${redeploy}`);
  }
  const published = new Set<string>(enabled.flatMap((d) => d.MatchingEventTypes ?? []));
  const missing = expected.filter((t) => !published.has(t));
  if (missing.length > 0) return fail(name, `does not publish ${missing.join(', ')} to the topic: those statuses and webhooks never happen; ${redeploy}`);
  const extra = ['OPEN', 'CLICK'].filter((t) => published.has(t) && !expected.includes(t));
  if (extra.length > 0) {
    return warn(name, `publishes ${extra.join(' and ')}, which its tracking choice does not ask for: SES adds tracking to emails from domains that turned it off; ${redeploy}`);
  }
  // A set's own suppression options override each SES tenant's scope: the stack makes none.
  const options = set.SuppressionOptions;
  if (options !== undefined && options.SuppressionScope !== 'TENANT') {
    return warn(name, `has suppression options of its own, which override each tenant's own suppression list (tenants would share the ${options.SuppressionScope === 'ACCOUNT' ? "account's" : "set's"} list): ${redeploy}, or aws sesv2 put-configuration-set-suppression-options --configuration-set-name ${setName} --suppression-scope TENANT --suppressed-reasons ${SUPPRESSED_REASONS.join(' ')}`);
  }
  const reasons = options?.SuppressedReasons;
  if (reasons !== undefined) {
    const unsuppressed = SUPPRESSED_REASONS.filter((r) => !reasons.includes(r));
    if (unsuppressed.length > 0) {
      return warn(name, `does not suppress addresses after a ${unsuppressed.join(' or ').toLowerCase()}: aws sesv2 put-configuration-set-suppression-options --configuration-set-name ${setName} --suppression-scope TENANT --suppressed-reasons ${SUPPRESSED_REASONS.join(' ')}`);
    }
  }
  return ok(name, `sending; publishes ${expected.length} event types to the topic; each tenant's own suppression list applies`);
}

/** Stands in for the topic and its subscription in local mode. */
export const LOCAL_EVENTS_PATH =
  'local mode: no SNS topic; the local SES endpoint hands each event to the ingest handler in-process, as the subscription would';

export async function checkSubscription(deps: Pick<DoctorDeps, 'sns' | 'config'>): Promise<CheckResult[]> {
  const name = 'events subscription';
  const { config } = deps;
  if (config.local) return [ok(name, LOCAL_EVENTS_PATH)];
  if (config.eventsTopicArn === undefined) return [fail(name, unset('SESAME_EVENTS_TOPIC_ARN'))];
  let subscriptions: Subscription[];
  try {
    subscriptions = await listSubscriptions(deps.sns, config.eventsTopicArn);
  } catch (error) {
    if (!isNotFound(error) && (error as { name?: string }).name !== 'NotFound') throw error;
    return [fail(name, `the topic ${config.eventsTopicArn} does not exist: deploy the stack (cdk deploy), or check SESAME_EVENTS_TOPIC_ARN`)];
  }
  const lambdas = subscriptions.filter((s) => s.Protocol === 'lambda');
  const fn = config.ingestFunctionArn;
  const ingest = fn === undefined ? lambdas : lambdas.filter((s) => s.Endpoint === fn || s.Endpoint?.startsWith(`${fn}:`));
  if (ingest.length === 0) {
    const target = fn ?? 'any function';
    return [fail(name, `no subscription of the topic invokes ${target}: SES events are published and never applied; deploy the stack (cdk deploy)`)];
  }
  const results: CheckResult[] = [];
  for (const subscription of ingest) results.push(await assessSubscription(deps.sns, subscription, fn));
  return results;
}

async function listSubscriptions(sns: DoctorDeps['sns'], topicArn: string): Promise<Subscription[]> {
  const all: Subscription[] = [];
  let next: string | undefined;
  do {
    const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: next }));
    all.push(...(page.Subscriptions ?? []));
    next = page.NextToken;
  } while (next);
  return all;
}

async function assessSubscription(sns: DoctorDeps['sns'], subscription: Subscription, ingestFunctionArn: string | undefined): Promise<CheckResult> {
  const name = 'events subscription';
  const endpoint = subscription.Endpoint ?? '?';
  // SNS lists an unconfirmed subscription under the ARN "PendingConfirmation".
  if (!subscription.SubscriptionArn || subscription.SubscriptionArn === 'PendingConfirmation') {
    return fail(name, `the subscription to ${endpoint} is pending confirmation: delete it and deploy the stack again (cdk deploy)`);
  }
  const { Attributes: attributes = {} } = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription.SubscriptionArn }));
  if (attributes.PendingConfirmation === 'true') {
    return fail(name, `the subscription to ${endpoint} is pending confirmation: delete it and deploy the stack again (cdk deploy)`);
  }
  const dlq = deadLetterTarget(attributes.RedrivePolicy);
  const which = ingestFunctionArn === undefined ? `a function (${endpoint})` : 'the ingest function';
  if (dlq === undefined) {
    return warn(name, `confirmed, invokes ${which}, but has no dead-letter queue: events SNS cannot hand to Lambda are lost after its retries; deploy the stack (cdk deploy)`);
  }
  if (ingestFunctionArn === undefined) return warn(name, `confirmed, invokes ${endpoint}; cannot tell whether it is the ingest function: ${unset('SESAME_INGEST_FUNCTION_ARN')}`);
  return ok(name, `confirmed, invokes the ingest function, dead-letter queue ${dlq.split(':').pop()}`);
}

function deadLetterTarget(redrivePolicy: string | undefined): string | undefined {
  if (!redrivePolicy) return undefined;
  try {
    const target = (JSON.parse(redrivePolicy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn;
    return typeof target === 'string' && target !== '' ? target : undefined;
  } catch {
    return undefined;
  }
}
