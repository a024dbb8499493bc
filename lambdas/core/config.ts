/**
 * Configuration, read once at cold start. A missing required variable fails loudly with its name.
 * Handlers call the narrow readers they need so that, for instance, the send function does not
 * demand the webhook queue's URL.
 */

import { type HostedZone, parseZones } from './domain/route53-records';
import { sesTenantPrefixOf } from './domain/ses-tenants';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

export function requireEnv(name: string, env: Env = process.env): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') throw new ConfigError(`Missing required environment variable ${name}`);
  return value.trim();
}

export function optionalEnv(name: string, fallback: string, env: Env = process.env): string {
  const value = env[name];
  return value === undefined || value.trim() === '' ? fallback : value.trim();
}

export function intEnv(name: string, fallback: number, env: Env = process.env, min = 0): number {
  const raw = optionalEnv(name, String(fallback), env);
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

/** A positive number, fractions allowed (a window of 0.05 minutes is 3 seconds, for local tests). */
export function positiveNumberEnv(name: string, fallback: number, env: Env = process.env): number {
  const raw = optionalEnv(name, String(fallback), env);
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a number > 0, got "${raw}"`);
  return value;
}

export const DEFAULT_RETRY_SCHEDULE = [0, 5, 300, 1800, 7200, 18000, 36000, 36000];

export function parseRetrySchedule(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return [...DEFAULT_RETRY_SCHEDULE];
  const parts = raw.split(',').map((p) => p.trim());
  const values = parts.map(Number);
  if (values.length === 0 || values.some((v, i) => parts[i] === '' || !Number.isFinite(v) || v < 0 || v > 43200)) {
    throw new ConfigError(`SESAME_WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds between 0 and 43200, got "${raw}"`);
  }
  return values;
}

/** Everything a handler may need; each field is validated only when read through its getter. */
export interface CoreConfig {
  readonly tableName: string;
  readonly region: string;
  readonly retentionDays: number;
}

export function readCoreConfig(env: Env = process.env): CoreConfig {
  return {
    tableName: requireEnv('SESAME_TABLE_NAME', env),
    region: requireEnv('AWS_REGION', env),
    retentionDays: intEnv('SESAME_RETENTION_DAYS', 30, env, 1),
  };
}

/** Where scheduled emails' schedules go (lambdas/core/adapters/schedules.ts). */
export interface SchedulerConfig {
  readonly scheduler: {
    /** SESAME_SCHEDULE_GROUP: the stack's schedule group. */
    readonly groupName: string;
    /** SESAME_DISPATCH_QUEUE_ARN: the queue schedules put their message on. */
    readonly queueArn: string;
    /** SESAME_SCHEDULER_ROLE_ARN: the role schedules run as. */
    readonly roleArn: string;
  };
}

export function readSchedulerConfig(env: Env = process.env): SchedulerConfig {
  const queueArn = requireEnv('SESAME_DISPATCH_QUEUE_ARN', env);
  if (!/^arn:[\w-]+:sqs:/.test(queueArn)) throw new ConfigError(`SESAME_DISPATCH_QUEUE_ARN must be an SQS queue ARN, got "${queueArn}"`);
  return {
    scheduler: { groupName: requireEnv('SESAME_SCHEDULE_GROUP', env), queueArn, roleArn: requireEnv('SESAME_SCHEDULER_ROLE_ARN', env) },
  };
}

/** The SES tenants of Sesame's tenants are named `<prefix>-<tenant id>` (see sesTenantName). */
export interface SesTenantConfig {
  /** Derived from SESAME_STACK_NAME, the stack's name (sesTenantPrefixOf). */
  readonly sesTenantPrefix: string;
}

export function readSesTenantConfig(env: Env = process.env): SesTenantConfig {
  return { sesTenantPrefix: sesTenantPrefixOf(requireEnv('SESAME_STACK_NAME', env)) };
}

export interface SendConfig extends CoreConfig, SchedulerConfig, WebhookQueueConfig, SesTenantConfig {
  /** Prefix of the configuration sets: `<prefix>-<tracking>` (see configurationSetName). */
  readonly configurationSet: string;
  /**
   * Seconds a request that died mid-way (its function timed out or crashed) keeps its
   * Idempotency-Key blocked; a retry meanwhile gets 409 concurrent_idempotent_requests.
   */
  readonly idempotencyLockSeconds: number;
  /** W, SESAME_SEND_RETRY_WINDOW_MINUTES (default 15). */
  readonly sendRetryWindowMinutes: number;
  /** The content bucket (SESAME_CONTENT_BUCKET): attachments of sent emails. */
  readonly contentBucket: string;
}

export function readSendConfig(env: Env = process.env): SendConfig {
  return {
    ...readCoreConfig(env),
    ...readSchedulerConfig(env),
    ...readWebhookQueueConfig(env),
    ...readSesTenantConfig(env),
    configurationSet: requireEnv('SESAME_CONFIGURATION_SET', env),
    idempotencyLockSeconds: intEnv('SESAME_IDEMPOTENCY_LOCK_SECONDS', 60, env, 1),
    sendRetryWindowMinutes: positiveNumberEnv('SESAME_SEND_RETRY_WINDOW_MINUTES', DEFAULT_SEND_RETRY_WINDOW_MINUTES, env),
    contentBucket: requireEnv('SESAME_CONTENT_BUCKET', env),
  };
}

/** The stack name local mode (and the tests) tag SES identities with, when SESAME_STACK_NAME is not set. */
export const LOCAL_STACK_NAME = 'sesame-local';

/** The prefix of local mode's configuration sets (SESAME_CONFIGURATION_SET), and the tests'. */
export const LOCAL_CONFIGURATION_SET = 'sesame';

/**
 * W: how long a keyed retry waits for the Send event of an email whose SendEmail outcome is
 * unknown before it sends again. SES publishes Send events within seconds; a retry sooner than
 * this answers 409.
 */
export const DEFAULT_SEND_RETRY_WINDOW_MINUTES = 15;

/** The dispatch function: sends scheduled emails (SQS consumer); `email.failed` goes to the webhook queue. */
export interface DispatchConfig extends CoreConfig, WebhookQueueConfig, SesTenantConfig {
  readonly configurationSet: string;
  /** The content bucket (SESAME_CONTENT_BUCKET): where a scheduled email's attachments wait for it. */
  readonly contentBucket: string;
  /** The queue it consumes (SESAME_DISPATCH_QUEUE_URL); when absent, derived from each record's eventSourceARN. */
  readonly dispatchQueueUrl?: string;
}

export function readDispatchConfig(env: Env = process.env): DispatchConfig {
  const queueUrl = optionalEnv('SESAME_DISPATCH_QUEUE_URL', '', env);
  return {
    ...readCoreConfig(env),
    ...readWebhookQueueConfig(env),
    ...readSesTenantConfig(env),
    configurationSet: requireEnv('SESAME_CONFIGURATION_SET', env),
    contentBucket: requireEnv('SESAME_CONTENT_BUCKET', env),
    ...(queueUrl !== '' ? { dispatchQueueUrl: queueUrl } : {}),
  };
}

/** The inbound function (SES receiving): reads raw messages and writes received emails' content, queues email.received. */
export interface InboundConfig extends CoreConfig, WebhookQueueConfig {
  readonly contentBucket: string;
}

export function readInboundConfig(env: Env = process.env): InboundConfig {
  return { ...readCoreConfig(env), ...readWebhookQueueConfig(env), contentBucket: requireEnv('SESAME_CONTENT_BUCKET', env) };
}

/** The topic local mode's events come from, when SESAME_EVENTS_TOPIC_ARN is not set there. */
export const LOCAL_EVENTS_TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:sesame-events';

export interface IngestConfig extends CoreConfig {
  /** The only SNS topic whose messages are accepted (SESAME_EVENTS_TOPIC_ARN). */
  readonly eventsTopicArn: string;
}

export function readIngestConfig(env: Env = process.env): IngestConfig {
  const eventsTopicArn = requireEnv('SESAME_EVENTS_TOPIC_ARN', env);
  if (!/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(eventsTopicArn)) {
    throw new ConfigError(`SESAME_EVENTS_TOPIC_ARN must be an SNS topic ARN, got "${eventsTopicArn}"`);
  }
  return { ...readCoreConfig(env), eventsTopicArn };
}

/** AWS's SNS certificate hosts. */
export const DEFAULT_SNS_CERT_HOST = '^sns\\.[a-zA-Z0-9\\-]{3,}\\.amazonaws\\.com(\\.cn)?$';

export interface SnsHttpsConfig extends IngestConfig {
  /** Pattern for the host (with any port) of an SNS SigningCertURL (SESAME_SNS_CERT_HOST). */
  readonly snsCertHost: RegExp;
}

export function readSnsHttpsConfig(env: Env = process.env): SnsHttpsConfig {
  const raw = optionalEnv('SESAME_SNS_CERT_HOST', DEFAULT_SNS_CERT_HOST, env);
  let snsCertHost: RegExp;
  try {
    snsCertHost = new RegExp(raw);
  } catch {
    throw new ConfigError(`SESAME_SNS_CERT_HOST must be a regular expression, got "${raw}"`);
  }
  if (!raw.startsWith('^') || !raw.endsWith('$')) {
    throw new ConfigError(`SESAME_SNS_CERT_HOST must be anchored with ^ and $, got "${raw}"`);
  }
  return { ...readIngestConfig(env), snsCertHost };
}

/** The queues `npx sesame dlq redrive` drains; each is optional, an absent one is reported as skipped. */
export interface DlqConfig {
  /** The SNS subscription's DLQ: SNS messages it could not deliver to ingest. */
  readonly eventsDlqUrl?: string;
  /** The ingest function's on-failure destination: invocation records of failed events. */
  readonly ingestFailureDlqUrl?: string;
  /** The webhook queue's DLQ, and the queue its messages go back to. */
  readonly webhookDlqUrl?: string;
  readonly webhookQueueUrl?: string;
  /** The inbound function's on-failure destination (receiving on): invocation records of SES receipt events. */
  readonly inboundDlqUrl?: string;
  /** The dispatch queue's DLQ (scheduled emails), and the queue its messages go back to. */
  readonly dispatchDlqUrl?: string;
  readonly dispatchQueueUrl?: string;
}

export function readDlqConfig(env: Env = process.env): DlqConfig {
  const pick = (name: string) => {
    const value = optionalEnv(name, '', env);
    return value === '' ? undefined : value;
  };
  const config: DlqConfig = {
    ...(pick('SESAME_EVENTS_DLQ_URL') ? { eventsDlqUrl: pick('SESAME_EVENTS_DLQ_URL')! } : {}),
    ...(pick('SESAME_INGEST_FAILURE_DLQ_URL') ? { ingestFailureDlqUrl: pick('SESAME_INGEST_FAILURE_DLQ_URL')! } : {}),
    ...(pick('SESAME_WEBHOOK_DLQ_URL') ? { webhookDlqUrl: pick('SESAME_WEBHOOK_DLQ_URL')! } : {}),
    ...(pick('SESAME_WEBHOOK_QUEUE_URL') ? { webhookQueueUrl: pick('SESAME_WEBHOOK_QUEUE_URL')! } : {}),
    ...(pick('SESAME_INBOUND_DLQ_URL') ? { inboundDlqUrl: pick('SESAME_INBOUND_DLQ_URL')! } : {}),
    ...(pick('SESAME_DISPATCH_DLQ_URL') ? { dispatchDlqUrl: pick('SESAME_DISPATCH_DLQ_URL')! } : {}),
    ...(pick('SESAME_DISPATCH_QUEUE_URL') ? { dispatchQueueUrl: pick('SESAME_DISPATCH_QUEUE_URL')! } : {}),
  };
  if (config.webhookDlqUrl !== undefined && config.webhookQueueUrl === undefined) {
    throw new ConfigError('Missing required environment variable SESAME_WEBHOOK_QUEUE_URL (where SESAME_WEBHOOK_DLQ_URL\'s messages go back to)');
  }
  if (config.dispatchDlqUrl !== undefined && config.dispatchQueueUrl === undefined) {
    throw new ConfigError('Missing required environment variable SESAME_DISPATCH_QUEUE_URL (where SESAME_DISPATCH_DLQ_URL\'s messages go back to)');
  }
  return config;
}

/** `1`/`true` or `0`/`false` (absent: false); anything else fails with the variable's name. */
export function flagEnv(name: string, env: Env = process.env): boolean {
  const raw = optionalEnv(name, '0', env).toLowerCase();
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ConfigError(`${name} must be 1 or 0, got "${raw}"`);
}

/** What queues webhook deliveries: the fan-out (ingestion) and the replay routes. */
export interface WebhookQueueConfig {
  readonly webhookQueueUrl: string;
  /** Seconds before each attempt, the first included (SESAME_WEBHOOK_RETRY_SCHEDULE). */
  readonly retrySchedule: readonly number[];
}

export function readWebhookQueueConfig(env: Env = process.env): WebhookQueueConfig {
  return {
    webhookQueueUrl: requireEnv('SESAME_WEBHOOK_QUEUE_URL', env),
    retrySchedule: parseRetrySchedule(env.SESAME_WEBHOOK_RETRY_SCHEDULE),
  };
}

/** The domains function and the domain verifier: they change domains, and queue domain events. */
export interface DomainsConfig extends CoreConfig, WebhookQueueConfig {
  /** The stack's name (SESAME_STACK_NAME): the sesame_stack tag of every identity it creates. */
  readonly stackName: string;
  /** The base of the automatic checks' schedule (SESAME_DOMAIN_CHECK_BASE_SECONDS, default 60). */
  readonly checkBaseSeconds: number;
  /** Route 53 zones Sesame writes domain records into (SESAME_ROUTE53_ZONES, `<id>:<name>,...`; default none). */
  readonly route53Zones: readonly HostedZone[];
}

export function readDomainsConfig(env: Env = process.env): DomainsConfig {
  let route53Zones: HostedZone[];
  try {
    route53Zones = parseZones(optionalEnv('SESAME_ROUTE53_ZONES', '', env));
  } catch (error) {
    throw new ConfigError(`SESAME_ROUTE53_ZONES: ${(error as Error).message}`);
  }
  return {
    ...readCoreConfig(env), ...readWebhookQueueConfig(env), stackName: requireEnv('SESAME_STACK_NAME', env),
    checkBaseSeconds: intEnv('SESAME_DOMAIN_CHECK_BASE_SECONDS', 60, env, 1), route53Zones,
  };
}

/** Where the key that seals webhook signing secrets comes from: exactly one of the two. */
export interface SecretsKeyConfig {
  /** SESAME_SECRETS_KEY: the key itself (base64 of 32 bytes, or 64 hex); local mode and tests. */
  readonly secretsKey?: string;
  /** SESAME_SECRETS_KEY_ARN: a Secrets Manager secret holding the key (64 hex); AWS. */
  readonly secretsKeyArn?: string;
}

export function readSecretsKeyConfig(env: Env = process.env): SecretsKeyConfig {
  const key = optionalEnv('SESAME_SECRETS_KEY', '', env);
  if (key !== '') return { secretsKey: key };
  return { secretsKeyArn: requireEnv('SESAME_SECRETS_KEY_ARN', env) };
}

/** The account function: /webhooks (and /api-keys). */
export interface AccountConfig extends CoreConfig, WebhookQueueConfig, SecretsKeyConfig, SesTenantConfig {
  /** SESAME_ALLOW_LOOPBACK_WEBHOOKS=1 (local mode): loopback and plain-http endpoints may be registered. */
  readonly allowLoopbackWebhooks: boolean;
}

export function readAccountConfig(env: Env = process.env): AccountConfig {
  return {
    ...readCoreConfig(env),
    ...readWebhookQueueConfig(env),
    ...readSecretsKeyConfig(env),
    ...readSesTenantConfig(env),
    allowLoopbackWebhooks: flagEnv('SESAME_ALLOW_LOOPBACK_WEBHOOKS', env),
  };
}

/** The deliver function (SQS consumer). */
export interface DeliverConfig extends CoreConfig, SecretsKeyConfig {
  readonly retrySchedule: readonly number[];
  readonly allowLoopbackWebhooks: boolean;
  /** The queue it consumes; when absent, derived from each record's eventSourceARN. */
  readonly webhookQueueUrl?: string;
}

export function readDeliverConfig(env: Env = process.env): DeliverConfig {
  const queueUrl = optionalEnv('SESAME_WEBHOOK_QUEUE_URL', '', env);
  return {
    ...readCoreConfig(env),
    ...readSecretsKeyConfig(env),
    retrySchedule: parseRetrySchedule(env.SESAME_WEBHOOK_RETRY_SCHEDULE),
    allowLoopbackWebhooks: flagEnv('SESAME_ALLOW_LOOPBACK_WEBHOOKS', env),
    ...(queueUrl !== '' ? { webhookQueueUrl: queueUrl } : {}),
  };
}

/** Most tenants SESAME_METRICS_TENANTS may list: each listed tenant's metrics are billed as custom metrics. */
export const MAX_METRICS_TENANTS = 20;

/** SESAME_METRICS_TENANTS: comma-separated tenant ids whose business metrics also get a `tenant` dimension. */
export function parseMetricsTenants(raw: string | undefined): ReadonlySet<string> {
  const ids = (raw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (ids.length > MAX_METRICS_TENANTS) {
    throw new ConfigError(`SESAME_METRICS_TENANTS lists ${ids.length} tenants; at most ${MAX_METRICS_TENANTS} get their own metrics`);
  }
  return new Set(ids);
}

/** Request logs (GET /logs), recorded by every API function. */
export interface RequestLogConfig {
  /** SESAME_REQUEST_LOGS: 0 turns request logging off (default on). */
  readonly enabled: boolean;
  /** SESAME_LOG_RETENTION_DAYS: days a request log is kept (default 7). */
  readonly retentionDays: number;
}

export function readRequestLogConfig(env: Env = process.env): RequestLogConfig {
  const enabled = optionalEnv('SESAME_REQUEST_LOGS', '', env) === '' || flagEnv('SESAME_REQUEST_LOGS', env);
  return { enabled, retentionDays: intEnv('SESAME_LOG_RETENTION_DAYS', 7, env, 1) };
}
