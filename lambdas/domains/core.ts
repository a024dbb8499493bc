/**
 * The domains use cases: register a domain as an SES identity owned by one tenant, read its
 * state, re-check it with SES, change its tracking, remove it. Adapters are passed in; nothing
 * here knows whether it runs in AWS or locally.
 *
 * Ownership: a name, its parent domains and its subdomains belong to one tenant. Another tenant's
 * domains are invisible (404); registering a name related to one of them is refused with
 * Resend's 403 validation_error, as is registering a name twice.
 */
import type { AuthContext } from '../core/http/auth';
import { HttpError, forbidden, notFound } from '../core/errors';
import type { Logger } from '../core/log';
import { newId } from '../core/domain/ids';
import { type DnsRecord, type IdentitySnapshot, dnsRecords, identityState, mailFromDomainOf } from '../core/domain/dns';
import type { DomainRecord, DomainStore } from '../core/adapters/domains';
import { type IdentityService, TAG_TENANT_KEY } from '../core/adapters/ses-identities';
import type { SesTenants } from '../core/adapters/ses-tenants';
import { sesTenantName } from '../core/domain/ses-tenants';
import type { CreateDomainInput, UpdateDomainInput } from './requests';

export interface DomainsDeps {
  readonly domains: DomainStore;
  readonly identities: IdentityService;
  /** SES refuses a tenant's sends from an identity not associated with its SES tenant. */
  readonly sesTenants: Pick<SesTenants, 'associateIdentity'>;
  /** Prefix of the SES tenants' names (see sesTenantName). */
  readonly sesTenantPrefix: string;
  /** The stack's region: where SES sends from, and what `region` says. */
  readonly region: string;
  readonly now: () => number;
}

const registeredAlready = (name: string) => forbidden(`The ${name} domain has been registered already.`);

/** What SES said, as the domain's status, sending flag and records. */
function evaluate(domain: Pick<DomainRecord, 'name' | 'customReturnPath'>, identity: IdentitySnapshot, region: string, fallbackTokens: readonly string[] = []) {
  const mailFromDomain = mailFromDomainOf(domain.name, domain.customReturnPath);
  const state = identityState(identity, mailFromDomain);
  const records = dnsRecords({
    domain: domain.name,
    customReturnPath: domain.customReturnPath,
    region,
    dkimTokens: identity.dkim.tokens.length > 0 ? identity.dkim.tokens : fallbackTokens,
    ...(identity.dkim.signingHostedZone ? { signingHostedZone: identity.dkim.signingHostedZone } : {}),
  }, state);
  return { status: state.status, verifiedForSending: state.verifiedForSending, records };
}

const dkimTokensOf = (records: readonly DnsRecord[]): string[] =>
  records.filter((r) => r.record === 'DKIM' && r.name.includes('._domainkey.')).map((r) => r.name.slice(0, r.name.indexOf('._domainkey.')));

/** The caller's domain with this id, or 404: another tenant's domain does not exist for the caller. */
async function ownDomain(deps: DomainsDeps, auth: AuthContext, id: string): Promise<DomainRecord> {
  const domain = await deps.domains.getById(id);
  if (!domain || domain.tenantId !== auth.tenantId) throw notFound('Domain');
  return domain;
}

/**
 * Claims the name, checks parents and subdomains, makes the SES identity and configures it, then
 * activates the domain. Anything that fails after the claim undoes what was done, so a refused or
 * failed create leaves neither a claim nor an identity behind.
 */
