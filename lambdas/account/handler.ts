/** The account function: /api-keys, /webhooks, /templates, /suppressions and /logs. */
import { readAccountConfig, readRequestLogConfig } from '../core/config';
import { RequestLogStore } from '../core/adapters/request-logs';
import { documentClient, sesClient, sqsClient } from '../core/clients';
import { createDb } from '../core/adapters/dynamo';
import { DomainStore } from '../core/adapters/domains';
import { SqsDeliveryQueue } from '../core/adapters/fan-out';
import { keyProviderFromConfig, SecretBox } from '../core/adapters/secrets';
import { SesTenants } from '../core/adapters/ses-tenants';
import { SuppressionStore } from '../core/adapters/suppressions';
import { TenantStore } from '../core/adapters/tenants';
import { DeliveryStore } from '../core/adapters/deliveries';
import { RebuiltPayloads } from '../core/adapters/delivery-payloads';
import { EmailStore } from '../core/adapters/emails';
import { WebhookStore } from '../core/adapters/endpoints';
import { EventStore } from '../core/adapters/events';
import { TemplateStore } from '../core/adapters/templates';
import { createAuthenticator } from '../core/http/auth';
import { createApiHandler } from '../core/http/api';
import { apiKeyRoutes } from './api-keys';
import { suppressionRoutes } from './suppressions';
import { webhookRoutes } from './webhooks';
import { templateRoutes } from './templates';
import { logRoutes } from './logs';
import { createFrameHandler, frameRoutes, withFrame } from './frame';
import { attributedByRoute } from '../core/aws-calls';
import { logger } from '../core/log';

const config = readAccountConfig();
const db = createDb(documentClient(), config.tableName);
const requestLogs = readRequestLogConfig();
const tenants = new TenantStore(db);
const logs = new RequestLogStore(db, requestLogs.retentionDays);
const secretsKey = keyProviderFromConfig(config);
const emails = new EmailStore(db, config.retentionDays);

const api = createApiHandler(
  {
    ...apiKeyRoutes({ tenants, domains: new DomainStore(db) }),
    ...webhookRoutes({
      webhooks: new WebhookStore(db, new SecretBox(secretsKey)),
      deliveries: new DeliveryStore(db, config.retentionDays),
      payloads: new RebuiltPayloads(emails, new EventStore(db)),
      queue: new SqsDeliveryQueue(sqsClient(), config.webhookQueueUrl),
      endpointPolicy: { allowLoopback: config.allowLoopbackWebhooks, allowHttp: config.allowLoopbackWebhooks },
    }),
    ...templateRoutes({ templates: new TemplateStore(db) }),
    ...logRoutes({ logs }),
    ...frameRoutes({ emails, keys: secretsKey }),
    ...suppressionRoutes({ suppressions: new SuppressionStore(db), ses: new SesTenants(sesClient()), sesTenantPrefix: config.sesTenantPrefix }),
  },
  createAuthenticator(tenants),
  undefined,
  undefined,
  requestLogs.enabled ? { requestLog: logs } : {},
);

const frame = attributedByRoute(createFrameHandler({ emails, keys: secretsKey }, logger));

/** The API routes through the shared middleware; the console's email frame (a token, no key) beside it. */
export const handler = withFrame(api, frame);
