/** The send function: the /emails routes (lambdas/core/routes.ts), scheduling, attachments, GET /emails/metrics and /emails/receiving included. */
import { readRequestLogConfig, readSendConfig } from '../core/config';
import { RequestLogStore } from '../core/adapters/request-logs';
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
import { metricsRoutes } from './metrics';
import { receivingRoutes } from './receiving';
import { ReceivedEmailStore } from '../core/adapters/received-emails';
import { createEventCounter, MetricCounters } from '../core/adapters/metric-counters';
import { logger } from '../core/log';

const config = readSendConfig();
const db = createDb(documentClient(), config.tableName);
const requestLogs = readRequestLogConfig();

export const handler = createApiHandler(
  {
    ...sendRoutes({
      emails: new EmailStore(db, config.retentionDays),
      status: new EmailStatusStore(db),
      counters: createEventCounter(new MetricCounters(db), logger),
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
    ...metricsRoutes({ counters: new MetricCounters(db), now: Date.now }),
    ...receivingRoutes({ received: new ReceivedEmailStore(db, config.retentionDays), content: new ContentStore(s3Client, config.contentBucket) }),
  },
  createAuthenticator(new TenantStore(db)),
  undefined,
  undefined,
  requestLogs.enabled ? { requestLog: new RequestLogStore(db, requestLogs.retentionDays) } : {},
);
