/** The admin tool's adapters, from the same configuration as the handlers. */
import { readCoreConfig } from '../shared/config';
import { documentClient } from '../shared/clients';
import { createDb } from '../shared/adapters/dynamo';
import { TenantStore } from '../shared/adapters/tenants';
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
};
