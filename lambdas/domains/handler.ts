/** The domains function: POST/GET /domains, GET/PATCH/DELETE /domains/{id}, POST /domains/{id}/verify. */
import { readDomainsConfig } from '../core/config';
import { documentClient, sesClient } from '../core/clients';
import { createDb } from '../core/adapters/dynamo';
import { DomainStore } from '../core/adapters/domains';
import { SesIdentities } from '../core/adapters/ses-identities';
import { TenantStore } from '../core/adapters/tenants';
import { createAuthenticator } from '../core/http/auth';
import { createApiHandler } from '../core/http/api';
import { domainRoutes } from './routes';

const config = readDomainsConfig();
const db = createDb(documentClient(), config.tableName);

export const handler = createApiHandler(
  domainRoutes({
    domains: new DomainStore(db),
    identities: new SesIdentities(sesClient(), config.stackName),
    region: config.region,
    now: Date.now,
  }),
  createAuthenticator(new TenantStore(db)),
);
