/** The send function: POST /emails, POST /emails/batch, GET /emails, GET /emails/{id}, GET /emails/{id}/events. */
import { readSendConfig } from '../shared/config';
import { documentClient, sesClient } from '../shared/clients';
import { createDb } from '../shared/adapters/dynamo';
import { EmailStore } from '../shared/adapters/emails';
import { EventStore } from '../shared/adapters/events';
import { DomainStore } from '../shared/adapters/domains';
import { IdempotencyStore } from '../shared/adapters/idempotency';
import { TenantStore } from '../shared/adapters/tenants';
import { SesSender } from '../shared/adapters/ses';
import { createAuthenticator } from '../shared/http/auth';
import { createApiHandler } from '../shared/http/api';
import { sendRoutes } from './routes';

const config = readSendConfig();
const db = createDb(documentClient(), config.tableName);

export const handler = createApiHandler(
  sendRoutes({
    emails: new EmailStore(db, config.retentionDays),
    domains: new DomainStore(db),
    idempotency: new IdempotencyStore(db),
    sender: new SesSender(sesClient()),
    configurationSet: config.configurationSet,
    region: config.region,
    events: new EventStore(db),
    now: Date.now,
  }),
  createAuthenticator(new TenantStore(db)),
);
