/** The domains function: POST/GET /domains, GET/PATCH/DELETE /domains/{id}, POST /domains/{id}/verify. */
import { readDomainsConfig, readSesTenantConfig } from '../core/config';
import { documentClient, route53Client, sesClient, sqsClient } from '../core/clients';
import { SesTenants } from '../core/adapters/ses-tenants';
import { domainsDeps } from './deps';
import { TenantStore } from '../core/adapters/tenants';
import { createDb } from '../core/adapters/dynamo';
import { createAuthenticator } from '../core/http/auth';
import { createApiHandler } from '../core/http/api';
import { domainRoutes } from './routes';

const config = { ...readDomainsConfig(), ...readSesTenantConfig() };

export const handler = createApiHandler(
  domainRoutes({
    ...domainsDeps(config, documentClient(), sesClient(), sqsClient(), route53Client),
    sesTenants: new SesTenants(sesClient()),
    sesTenantPrefix: config.sesTenantPrefix,
  }),
  createAuthenticator(new TenantStore(createDb(documentClient(), config.tableName))),
);
