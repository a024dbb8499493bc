/**
 * A tenant as the API tests need one: created with a full-access key and a verified domain
 * `<prefix>.test` of its own.
 */
import type { DomainRecord, DomainStore } from '../../lambdas/core/adapters/domains';
import type { TenantStore } from '../../lambdas/core/adapters/tenants';
import { newId } from '../../lambdas/core/domain/ids';

export interface TenantWithDomain {
  readonly tenantId: string;
  /** The full-access API key's token. */
  readonly key: string;
  /** The domain's name, `<prefix>.test`. */
  readonly domain: string;
}

/** Creates the tenant, its key and its domain (verified for sending in us-east-1, unless `domain` says otherwise). */
export async function createTenantWithDomain(
  tenants: TenantStore, domains: DomainStore, prefix: string, domain: Partial<DomainRecord> = {},
): Promise<TenantWithDomain> {
  const tenant = await tenants.createTenant(prefix);
  const key = await tenants.createKey(tenant.id);
  const name = `${prefix}.test`;
  await domains.put({
    id: newId(), name, tenantId: tenant.id, status: 'verified', verifiedForSending: true, region: 'us-east-1',
    openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString(),
    ...domain,
  });
  return { tenantId: tenant.id, key: key.token, domain: name };
}
