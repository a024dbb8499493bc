/**
 * Local mode: the whole pipeline on 127.0.0.1 with no AWS account. The embedded services speak the
 * AWS protocols; the handlers are the deployed ones, imported after the environment points their
 * SDK clients here (one code path: only where the adapters point differs).
 *
 * Everything accepted lives in the data folder (data-folder.ts) and is picked up at start: the
 * tables, the mailbox, the SES events still to apply (the outbox, filled inside SendEmail), and
 * the webhook queue and its DLQ, the schedules of scheduled emails and their dispatch queue, the SMTP
 * spool of received mail. So a kill -9 at any moment loses nothing a client was told was
 * accepted, and starting again finishes what was under way.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { LOCAL_CONFIGURATION_SET, LOCAL_STACK_NAME } from '../core/config';
import { createDb } from '../core/adapters/dynamo';
import { TenantStore } from '../core/adapters/tenants';
import { DomainStore } from '../core/adapters/domains';
import { SesIdentities } from '../core/adapters/ses-identities';
import { logger, silentLogger } from '../core/log';
import { SesTenants } from '../core/adapters/ses-tenants';
import { createDomain, verifyDomain } from '../domains/core';
import { provisionSesTenant } from '../admin/tenants';
import { derivedId, hashApiKey, newApiKey } from '../core/domain/ids';
import { type ApiFunction, CONFIGURATION_SET_CHOICES, configurationSetName } from '../core/routes';
import { publishedEventTypes, tlsPolicyFor } from '../core/domain/configuration-sets';
import { sesTenantPrefixOf } from '../core/domain/ses-tenants';
import { ensureTable, startDynamo } from './dynamodb';
import { DLQ_RETENTION_SECONDS, ensureQueue, startSqs } from './sqs';
import { type LocalConfigurationSet, type LocalSes, startSesServer } from './ses-server';
import { type ApiLambda, startApiServer } from './api-server';
import { simulationPlan, startLocalEvents } from './events';
import { EventOutbox } from './event-outbox';
import { startDeliverPoller } from './deliver-poller';
import { startDomainChecks } from './domain-checks';
import { startScheduler } from './scheduler';
import { keptSecret, prepareDataFolder } from './data-folder';
import { startS3Server } from './s3-server';
import { startLocalSmtp } from './smtp';
import { S3Client } from '@aws-sdk/client-s3';
import { localLambdaContext } from './api-server';
import { LOCAL_CONTENT_BUCKET } from '../core/content';
import { buildConsoleAssets } from '../console/build';
import { createConsoleHandler } from '../console/serve';
import { concurrentInvocations, ownInvocation } from './invocations';

export interface LocalOptions {
  readonly port: number;
  readonly dynamoPort: number;
  readonly sesPort: number;
  readonly sqsPort: number;
  readonly schedulerPort: number;
  /**
   * How long a minute of waiting for a schedule lasts (SESAME_LOCAL_SCHEDULER_MINUTE_MS): 60 000 is
   * real time; less makes scheduled emails go out sooner (tests, demos). Their `scheduled_at` is unchanged.
   */
  readonly schedulerMinuteMs?: number;
  readonly s3Port: number;
  /** The SMTP listener standing in for SES receiving (SESAME_SMTP_PORT, 2525; 0: a free port). */
  readonly smtpPort?: number;
  /** Absolute path of the data folder (DynamoDB data, SES identities and mailbox, the generated key). */
  readonly dataDir: string;
  /** The seeded key; generated once and kept in the data folder when absent. */
  readonly apiKey?: string;
  readonly domain: string;
  readonly region: string;
  readonly tableName: string;
  readonly topicArn: string;
  readonly retentionDays: number;
  readonly allowLoopbackWebhooks: boolean;
  readonly retrySchedule?: string;
  /** The sesame_stack tag of the identities local mode creates (SESAME_STACK_NAME). @default LOCAL_STACK_NAME */
  readonly stackName?: string;
  /** Seconds after its creation before the local SES finds a domain's records (SESAME_LOCAL_VERIFY_DELAY_SECONDS). @default 0: at the first read */
  readonly verifyDelaySeconds?: number;
  /** The base of the domain check schedule, and how often the local verifier runs (SESAME_DOMAIN_CHECK_BASE_SECONDS). @default 60 */
  readonly domainCheckBaseSeconds?: number;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly mailboxUrl: string;
  readonly dynamoEndpoint: string;
  readonly sqsEndpoint: string;
  /** The S3-protocol stand-in holding the content bucket. */
  readonly s3Endpoint: string;
  /** The SMTP listener standing in for SES receiving: `smtp://127.0.0.1:<port>`. */
  readonly smtpEndpoint: string;
  /** Resolves when every message the SMTP listener accepted so far is processed (tests). */
  smtpIdle(): Promise<void>;
  readonly apiKey: string;
  readonly tenantId: string;
  readonly domain: string;
  /** The shell prefix that points the admin tool at this local mode. */
  readonly adminEnv: string;
  close(): Promise<void>;
}