export async function createDomain(deps: DomainsDeps, auth: AuthContext, input: CreateDomainInput, log: Logger): Promise<DomainRecord> {
  const draft: DomainRecord = {
    id: newId(), name: input.name, tenantId: auth.tenantId, status: 'not_started', verifiedForSending: false,
    region: deps.region, openTracking: input.openTracking, clickTracking: input.clickTracking,
    customReturnPath: input.customReturnPath, records: [], createdAt: new Date(deps.now()).toISOString(),
  };
  const claim = await deps.domains.claim(draft);
  if (!claim.claimed) {
    const holder = claim.holder;
    if (holder?.tenantId === auth.tenantId && holder.lifecycle === 'creating') {
      throw forbidden(`The ${input.name} domain is being registered by another request. Retry in a few minutes if it does not appear.`);
    }
    if (holder?.tenantId === auth.tenantId && holder.lifecycle === 'deleting') {
      throw forbidden(`The ${input.name} domain is being deleted. Retry in a moment.`);
    }
    throw registeredAlready(input.name);
  }

  let identityIsOurs = false;
  try {
    const conflict = await deps.domains.findConflict(input.name, auth.tenantId);
    if (conflict === 'parent') throw forbidden(`A parent domain of ${input.name} is registered by another account: a domain and its subdomains belong to one account.`);
    if (conflict === 'subdomain') throw forbidden(`A subdomain of ${input.name} is registered by another account: a domain and its subdomains belong to one account.`);

    const mailFromDomain = mailFromDomainOf(input.name, input.customReturnPath);
    let identity = await deps.identities.create(input.name, auth.tenantId);
    if (identity) {
      identityIsOurs = true;
      // SES sets the MAIL FROM domain just below: it starts PENDING, as SES reports it then.
      identity = { ...identity, mailFrom: { domain: mailFromDomain, status: 'PENDING', behaviorOnMxFailure: 'USE_DEFAULT_VALUE' } };
    } else {
      // SES has the identity already. One this tenant created (a create that crashed after SES
      // answered) is adopted; any other, made outside Sesame or for another tenant, is not ours.
      const existing = await deps.identities.get(input.name);
      if (!existing || existing.tags[TAG_TENANT_KEY] !== auth.tenantId) throw registeredAlready(input.name);
      identityIsOurs = true;
      const sameMailFrom = existing.mailFrom.domain === mailFromDomain;
      identity = {
        ...existing,
        mailFrom: { domain: mailFromDomain, status: sameMailFrom ? existing.mailFrom.status ?? 'PENDING' : 'PENDING', behaviorOnMxFailure: 'USE_DEFAULT_VALUE' },
      };
      log.info('adopted an SES identity this tenant created before', { domainId: draft.id });
    }
    await deps.identities.configure(input.name, mailFromDomain);
    await deps.sesTenants.associateIdentity(sesTenantName(deps.sesTenantPrefix, auth.tenantId), input.name);

    const domain: DomainRecord = { ...draft, ...evaluate(draft, identity, deps.region) };
    await deps.domains.activate(domain);
    log.info('domain created', { domainId: domain.id, status: domain.status });
    return domain;
  } catch (error) {
    if (identityIsOurs) {
      await deps.identities.delete(input.name).catch((e) => log.error('could not delete the SES identity of a failed create', { domainId: draft.id, error: e }));
    }
    await deps.domains.release(draft).catch((e) => log.error('could not release the claim of a failed create', { domainId: draft.id, error: e }));
    throw error;
  }
}

/** Served from DynamoDB: a read never calls SES (POST /domains/{id}/verify does). */
export async function getDomain(deps: DomainsDeps, auth: AuthContext, id: string): Promise<DomainRecord> {
  return ownDomain(deps, auth, id);
}

export async function listDomains(deps: DomainsDeps, auth: AuthContext): Promise<DomainRecord[]> {
  return deps.domains.list(auth.tenantId);
}

/**
 * Reads the identity from SES (GetEmailIdentity) and stores its state: status, records and
 * whether SES sends from it, which is what the send gate reads. An identity that SES no longer
 * has stops sending and answers 404.
 */
export async function verifyDomain(deps: DomainsDeps, auth: AuthContext, id: string, log: Logger): Promise<DomainRecord> {
  const domain = await ownDomain(deps, auth, id);
  const identity = await deps.identities.get(domain.name);
  if (!identity) {
    await deps.domains.updateStatus(domain, {
      status: 'failed', verifiedForSending: false,
      records: domain.records.map((r) => ({ ...r, status: 'not_started' as const })),
    });
    log.warn('the SES identity of a domain is gone', { domainId: domain.id });
    throw new HttpError(404, 'not_found', `SES no longer has an identity for ${domain.name}. Delete the domain and add it again.`);
  }
  const update = evaluate(domain, identity, domain.region, dkimTokensOf(domain.records));
  if (!(await deps.domains.updateStatus(domain, update))) throw notFound('Domain');
  log.info('domain verified', { domainId: domain.id, status: update.status });
  return { ...domain, ...update };
}

/** Tracking takes effect on the next send: the send path picks the configuration set from it. */
export async function updateDomain(deps: DomainsDeps, auth: AuthContext, id: string, input: UpdateDomainInput, log: Logger): Promise<DomainRecord> {
  const domain = await ownDomain(deps, auth, id);
  if (!(await deps.domains.updateSettings(domain, input))) throw notFound('Domain');
  log.info('domain updated', { domainId: domain.id });
  return { ...domain, ...input };
}

/**
 * Stops sends from the domain first (it becomes `deleting`), then deletes the SES identity, then
 * the items. A delete that failed half-way can be repeated: a `deleting` domain is still found here.
 */
export async function deleteDomain(deps: DomainsDeps, auth: AuthContext, id: string, log: Logger): Promise<void> {
  const domain = await deps.domains.getStoredById(id);
  if (!domain || domain.tenantId !== auth.tenantId || domain.lifecycle === 'creating') throw notFound('Domain');
  if (!(await deps.domains.beginDelete(domain))) throw notFound('Domain');
  const existed = await deps.identities.delete(domain.name);
  await deps.domains.finishDelete(domain);
  log.info('domain deleted', { domainId: domain.id, identityExisted: existed });
}
