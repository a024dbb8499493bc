/** The send function: the /emails routes (lambdas/core/routes.ts), scheduling and attachments included. */
import { readSendConfig } from '../core/config';
import { documentClient, s3Client, schedulerClient, sesSendClient, sqsClient } from '../core/clients';
import { SchedulerSchedules } from '../core/adapters/schedules';
import { createWebhookFanOut } from '../core/adapters/fan-out';
import { createDb } from '../core/adapters/dynamo';
import { EmailStore } from '../core/adapters/emails';
import { EventStore } from '../core/adapters/events';
import { EmailStatusStore } from '../core/adapters/email-status';
import { DomainStore } from '../core/adapters/domains';
import { SendableDomainCache } from '../core/adapters/domain-cache';
import { IdempotencyStore } from '../core/adapters/idempotency';
import { TenantStore } from '../core/adapters/tenants';
import { SesSender } from '../core/adapters/ses';
import { TemplateStore } from '../core/adapters/templates';
import { ContentStore } from '../core/adapters/content';
import { createAuthenticator } from '../core/http/auth';
import { createApiHandler } from '../core/http/api';
import { sendRoutes } from './routes';

const config = readSendConfig();
const db = createDb(documentClient(), config.tableName);

export const handler = createApiHandler(
  sendRoutes({
    emails: new EmailStore(db, config.retentionDays),
    status: new EmailStatusStore(db),
    retryWindowMs: config.sendRetryWindowMinutes * 60_000,
    retentionDays: config.retentionDays,
    domains: new SendableDomainCache(new DomainStore(db)),
    idempotency: new IdempotencyStore(db, { lockSeconds: config.idempotencyLockSeconds }),
    sender: new SesSender(sesSendClient()),
    configurationSet: config.configurationSet,
    sesTenantPrefix: config.sesTenantPrefix,
    region: config.region,
    events: new EventStore(db),
    templates: new TemplateStore(db),
    content: new ContentStore(s3Client, config.contentBucket),
    now: Date.now,
    schedules: new SchedulerSchedules(schedulerClient(), config.scheduler),
    fanOut: createWebhookFanOut(db, sqsClient(), config),
  }),
  createAuthenticator(new TenantStore(db)),
);
