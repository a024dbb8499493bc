/**
 * The tenant commands of `npx sesame`: each Sesame tenant is an SES tenant. Creating one makes the
 * table's tenant, its SES tenant (its own suppression list for hard bounces and complaints, a
 * reputation policy, the stack's configuration sets and the tenant's domains associated), then its
 * first key. Every step is idempotent, so running a command again completes what a crash left
 * half-done.
 */
import { CONFIGURATION_SET_CHOICES, configurationSetName } from '../core/routes';
import {
  type ReputationSetting,
  reputationPolicyArn,
  sesArnBeside,
  sesTenantName,
} from '../core/domain/ses-tenants';
import type { SesTenants } from '../core/adapters/ses-tenants';
import type { SuppressionStore } from '../core/adapters/suppressions';
import type { DomainStore } from '../core/adapters/domains';
import type { TenantStore } from '../core/adapters/tenants';

export interface SesTenantSetup {
  readonly ses: SesTenants;
  readonly region: string;
  /** SES tenant names are `<sesTenantPrefix>-<tenant id>`. */
  readonly sesTenantPrefix: string;
  /** The stack's configuration sets are `<prefix>`, `<prefix>-open`, ... (configurationSetName). */
  readonly configurationSetPrefix: string;
}

export interface TenantAdminDeps extends SesTenantSetup {
  readonly tenants: TenantStore;
  readonly domains: Pick<DomainStore, 'list'>;
  readonly suppressions: SuppressionStore;
}

/**
 * Makes (or completes) the SES tenant of a Sesame tenant: created, its own suppression list, the
 * reputation policy (left as it is when `reputation` is undefined), the stack's configuration sets
 * and the given domains associated with it.
 */
export async function provisionSesTenant(setup: SesTenantSetup, tenantId: string, options: { reputation?: ReputationSetting; domains?: readonly string[] }): Promise<{ name: string; arn: string }> {
  const name = sesTenantName(setup.sesTenantPrefix, tenantId);
  const arn = await setup.ses.ensureTenant(name);
  await setup.ses.useTenantSuppressionList(name);
  if (options.reputation !== undefined) await setup.ses.setReputationPolicy(arn, reputationPolicyArn(setup.region, options.reputation));
  for (const choice of CONFIGURATION_SET_CHOICES) {
    await setup.ses.associate(name, sesArnBeside(arn, `configuration-set/${configurationSetName(setup.configurationSetPrefix, choice)}`));
  }
  for (const domain of options.domains ?? []) await setup.ses.associate(name, sesArnBeside(arn, `identity/${domain}`));
  return { name, arn };
}

/**
 * `tenants create <name>`: a tenant named `name` that is complete (SES tenant and first key) is
 * refused; one half-created by an earlier run is completed, with a new first key.
 */
export async function createTenant(deps: TenantAdminDeps, name: string, reputation: ReputationSetting) {
  const tenant = await deps.tenants.claimTenant(name);
  if (tenant.complete) throw new Error(`A tenant named ${name} exists already (${tenant.id}); mint keys with: sesame keys create --tenant ${tenant.id}`);
  const ses = await provisionSesTenant(deps, tenant.id, { reputation, domains: (await deps.domains.list(tenant.id)).map((d) => d.name) });
  const key = await deps.tenants.createKey(tenant.id, { name: 'default' });
  await deps.tenants.markComplete(tenant.id);
  return { tenant_id: tenant.id, name: tenant.name, api_key: key.token, api_key_id: key.id, created_at: tenant.createdAt, ses_tenant: ses.name, reputation_policy: reputation };
}

/** `tenants show <id>`: the tenant, its SES tenant's sending status and reputation findings, and what is associated with it. */
export async function showTenant(deps: TenantAdminDeps, tenantId: string) {
  const tenant = await deps.tenants.getTenant(tenantId);
  if (!tenant) throw new Error(`No tenant with id ${tenantId}`);
  const name = sesTenantName(deps.sesTenantPrefix, tenantId);
  const status = await deps.ses.status(name);
  return {
    tenant_id: tenant.id,
    name: tenant.name,
    created_at: tenant.createdAt,
    ses_tenant: status
      ? { ...status, resources: await deps.ses.resources(name) }
      : { name, missing: true, fix: 'sesame tenants migrate' },
  };
}

/** `tenants list`: every tenant with its SES tenant's sending status. */
export async function listTenants(deps: TenantAdminDeps) {
  const [tenants, ses] = await Promise.all([deps.tenants.listTenants(), deps.ses.list(deps.sesTenantPrefix)]);
  const status = new Map(ses.map((t) => [t.name, t.sendingStatus]));
  return {
    data: tenants.map((t) => {
      const name = sesTenantName(deps.sesTenantPrefix, t.id);
      return { tenant_id: t.id, name: t.name, created_at: t.createdAt, ses_tenant: name, sending_status: status.get(name) ?? 'MISSING' };
    }),
  };
}

/**
 * `tenants migrate`: every tenant, those created before SES tenants included, gets its SES tenant
 * with its domains associated, is listed, and has the entries its SES tenant's list already holds
 * imported into the table (origin from SES's reason: SES keeps no "manual"). A tenant set up before
 * keeps its reputation policy unless `reputation` is given; the others get `reputation`, or
 * standard. Finding tenants that were never listed takes one Scan of the table: this one-off
 * command is the only place that scans.
 */
export async function migrateTenants(deps: TenantAdminDeps, reputation?: ReputationSetting) {
  const out = [];
  for (const tenant of await deps.tenants.everyTenant()) {
    await deps.tenants.listTenant(tenant);
    const domains = (await deps.domains.list(tenant.id)).map((d) => d.name);
    const ses = await provisionSesTenant(deps, tenant.id, { reputation: reputation ?? (tenant.complete ? undefined : 'standard'), domains });
    let imported = 0;
    for await (const entry of deps.ses.suppressed(ses.name)) {
      const origin = entry.reason === 'COMPLAINT' ? 'complaint' : 'bounce';
      const { suppression, created } = await deps.suppressions.claim({ tenantId: tenant.id, email: entry.email, origin });
      if (!suppression.complete) await deps.suppressions.complete(suppression);
      if (created) imported++;
    }
    await deps.tenants.markComplete(tenant.id);
    out.push({ tenant_id: tenant.id, ses_tenant: ses.name, domains: domains.length, suppressions_imported: imported });
  }
  return { data: out };
}
