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
