/** The admin tool's adapters, from the same configuration as the handlers. */
import { readCoreConfig } from '../core/config';
import { documentClient } from '../core/clients';
import { createDb } from '../core/adapters/dynamo';
import { TenantStore } from '../core/adapters/tenants';
import { redriveFromEnv } from '../ingest/redrive';
import type { AdminDeps } from './cli';

let tenants: TenantStore | undefined;

export const adminDeps: AdminDeps = {
  tenants() {
    if (!tenants) {
      const config = readCoreConfig();
      tenants = new TenantStore(createDb(documentClient(), config.tableName));
    }
    return tenants;
  },
  extra: {
    // Moves what the DLQs hold back where it came from (see lambdas/ingest/redrive.ts).
    'dlq redrive': () => redriveFromEnv(),
  },
};
