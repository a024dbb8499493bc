/**
 * Configuration, read once at cold start. A missing required variable fails loudly with its name.
 * Handlers call the narrow readers they need so that, for instance, the send function does not
 * demand the webhook queue's URL.
 */

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

export interface SendConfig extends CoreConfig {
  /** Prefix of the configuration sets: `<prefix>-<tracking>` (see configurationSetName). */
  readonly configurationSet: string;
}

export function readSendConfig(env: Env = process.env): SendConfig {
  return { ...readCoreConfig(env), configurationSet: requireEnv('SESAME_CONFIGURATION_SET', env) };
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

/** AWS's SNS certificate hosts, as sns-validator has them. */
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
  };
  if (config.webhookDlqUrl !== undefined && config.webhookQueueUrl === undefined) {
    throw new ConfigError('Missing required environment variable SESAME_WEBHOOK_QUEUE_URL (where SESAME_WEBHOOK_DLQ_URL\'s messages go back to)');
  }
  return config;
}
