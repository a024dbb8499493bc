/** The domains function: POST/GET /domains, GET/PATCH/DELETE /domains/{id}, POST /domains/{id}/verify. */
import { readCoreConfig } from '../core/config';
import { documentClient, sesClient } from '../core/clients';
import { createDb } from '../core/adapters/dynamo';
import { DomainStore } from '../core/adapters/domains';
import { SesIdentities } from '../core/adapters/ses-identities';
import { TenantStore } from '../core/adapters/tenants';
import { createAuthenticator } from '../core/http/auth';
import { createApiHandler } from '../core/http/api';
import { domainRoutes } from './routes';

const config = readCoreConfig();
const db = createDb(documentClient(), config.tableName);

export const handler = createApiHandler(
  domainRoutes({
    domains: new DomainStore(db),
    identities: new SesIdentities(sesClient()),
    region: config.region,
    now: Date.now,
  }),
  createAuthenticator(new TenantStore(db)),
);