/** Credentials for the local endpoints: they check nothing, the SDK only needs something to sign with. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export const LOCAL_TENANT_ID = derivedId('local', 'tenant');


/** The queue schedules put scheduled emails on. */
const LOCAL_DISPATCH_QUEUE = 'sesame-dispatch';
/** Local mode's inbound DLQ (the inbound function's on-failure destination in AWS). */
const LOCAL_INBOUND_DLQ = 'sesame-inbound-dlq';

/** Local mode's SES tenants are `<stack name>-<tenant id>` (`sesame-local-<tenant id>` by default), as a deployed stack's. */
const localSesTenantPrefix = (options: LocalOptions): string => sesTenantPrefixOf(options.stackName ?? LOCAL_STACK_NAME);

/** The configuration sets the stack makes (lib/ses-events.ts), as the local SES endpoint answers for them. */
export function localConfigurationSets(prefix: string, topicArn: string): LocalConfigurationSet[] {
  return CONFIGURATION_SET_CHOICES.map((tracking) => ({
    name: configurationSetName(prefix, tracking),
    tlsPolicy: tlsPolicyFor(tracking),
    eventDestinations: [{ name: 'sesame-events', enabled: true, matchingEventTypes: publishedEventTypes(tracking), snsTopicArn: topicArn }],
  }));
}

/** The key that encrypts webhook signing secrets at rest: made once per data folder. */
const localSecretsKey = (dataDir: string): string => keptSecret(dataDir, 'secrets-key', () => randomBytes(32).toString('base64'));

const localApiKey = (options: LocalOptions): string => options.apiKey ?? keptSecret(options.dataDir, 'api-key', newApiKey);

async function seed(options: LocalOptions, doc: DynamoDBDocumentClient, ses: SESv2Client, localSes: Pick<LocalSes, 'seedIdentity'>, apiKey: string): Promise<void> {
  const db = createDb(doc, options.tableName);
  const tenants = new TenantStore(db);
  const seeded = (await tenants.getTenant(LOCAL_TENANT_ID)) ?? (await tenants.createTenant('local', LOCAL_TENANT_ID));
  const domains = new DomainStore(db);
  // The seeded tenant's SES tenant, as `npx sesame tenants create` makes one (idempotent: every start).
  const sesTenants = new SesTenants(ses);
  const setup = { ses: sesTenants, region: options.region, sesTenantPrefix: localSesTenantPrefix(options), configurationSetPrefix: LOCAL_CONFIGURATION_SET };
  // The reputation policy is set once; a later change by the operator is kept.
  await provisionSesTenant(setup, LOCAL_TENANT_ID, { ...(seeded.complete ? {} : { reputation: 'standard' as const }), domains: (await domains.list(LOCAL_TENANT_ID)).map((d) => d.name) });
  if (!(await tenants.findKeyByHash(hashApiKey(apiKey)))) await tenants.createKey(LOCAL_TENANT_ID, { name: 'local', token: apiKey });
  await tenants.markComplete(LOCAL_TENANT_ID);
  const existing = await domains.getByName(options.domain);
  if (existing && existing.tenantId !== LOCAL_TENANT_ID) {
    throw new Error(`SESAME_DOMAIN ${options.domain} belongs to another tenant in ${options.dataDir}`);
  }
  if (existing?.verifiedForSending) return;
  // The seeded domain goes through the domains API's own code: the embedded SES server makes the
  // identity (DKIM tokens, MAIL FROM), which is then verified at once, without the verify delay (its
  // records count as published), and verify finds it so.
  // No endpoint exists before the first start: the seeded domain's events have nobody to go to.
  const deps = {
    domains, identities: new SesIdentities(ses, options.stackName ?? LOCAL_STACK_NAME), events: { publish: async () => undefined },
    sesTenants, sesTenantPrefix: localSesTenantPrefix(options), region: options.region, now: Date.now,
  };
  const auth = { keyId: 'local-seed', tenantId: LOCAL_TENANT_ID, permission: 'full_access' as const };
  const quiet = silentLogger;
  const domain = existing ?? (await createDomain(deps, auth, { name: options.domain, customReturnPath: 'send', openTracking: false, clickTracking: false, tls: 'opportunistic' }, quiet));
  await localSes.seedIdentity(options.domain, { verified: true });
  await verifyDomain(deps, auth, domain.id, quiet);
}

