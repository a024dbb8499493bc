/** The domains function: POST/GET /domains, GET/PATCH/DELETE /domains/{id}, POST /domains/{id}/verify. */
import { readDomainsConfig, readRequestLogConfig, readSesTenantConfig } from '../core/config';
import { RequestLogStore } from '../core/adapters/request-logs';
import { documentClient, route53Client, sesClient, sqsClient } from '../core/clients';
import { SesTenants } from '../core/adapters/ses-tenants';
import { domainsDeps } from './deps';
import { Route53Publisher } from '../core/adapters/route53';
import { TenantStore } from '../core/adapters/tenants';
import { createDb } from '../core/adapters/dynamo';
import { createAuthenticator } from '../core/http/auth';
import { createApiHandler } from '../core/http/api';
import { domainRoutes } from './routes';

const config = { ...readDomainsConfig(), ...readSesTenantConfig() };
const db = createDb(documentClient(), config.tableName);
const requestLogs = readRequestLogConfig();

export const handler = createApiHandler(
  domainRoutes({
    ...domainsDeps(config, documentClient(), sesClient(), sqsClient(), (zones) => new Route53Publisher(route53Client(), zones)),
    sesTenants: new SesTenants(sesClient()),
    sesTenantPrefix: config.sesTenantPrefix,
  }),
  createAuthenticator(new TenantStore(db)),
  undefined,
  undefined,
  requestLogs.enabled ? { requestLog: new RequestLogStore(db, requestLogs.retentionDays) } : {},
);
