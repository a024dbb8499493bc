/** The domains function: POST/GET /domains, GET/PATCH/DELETE /domains/{id}, POST /domains/{id}/verify. */
import { readDomainsConfig, readSesTenantConfig } from '../core/config';
import { documentClient, sesClient } from '../core/clients';
import { createDb } from '../core/adapters/dynamo';
import { DomainStore } from '../core/adapters/domains';
import { SesIdentities } from '../core/adapters/ses-identities';
import { SesTenants } from '../core/adapters/ses-tenants';
import { TenantStore } from '../core/adapters/tenants';
import { createAuthenticator } from '../core/http/auth';
import { createApiHandler } from '../core/http/api';
import { domainRoutes } from './routes';

const config = { ...readDomainsConfig(), ...readSesTenantConfig() };
const db = createDb(documentClient(), config.tableName);

export const handler = createApiHandler(
  domainRoutes({
    domains: new DomainStore(db),
    identities: new SesIdentities(sesClient(), config.stackName),
    sesTenants: new SesTenants(sesClient()),
    sesTenantPrefix: config.sesTenantPrefix,
    region: config.region,
    now: Date.now,
  }),
  createAuthenticator(new TenantStore(db)),
);
