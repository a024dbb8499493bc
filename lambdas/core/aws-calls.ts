/**
 * Which Sesame function (or the admin tool) an AWS request is made for, and, only when
 * SESAME_AWS_CALL_LOG_DIR is set (the test suites, and local mode started by them), a record of
 * every AWS request each one makes: the operation, the resources it names and the tags it passes.
 * test/iam evaluates those records against each function's role in the synthesized template.
 *
 * Attribution is an AsyncLocalStorage set around each handler invocation (`attributed`), so it holds
 * where local mode shares one SDK client between handlers. Calls made outside any handler (test
 * set-up, local mode's own seeding and queue polling) are not recorded: they are nobody's role.
 *
 * With the variable unset (AWS Lambda), `attributed` returns the handler itself and
 * `recordAwsCalls` leaves the client alone: nothing runs per request.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { API_ROUTES } from './routes';

/** The principals whose calls are evaluated: the stack's functions and the admin tool. */
export const CALLERS = ['send', 'domains', 'account', 'snsHttps', 'console', 'ingest', 'deliver', 'verifyDomains', 'dispatch', 'inbound', 'admin'] as const;
export type Caller = (typeof CALLERS)[number];

/** Folder that receives one `<pid>.jsonl` file of recorded calls per process. */
export const CALL_LOG_ENV = 'SESAME_AWS_CALL_LOG_DIR';

/** A resource a request names, as the request names it (mapped to the stack's ARNs by test/iam). */
export type ResourceRef =
  | { readonly type: 'table'; readonly name: string }
  | { readonly type: 'index'; readonly table: string; readonly index: string }
  | { readonly type: 'identity'; readonly name: string }
  | { readonly type: 'configuration-set'; readonly name: string }
  | { readonly type: 'queue'; readonly url: string; readonly env?: string }
  | { readonly type: 'secret'; readonly id: string; readonly env?: string }
  | { readonly type: 'topic'; readonly arn: string; readonly env?: string }
  | { readonly type: 'subscription'; readonly arn: string }
  | { readonly type: 'schedule'; readonly group: string; readonly name: string; readonly roleArn?: string }
  | { readonly type: 'object'; readonly bucket: string; readonly key: string }
  /** An SES tenant, by name (its ARN ends with an id SES generates). */
  | { readonly type: 'tenant'; readonly name: string }
  /** An SES-managed reputation policy: none, standard or strict. */
  | { readonly type: 'reputation-policy'; readonly name: string };

export interface RecordedCall {
  readonly caller: Caller;
  /** The IAM service prefix: dynamodb, ses, sqs, secretsmanager, sns, scheduler, s3. */
  readonly service: string;
  /** The API operation, e.g. `GetItem`, `SendMessageBatch`. */
  readonly operation: string;
  readonly resources: readonly ResourceRef[];
  /** Tags the request sets (aws:RequestTag/<key>, aws:TagKeys). */
  readonly tags?: Readonly<Record<string, string>>;
}

const callers = new AsyncLocalStorage<Caller>();

const logDir = (): string | undefined => process.env[CALL_LOG_ENV] || undefined;

/** Runs `fn` as `caller`: the AWS requests it makes are that caller's. */
export function runAs<T>(caller: Caller, fn: () => T): T {
  return callers.run(caller, fn);
}

/** The handler, attributing its calls to `caller` while recording is on; the handler itself otherwise. */
export function attributed<A extends unknown[], R>(caller: Caller, handler: (...args: A) => R): (...args: A) => R {
  if (!logDir()) return handler;
  return (...args: A) => callers.run(caller, () => handler(...args));
}

/** An API handler, attributing each request to the function that serves its route (lambdas/core/routes.ts). */
export function attributedByRoute<E extends { readonly routeKey?: string }, A extends unknown[], R>(
  handler: (event: E, ...rest: A) => R,
): (event: E, ...rest: A) => R {
  if (!logDir()) return handler;
  // Built here, not at module scope: a function that is no API function bundles no route table.
  const functionOfRoute = new Map<string, Caller>(API_ROUTES.map((r) => [r.routeKey, r.fn]));
  return (event: E, ...rest: A) => {
    const caller = functionOfRoute.get(event?.routeKey ?? '');
    return caller ? callers.run(caller, () => handler(event, ...rest)) : handler(event, ...rest);
  };
}

/** SDK client name -> IAM service prefix. */
const SERVICE_OF_CLIENT: Readonly<Record<string, string>> = {
  DynamoDBClient: 'dynamodb',
  SESv2Client: 'ses',
  SESClient: 'ses',
  SQSClient: 'sqs',
  SecretsManagerClient: 'secretsmanager',
  SNSClient: 'sns',
  SchedulerClient: 'scheduler',
  S3Client: 's3',
};

type Input = Record<string, unknown>;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The SESAME_* variable holding exactly this value, which tells which of the stack's resources it is. */
function envNaming(value: string): string | undefined {
  return Object.keys(process.env).find((k) => k.startsWith('SESAME_') && process.env[k] === value);
}

