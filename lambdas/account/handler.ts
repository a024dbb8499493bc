/** The account function: /api-keys and /webhooks. */
import { readAccountConfig } from '../shared/config';
import { documentClient, sqsClient } from '../shared/clients';
import { createDb } from '../shared/adapters/dynamo';
import { DomainStore } from '../shared/adapters/domains';
import { SqsDeliveryQueue } from '../shared/adapters/fan-out';
import { keyProviderFromConfig, SecretBox } from '../shared/adapters/secrets';
import { TenantStore } from '../shared/adapters/tenants';
import { DeliveryStore, WebhookStore } from '../shared/adapters/webhooks';
import { createAuthenticator } from '../shared/http/auth';
import { createApiHandler } from '../shared/http/api';
import { apiKeyRoutes } from './api-keys';
import { webhookRoutes } from './webhooks';

const config = readAccountConfig();
const db = createDb(documentClient(), config.tableName);
const tenants = new TenantStore(db);

export const handler = createApiHandler(
  {
    ...apiKeyRoutes({ tenants, domains: new DomainStore(db) }),
    ...webhookRoutes({
      webhooks: new WebhookStore(db, new SecretBox(keyProviderFromConfig(config))),
      deliveries: new DeliveryStore(db, config.retentionDays),
      queue: new SqsDeliveryQueue(sqsClient(), config.webhookQueueUrl),
      endpointPolicy: { allowLoopback: config.allowLoopbackWebhooks, allowHttp: config.allowLoopbackWebhooks },
    }),
  },
  createAuthenticator(tenants),
);
