/** The send function: POST /emails, POST /emails/batch, GET /emails, GET /emails/{id}, GET /emails/{id}/events. */
import { readSendConfig } from '../core/config';
import { documentClient, sesSendClient } from '../core/clients';
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
    now: Date.now,
  }),
  createAuthenticator(new TenantStore(db)),
);
