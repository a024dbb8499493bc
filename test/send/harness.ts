/** A send function wired to real local services: dynalite, the local SES v2 server and the local S3 stand-in. */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import { EventStore } from '../../lambdas/core/adapters/events';
import { DomainStore, type DomainRecord } from '../../lambdas/core/adapters/domains';
import { IdempotencyStore } from '../../lambdas/core/adapters/idempotency';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { TemplateStore } from '../../lambdas/core/adapters/templates';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { type EmailSender, SesSender } from '../../lambdas/core/adapters/ses';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { type Logger, silentLogger } from '../../lambdas/core/log';
import type { EmfMetrics } from '../../lambdas/core/metrics';
import { sendRoutes } from '../../lambdas/send/routes';
import type { EmailSchedules } from '../../lambdas/core/adapters/schedules';
import type { EventFanOut } from '../../lambdas/core/domain/applied-event';
import { startTestDynamo, startTestS3, startTestSes, type TestDynamo, type TestS3, type TestSes } from '../support/services';
import { provisionTestSesTenant, TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import type { Handler } from '../support/api';
import { createTenantWithDomain } from '../support/tenants';

export interface SendHarness {
  readonly dynamo: TestDynamo;
  readonly ses: TestSes;
  readonly s3: TestS3;
  readonly table: string;
  readonly tenants: TenantStore;
  readonly domains: DomainStore;
  handler(options?: { sender?: (real: EmailSender) => EmailSender; content?: (real: ContentStore) => ContentStore; now?: () => number; batchConcurrency?: number; retryWindowMs?: number; metrics?: EmfMetrics; log?: Logger; schedules?: EmailSchedules; fanOut?: EventFanOut }): Handler;
  /** A tenant with a full-access key and a verified domain `<prefix>.test`. */
  tenant(prefix: string, domain?: Partial<DomainRecord>): Promise<{ tenantId: string; key: string; domain: string }>;
  /** Every item in the table (tests only: the code never scans). */
  items(): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export const quietLog = silentLogger;

export async function startSendHarness(): Promise<SendHarness> {
  const dynamo = await startTestDynamo();
  const table = await dynamo.freshTable();
  // One attempt: an error injected with failNext reaches the code (the SDK would retry it away).
  const ses = await startTestSes({ maxAttempts: 1 });
  const s3 = await startTestS3();
  const db = createDb(dynamo.doc, table);
  const tenants = new TenantStore(db);
  const domains = new DomainStore(db);
  return {
    dynamo, ses, s3, table, tenants, domains,
    handler(options = {}) {
      const now = options.now ?? Date.now;
      const clockDb = createDb(dynamo.doc, table, now);
      const real = new SesSender(ses.client);
      const content = new ContentStore(s3.client, s3.bucket, now);
      return createApiHandler(
        sendRoutes({
          emails: new EmailStore(clockDb, 30),
          status: new EmailStatusStore(clockDb),
          retryWindowMs: options.retryWindowMs ?? 15 * 60_000,
          retentionDays: 30,
          domains,
          idempotency: new IdempotencyStore(clockDb),
          events: new EventStore(clockDb),
          templates: new TemplateStore(clockDb),
          sender: options.sender ? options.sender(real) : real,
          content: options.content ? options.content(content) : content,
          configurationSet: 'sesame',
          sesTenantPrefix: TEST_SES_TENANT_PREFIX,
          region: 'us-east-1',
          now,
          ...(options.batchConcurrency ? { batchConcurrency: options.batchConcurrency } : {}),
          ...(options.metrics ? { metrics: options.metrics } : {}),
          ...(options.schedules ? { schedules: options.schedules } : {}),
          ...(options.fanOut ? { fanOut: options.fanOut } : {}),
        }),
        createAuthenticator(tenants, now),
        options.log ?? quietLog,
        ...(options.metrics ? [options.metrics] : []),
      ) as Handler;
    },
    async tenant(prefix, domain = {}) {
      const made = await createTenantWithDomain(tenants, domains, prefix, domain);
      if (domain.verifiedForSending !== false) await ses.seedIdentity(made.domain, { verified: true });
      await provisionTestSesTenant(ses.client, made.tenantId, [made.domain]);
      return made;
    },
    async items() {
      const out: Record<string, unknown>[] = [];
      let start: Record<string, unknown> | undefined;
      do {
        const page = await dynamo.doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        out.push(...(page.Items ?? []));
        start = page.LastEvaluatedKey;
      } while (start);
      return out;
    },
    async close() {
      await s3.close();
      await ses.close();
      await dynamo.close();
    },
  };
}
