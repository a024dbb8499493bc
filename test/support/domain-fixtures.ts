/**
 * What the domain tests (test/domains) set up alike: the local services of a test file, a tenant
 * with its SES tenant and a full-access key, and domain events fanned out to the tenant's webhooks
 * onto a fresh local queue, read back as the deliver function would receive them.
 */
import { randomBytes } from 'node:crypto';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { Db } from '../../lambdas/core/adapters/dynamo';
import { SecretBox, staticKeyProvider } from '../../lambdas/core/adapters/secrets';
import { WebhookStore, WebhookSubscribers } from '../../lambdas/core/adapters/endpoints';
import { SqsDeliveryQueue, WebhookFanOut } from '../../lambdas/core/adapters/fan-out';
import type { Tenant, TenantStore } from '../../lambdas/core/adapters/tenants';
import type { DomainEvent } from '../../lambdas/core/domain/domain-events';
import { type DeliveryMessage, parseDeliveryMessage } from '../../lambdas/core/domain/webhook-payload';
import { provisionTestSesTenant } from './ses-tenants';
import { type TestDynamo, type TestS3, type TestSes, type TestSqs, startTestDynamo, startTestS3, startTestSes, startTestSqs } from './services';

export interface FileServices {
  readonly dynamo: TestDynamo;
  readonly ses: TestSes;
  readonly sqs: TestSqs;
  readonly s3: TestS3;
}

/**
 * DynamoDB and SES for every test of the file, and SQS and S3 when asked, started before its tests
 * and closed after them (the hooks are registered here). Read the services inside tests or hooks,
 * once they have started.
 */
export function servicesForFile<K extends 'sqs' | 's3' = never>(...extra: K[]): Pick<FileServices, 'dynamo' | 'ses' | K> {
  const started: Partial<FileServices> = {};
  beforeAll(async () => {
    const [dynamo, ses, sqs, s3] = await Promise.all([
      startTestDynamo(), startTestSes(),
      (extra as string[]).includes('sqs') ? startTestSqs() : undefined,
      (extra as string[]).includes('s3') ? startTestS3() : undefined,
    ]);
    Object.assign(started, { dynamo, ses, ...(sqs ? { sqs } : {}), ...(s3 ? { s3 } : {}) });
  });
  afterAll(async () => {
    await Promise.all(Object.values(started).map((s) => s.close()));
  });
  const get = <N extends keyof FileServices>(name: N): FileServices[N] => {
    const service = started[name];
    if (!service) throw new Error(`the ${name} service is not running (read it inside a test or hook)`);
    return service as FileServices[N];
  };
  return Object.defineProperties({}, Object.fromEntries((['dynamo', 'ses', ...extra] as (keyof FileServices)[]).map((n) => [n, { get: () => get(n), enumerable: true }]))) as Pick<FileServices, 'dynamo' | 'ses' | K>;
}

/** A tenant named `name`, its SES tenant (as `npx sesame tenants create` makes it) and a full-access key. */
export async function tenantWithKey(tenants: TenantStore, ses: SESv2Client, name: string): Promise<{ tenant: Tenant; key: string }> {
  const tenant = await tenants.createTenant(name);
  await provisionTestSesTenant(ses, tenant.id);
  return { tenant, key: (await tenants.createKey(tenant.id)).token };
}

/**
 * Domain events as the domains function publishes them: fanned out to the tenants' webhooks (a
 * store with its own secrets key) onto a fresh queue. `failNext`: event types whose next publish
 * fails, as SQS refusing would. `queued()`: what the queue holds, drained.
 */
export async function domainEventQueue(db: Db, sqs: TestSqs): Promise<{
  readonly webhooks: WebhookStore;
  readonly events: { publish(event: DomainEvent): Promise<void> };
  readonly failNext: Set<string>;
  queued(): Promise<DeliveryMessage[]>;
}> {
  const webhooks = new WebhookStore(db, new SecretBox(staticKeyProvider(randomBytes(32).toString('base64'))));
  const { url } = await sqs.freshQueue();
  const fanOut = new WebhookFanOut({ webhooks: new WebhookSubscribers(db), queue: new SqsDeliveryQueue(sqs.client, url), retrySchedule: [0], cacheMs: 0 });
  const failNext = new Set<string>();
  return {
    webhooks,
    failNext,
    events: {
      publish: async (e) => {
        if (failNext.delete(e.type)) throw new Error('SQS is unavailable');
        await fanOut.publish(e);
      },
    },
    async queued() {
      const out: DeliveryMessage[] = [];
      for (;;) {
        const { Messages } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (!Messages?.length) return out;
        out.push(...Messages.map((m) => parseDeliveryMessage(m.Body!)));
      }
    },
  };
}