export async function startLocal(options: LocalOptions): Promise<LocalStack> {
  // Before any AWS SDK request or handler: each local invocation keeps its own log context.
  await concurrentInvocations();
  prepareDataFolder(options.dataDir);
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const dynamo = await startDynamo({ port: options.dynamoPort, dataDir: join(options.dataDir, 'dynamodb') });
    closers.push(() => dynamo.close());
    // The events each accepted email will produce are written inside SendEmail (the outbox); a
    // crash between the outbox and the mailbox is settled as soon as the mailbox is loaded.
    const outbox = await EventOutbox.open({ dir: join(options.dataDir, 'ses-events'), plan: simulationPlan(options) });
    const ses = await startSesServer({
      port: options.sesPort,
      dataDir: join(options.dataDir, 'ses'),
      region: options.region,
      configurationSets: localConfigurationSets(LOCAL_CONFIGURATION_SET, options.topicArn),
      journal: outbox,
      ...(options.verifyDelaySeconds !== undefined ? { verifyDelaySeconds: options.verifyDelaySeconds } : {}),
    });
    closers.push(() => ses.close());
    await outbox.recover(new Set(ses.sent().map((email) => email.messageId)));
    const sqs = await startSqs({ port: options.sqsPort, dataDir: join(options.dataDir, 'sqs'), region: options.region });
    closers.push(() => sqs.close());
    const s3 = await startS3Server({ port: options.s3Port, dataDir: join(options.dataDir, 's3'), buckets: [LOCAL_CONTENT_BUCKET], credentials: LOCAL_CREDENTIALS });
    closers.push(() => s3.close());

    const dynamoClient = new DynamoDBClient({ region: options.region, endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS });
    // A table made by an earlier version with other indexes is rebuilt, keeping its items (dynamodb.ts).
    const { rebuilt } = await ensureTable(dynamoClient, options.tableName, { rebuildDir: join(options.dataDir, 'dynamodb-rebuild') });
    if (rebuilt) process.stdout.write(`${rebuilt.summary}\n`);
    const sqsClient = new SQSClient({ region: options.region, endpoint: sqs.endpoint, credentials: LOCAL_CREDENTIALS });
    const queueUrl = await ensureQueue(sqsClient, 'sesame-webhooks', { dlqName: 'sesame-webhooks-dlq', maxReceiveCount: 12 });
    const { QueueUrl: dlqUrl } = await sqsClient.send(new GetQueueUrlCommand({ QueueName: 'sesame-webhooks-dlq' }));
    if (!dlqUrl) throw new Error('the local webhook DLQ has no URL');
    // The inbound function's on-failure destination: received messages whose handler failed every attempt.
    const inboundDlqUrl = await ensureQueue(sqsClient, LOCAL_INBOUND_DLQ, { retentionSeconds: DLQ_RETENTION_SECONDS });
    // Scheduled emails: schedules (kept in the data folder) put their message on the dispatch queue.
    const dispatchQueueUrl = await ensureQueue(sqsClient, LOCAL_DISPATCH_QUEUE, { dlqName: `${LOCAL_DISPATCH_QUEUE}-dlq`, maxReceiveCount: 20 });
    const { QueueUrl: dispatchDlqUrl } = await sqsClient.send(new GetQueueUrlCommand({ QueueName: `${LOCAL_DISPATCH_QUEUE}-dlq` }));
    if (!dispatchDlqUrl) throw new Error('the local dispatch DLQ has no URL');
    const scheduler = await startScheduler({
      port: options.schedulerPort,
      dataDir: join(options.dataDir, 'scheduler'),
      region: options.region,
      ...(options.schedulerMinuteMs !== undefined ? { minuteMs: options.schedulerMinuteMs } : {}),
      deliver: async (targetArn, input) => {
        const { QueueUrl } = await sqsClient.send(new GetQueueUrlCommand({ QueueName: targetArn.split(':').pop()! }));
        await sqsClient.send(new SendMessageCommand({ QueueUrl, MessageBody: input }));
      },
      onError: (error) => logger.child({ component: 'scheduler' }).error('a schedule could not reach its target; trying again', { error }),
    });
    closers.push(() => scheduler.close());

    Object.assign(process.env, {
      AWS_REGION: options.region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SESV2: ses.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      AWS_ENDPOINT_URL_SCHEDULER: scheduler.endpoint,
      SESAME_SCHEDULE_GROUP: 'sesame-scheduled',
      SESAME_DISPATCH_QUEUE_ARN: `arn:aws:sqs:${options.region}:000000000000:${LOCAL_DISPATCH_QUEUE}`,
      SESAME_DISPATCH_QUEUE_URL: dispatchQueueUrl,
      SESAME_SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/sesame-scheduler',
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      SESAME_TABLE_NAME: options.tableName,
      SESAME_STACK_NAME: options.stackName ?? LOCAL_STACK_NAME,
      SESAME_CONTENT_BUCKET: LOCAL_CONTENT_BUCKET,
      SESAME_CONFIGURATION_SET: LOCAL_CONFIGURATION_SET,
      SESAME_WEBHOOK_QUEUE_URL: queueUrl,
      SESAME_EVENTS_TOPIC_ARN: options.topicArn,
      SESAME_RETENTION_DAYS: String(options.retentionDays),
      SESAME_ALLOW_LOOPBACK_WEBHOOKS: options.allowLoopbackWebhooks ? '1' : '0',
      SESAME_SECRETS_KEY: localSecretsKey(options.dataDir),
      ...(options.retrySchedule ? { SESAME_WEBHOOK_RETRY_SCHEDULE: options.retrySchedule } : {}),
      SESAME_DOMAIN_CHECK_BASE_SECONDS: String(options.domainCheckBaseSeconds ?? 60),
    });
    delete process.env.AWS_PROFILE;

    const doc = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
    const apiKey = localApiKey(options);
    const sesClient = new SESv2Client({ region: options.region, endpoint: ses.endpoint, credentials: LOCAL_CREDENTIALS });
    await seed(options, doc, sesClient, ses, apiKey);

    // Imported only now: handlers read their configuration at import, as at a Lambda cold start.
    // Each invocation runs in its own context (invocations.ts), as under a concurrent Lambda runtime.
    const handlers: Record<ApiFunction, ApiLambda> = {
      send: ownInvocation((await import('../send/handler')).handler as ApiLambda),
      domains: ownInvocation((await import('../domains/handler')).handler as ApiLambda),
      account: ownInvocation((await import('../account/handler')).handler as ApiLambda),
      snsHttps: ownInvocation((await import('../sns-https/handler')).handler as ApiLambda),
      // The console, built now (esbuild, a fraction of a second) as `cdk synth` builds it for AWS.
      console: ownInvocation(createConsoleHandler(buildConsoleAssets(), { mailboxUrl: `${ses.endpoint}/` }) as ApiLambda),
    };
    const api = await startApiServer({ port: options.port, handlers });
    closers.push(() => api.close());

    // SES events for every send (those a previous run left first), delivered to the ingest handler as SNS would invoke it.
    const ingest = ownInvocation((await import('../ingest/handler')).handler);
    const events = startLocalEvents({ outbox, ingest, topicArn: options.topicArn });
    closers.push(() => events.stop());

    // The webhook queue drained by the deliver handler, as the event source mapping would.
    const deliver = ownInvocation((await import('../deliver/handler')).handler);
    const poller = startDeliverPoller({ sqs: sqsClient, queueUrl, handler: deliver });
    closers.push(() => poller.stop());

    // Automatic domain verification, run as the EventBridge schedule would, at the check schedule's base.
    const verifyDomains = ownInvocation((await import('../verify-domains/handler')).handler);
    const checks = startDomainChecks({ handler: verifyDomains, intervalMs: (options.domainCheckBaseSeconds ?? 60) * 1000 });
    closers.push(() => checks.stop());
    // The dispatch queue drained by the dispatch handler, as its event source mapping would.
    const dispatch = ownInvocation((await import('../dispatch/handler')).handler);
    const dispatchPoller = startDeliverPoller({ sqs: sqsClient, queueUrl: dispatchQueueUrl, handler: dispatch, name: 'dispatch' });
    closers.push(() => dispatchPoller.stop());

    // SES receiving: mail over SMTP, through the same inbound core the receipt rule drives in AWS.
    const inbound = (await import('../inbound/handler')).handler;
    const smtp = await startLocalSmtp({
      port: options.smtpPort ?? 2525,
      dir: join(options.dataDir, 'smtp'),
      // The receipt rule's S3 action is SES's write, not a function's: an unrecorded client.
      s3: new S3Client({ region: options.region, endpoint: s3.endpoint, credentials: LOCAL_CREDENTIALS, forcePathStyle: true }),
      bucket: LOCAL_CONTENT_BUCKET,
      inbound: (event) => inbound(event, localLambdaContext('inbound')),
      park: async (record) => void (await sqsClient.send(new SendMessageCommand({ QueueUrl: inboundDlqUrl, MessageBody: record }))),
      log: logger.child({ component: 'smtp' }),
    });
    closers.push(() => smtp.close());

    // Every endpoint and name the admin tool reads (`dlq redrive`, `doctor` included), on one line.
    // SESAME_LOCAL tells doctor which parts local mode replaces; the secrets key stays in the data folder.
    const adminEnv = [
      `AWS_REGION=${options.region}`,
      `AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.secretAccessKey}`,
      `AWS_ENDPOINT_URL_DYNAMODB=${dynamo.endpoint}`,
      `AWS_ENDPOINT_URL_SESV2=${ses.endpoint}`,
      `AWS_ENDPOINT_URL_SQS=${sqs.endpoint}`,
      `AWS_ENDPOINT_URL_S3=${s3.endpoint}`,
      'SESAME_LOCAL=1',
      `SESAME_TABLE_NAME=${options.tableName}`,
      `SESAME_CONFIGURATION_SET=${LOCAL_CONFIGURATION_SET}`,
      `SESAME_STACK_NAME=${options.stackName ?? LOCAL_STACK_NAME}`,
      `SESAME_EVENTS_TOPIC_ARN=${options.topicArn}`,
      `SESAME_WEBHOOK_QUEUE_URL=${queueUrl}`,
      `SESAME_WEBHOOK_DLQ_URL=${dlqUrl}`,
      // Receiving (always on locally): the inbound DLQ, and the bucket `dlq redrive` processes it against.
      `SESAME_INBOUND_DLQ_URL=${inboundDlqUrl}`,
      `SESAME_CONTENT_BUCKET=${LOCAL_CONTENT_BUCKET}`,
      // Scheduled emails: the dispatch DLQ, and the dispatch queue `dlq redrive` moves them back to.
      `SESAME_DISPATCH_QUEUE_URL=${dispatchQueueUrl}`,
      `SESAME_DISPATCH_DLQ_URL=${dispatchDlqUrl}`,
    ].join(' ');

    return {
      apiUrl: api.url,
      mailboxUrl: `${ses.endpoint}/`,
      dynamoEndpoint: dynamo.endpoint,
      sqsEndpoint: sqs.endpoint,
      s3Endpoint: s3.endpoint,
      smtpEndpoint: `smtp://${smtp.host}:${smtp.port}`,
      smtpIdle: () => smtp.idle(),
      apiKey,
      tenantId: LOCAL_TENANT_ID,
      domain: options.domain,
      adminEnv,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
