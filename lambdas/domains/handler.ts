/** The domains function: POST/GET /domains, GET/PATCH/DELETE /domains/{id}, POST /domains/{id}/verify. */
import { readCoreConfig } from '../shared/config';
import { documentClient, sesClient } from '../shared/clients';
import { createDb } from '../shared/adapters/dynamo';
import { DomainStore } from '../shared/adapters/domains';
import { SesIdentities } from '../shared/adapters/ses-identities';
import { TenantStore } from '../shared/adapters/tenants';
import { createAuthenticator } from '../shared/http/auth';
import { createApiHandler } from '../shared/http/api';
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
