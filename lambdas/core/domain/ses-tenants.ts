/**
 * Each Sesame tenant is an SES tenant. What both sides agree on, pure (no AWS imports): the SES
 * tenant's name, its suppression settings, its reputation policy, and which SES events mean that
 * SES has put an address on the tenant's suppression list.
 */
import { SIMULATOR_DOMAIN } from './email';
import type { SesEvent } from './ses-events';

/** SES tenant names: up to 64 characters, letters, digits, `-` and `_` (CreateTenant's rule). */
export const SES_TENANT_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Longest prefix of SES tenant names (a tenant id is 36 characters; the name fits in 64). */
export const MAX_SES_TENANT_PREFIX = 26;

/**
 * The prefix of a stack's SES tenant names: the stack's name (SESAME_STACK_NAME), characters SES
 * does not allow as `-`, shortened. Derived by the CDK stack (for its grants) and by the functions
 * and the admin tool (for the names), so both agree without a variable of its own.
 */
export function sesTenantPrefixOf(stackName: string): string {
  return stackName.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, MAX_SES_TENANT_PREFIX);
}

/**
 * The SES tenant of a Sesame tenant: `<prefix>-<tenant id>`, the prefix being the stack's name.
 * Characters SES does not allow become `-`, and the prefix is shortened so that the name fits in
 * 64 characters; the tenant id is kept whole, so two tenants never share an SES tenant.
 */
export function sesTenantName(prefix: string, tenantId: string): string {
  const id = tenantId.replace(/[^A-Za-z0-9_-]/g, '-');
  if (id.length === 0 || id.length > 63) throw new Error(`A tenant id cannot name an SES tenant: ${tenantId}`);
  const head = prefix.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 63 - id.length);
  return head.length > 0 ? `${head}-${id}` : id;
}

/** The suppression list a Sesame tenant's SES tenant keeps: its own, for hard bounces and complaints. */
export const TENANT_SUPPRESSION = { SuppressionScope: 'TENANT', SuppressedReasons: ['BOUNCE', 'COMPLAINT'] } as const;

/** SES's managed reputation policies: what SES does when a tenant's reputation findings pile up. */
export const REPUTATION_SETTINGS = ['standard', 'strict', 'none'] as const;
export type ReputationSetting = (typeof REPUTATION_SETTINGS)[number];

export const isReputationSetting = (value: string): value is ReputationSetting => (REPUTATION_SETTINGS as readonly string[]).includes(value);

/** The ARN of an SES-managed reputation policy (`arn:<partition>:ses:<region>:aws:reputation-policy/<setting>`). */
export function reputationPolicyArn(region: string, setting: ReputationSetting): string {
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:ses:${region}:aws:reputation-policy/${setting}`;
}

/**
 * The ARN of an SES resource of the same partition, region and account as `tenantArn` (which SES
 * returns on CreateTenant and GetTenant), e.g. `identity/example.com` or `configuration-set/sesame`.
 */
export function sesArnBeside(tenantArn: string, resource: string): string {
  const parts = tenantArn.split(':');
  if (parts.length < 6 || parts[2] !== 'ses') throw new Error(`Not an SES ARN: ${tenantArn}`);
  return `${parts.slice(0, 5).join(':')}:${resource}`;
}

// ---------------------------------------------------------------------------------------------
// Suppressions in Resend's terms

export const SUPPRESSION_ORIGINS = ['bounce', 'complaint', 'manual'] as const;
export type SuppressionOrigin = (typeof SUPPRESSION_ORIGINS)[number];

/** SES's reason for an entry of a suppression list (SuppressionListReason): SES has no "manual". */
export const sesReasonOf = (origin: SuppressionOrigin): 'BOUNCE' | 'COMPLAINT' => (origin === 'complaint' ? 'COMPLAINT' : 'BOUNCE');

/**
 * The addresses that SES has just added to the tenant's suppression list because of `event`, in the
 * case SES reported them: a hard bounce (Permanent, except the subtypes that say the address was
 * already on a list) or a complaint (except one SES made up because the address was on a list).
 * A tenant's list takes both reasons (TENANT_SUPPRESSION), so each of these is now on it. The
 * mailbox simulator's addresses are never put on a suppression list.
 */
export function suppressedBy(event: SesEvent): { origin: 'bounce' | 'complaint'; addresses: readonly string[] } | undefined {
  const addresses = event.recipients.filter((a) => !a.toLowerCase().endsWith(`@${SIMULATOR_DOMAIN}`));
  if (addresses.length === 0) return undefined;
  if (event.status === 'bounced' && event.sesType === 'Bounce') {
    const bounce = event.details.bounce as { type?: string } | undefined;
    return bounce?.type === 'Permanent' ? { origin: 'bounce', addresses } : undefined;
  }
  if (event.status === 'complained' && event.sesType === 'Complaint') return { origin: 'complaint', addresses };
  return undefined;
}