/** The domain of `Name <local@domain>` or `local@domain`. */
function domainOf(address: string): string | undefined {
  const match = /@([^>\s]+)>?\s*$/.exec(address);
  return match?.[1]?.toLowerCase();
}

/** The resources and tags a request names, read from its input. */
export function describeInput(input: Input): { resources: ResourceRef[]; tags?: Record<string, string> } {
  const resources: ResourceRef[] = [];
  const table = str(input.TableName);
  if (table) resources.push(str(input.IndexName) ? { type: 'index', table, index: str(input.IndexName)! } : { type: 'table', name: table });
  for (const name of Object.keys((input.RequestItems as Input | undefined) ?? {})) resources.push({ type: 'table', name });
  const identity = str(input.EmailIdentity);
  if (identity) resources.push({ type: 'identity', name: identity.toLowerCase() });
  const identityArn = str(input.FromEmailAddressIdentityArn);
  const from = str(input.FromEmailAddress);
  if (identityArn) resources.push({ type: 'identity', name: identityArn.slice(identityArn.indexOf(':identity/') + ':identity/'.length) });
  else if (from && domainOf(from)) resources.push({ type: 'identity', name: domainOf(from)! });
  const set = str(input.ConfigurationSetName);
  if (set) resources.push({ type: 'configuration-set', name: set });
  const queue = str(input.QueueUrl);
  if (queue) resources.push({ type: 'queue', url: queue, ...withEnv(queue) });
  const secret = str(input.SecretId);
  if (secret) resources.push({ type: 'secret', id: secret, ...withEnv(secret) });
  const topic = str(input.TopicArn);
  if (topic) resources.push({ type: 'topic', arn: topic, ...withEnv(topic) });
  const subscription = str(input.SubscriptionArn);
  if (subscription) resources.push({ type: 'subscription', arn: subscription });
  const bucket = str(input.Bucket);
  if (bucket && str(input.Key)) resources.push({ type: 'object', bucket, key: str(input.Key)! });
  // SES tenants: by name, or by ARN (`tenant/<name>/<id>`, a reputation entity); what is associated with one.
  const tenant = str(input.TenantName) ?? /:tenant\/([^/]+)/.exec(str(input.ReputationEntityReference) ?? '')?.[1];
  if (tenant) resources.push({ type: 'tenant', name: tenant });
  const associated = str(input.ResourceArn);
  if (associated?.includes(':identity/')) resources.push({ type: 'identity', name: associated.slice(associated.indexOf(':identity/') + ':identity/'.length) });
  if (associated?.includes(':configuration-set/')) resources.push({ type: 'configuration-set', name: associated.slice(associated.indexOf(':configuration-set/') + ':configuration-set/'.length) });
  const policy = /:reputation-policy\/(.+)$/.exec(str(input.ReputationEntityPolicy) ?? '')?.[1];
  if (policy) resources.push({ type: 'reputation-policy', name: policy });
  const tags = Array.isArray(input.Tags)
    ? Object.fromEntries((input.Tags as { Key?: string; Value?: string }[]).map((t) => [t.Key ?? '', t.Value ?? '']))
    : undefined;
  const schedule = str(input.Name);
  if (schedule && str(input.GroupName)) {
    const roleArn = str((input.Target as Input | undefined)?.RoleArn);
    resources.push({ type: 'schedule', group: str(input.GroupName)!, name: schedule, ...(roleArn ? { roleArn } : {}) });
  }
  return { resources, ...(tags ? { tags } : {}) };
}

function withEnv(value: string): { env?: string } {
  const env = envNaming(value);
  return env ? { env } : {};
}

const written = new Set<string>();

function write(call: RecordedCall, dir: string): void {
  const line = JSON.stringify(call);
  if (written.has(line)) return;
  written.add(line);
  if (written.size === 1) mkdirSync(dir, { recursive: true });
  // Synchronous: local mode is stopped with a signal, and every record must be on disk by then.
  appendFileSync(join(dir, `${process.pid}.jsonl`), line + '\n');
}

interface Instrumentable {
  readonly middlewareStack: { add(middleware: never, options: { step: 'initialize'; name: string }): void };
}

/**
 * Adds the recording middleware to an SDK v3 client when SESAME_AWS_CALL_LOG_DIR is set, and
 * returns the client. A DynamoDBDocumentClient shares its client's stack: instrument the client.
 */
export function recordAwsCalls<C extends Instrumentable>(client: C): C {
  const dir = logDir();
  if (!dir) return client;
  const middleware = (next: (args: { input: Input }) => Promise<unknown>, context: { clientName?: string; __smithy_context?: { operation?: string } }) =>
    async (args: { input: Input }) => {
      const caller = callers.getStore();
      const service = SERVICE_OF_CLIENT[context.clientName ?? ''];
      const operation = context.__smithy_context?.operation;
      if (caller && service && operation) write({ caller, service, operation, ...describeInput(args.input) }, dir);
      return next(args);
    };
  client.middlewareStack.add(middleware as never, { step: 'initialize', name: 'sesameRecordAwsCalls' });
  return client;
}
