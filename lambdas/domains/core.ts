/**
 * The domains use cases: register a domain as an SES identity owned by one tenant, read its
 * state, re-check it with SES, change its tracking, remove it. Adapters are passed in; nothing
 * here knows whether it runs in AWS or locally.
 *
 * Events: every change of what a domain says fires `domain.created`, `domain.updated` or
 * `domain.deleted` through the webhook fan-out. The event is written with the change (the domain's
 * outbox, adapters/domains.ts), queued next, then cleared; one the request could not queue is
 * queued by the verifier, or by the next change of the domain, so none is lost.
 *
 * Automatic checks: a domain that may still verify on its own is re-read from SES by the verifier
 * (lambdas/verify-domains) on a schedule that backs off (domain/verification-schedule.ts).
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
import { type DomainEvent, domainCreated, domainDeleted, domainUpdated, statusChanged } from '../core/domain/domain-events';
import { needsChecks, nextCheckAt } from '../core/domain/verification-schedule';
import type { DomainRecord, DomainStore, StatusUpdate, StoredDomain } from '../core/adapters/domains';
import type { DomainEventPublisher } from '../core/adapters/fan-out';
import type { DnsPublisher } from '../core/adapters/route53';
import type { PublishedRecords } from '../core/domain/route53-records';
import { type IdentityService, TAG_TENANT_KEY } from '../core/adapters/ses-identities';
import type { SesTenants } from '../core/adapters/ses-tenants';
import { sesTenantName } from '../core/domain/ses-tenants';
import type { CreateDomainInput, UpdateDomainInput } from './requests';

export interface DomainsDeps {
  readonly domains: DomainStore;
  readonly identities: IdentityService;
  /** Queues domain events for the tenant's endpoints (the webhook fan-out). */
  readonly events: DomainEventPublisher;
  /** The stack's region: where SES sends from, and what `region` says. */
  readonly region: string;
  readonly now: () => number;
  /** The base of the automatic checks' schedule, in ms (SESAME_DOMAIN_CHECK_BASE_SECONDS; 60 s). */
  readonly checkBaseMs?: number;
  /** Writes the records of domains under the stack's Route 53 zones (absent: none were given). */
  readonly dns?: DnsPublisher;
}

/** What creating a domain needs beyond DomainsDeps (the domain verifier creates none). */
export interface SesTenantDeps {
  /** SES refuses a tenant's sends from an identity not associated with its SES tenant. */
  readonly sesTenants: Pick<SesTenants, 'associateIdentity'>;
  /** Prefix of the SES tenants' names (see sesTenantName). */
  readonly sesTenantPrefix: string;
}

/** Attempts of a change that finds the domain changed meanwhile (each re-reads it). */
const CHANGE_ATTEMPTS = 3;

const baseMs = (deps: DomainsDeps): number => deps.checkBaseMs ?? 60_000;

/** When the verifier looks at a domain next: on its schedule while it may still verify on its own. */
function checkTime(deps: DomainsDeps, d: Pick<DomainRecord, 'status' | 'createdAt'>): number | undefined {
  return needsChecks(d.status) ? nextCheckAt(Date.parse(d.createdAt), deps.now(), baseMs(deps)) : undefined;
}

/** The verifier's look at a domain whose event waits in its outbox: soon, to queue it again. */
const retryTime = (deps: DomainsDeps): number => deps.now() + baseMs(deps);

/**
 * Queues a change's event, then empties the outbox and schedules the verifier's next look. The
 * change is made already: a failure here is logged, and the outbox keeps the event for the verifier.
 */
async function queueEvent(deps: DomainsDeps, domain: Pick<DomainRecord, 'id' | 'name' | 'status' | 'createdAt'>, event: DomainEvent, log: Logger): Promise<void> {
  try {
    await deps.events.publish(event);
    await deps.domains.clearOutbox(domain, event.eventId, checkTime(deps, domain));
  } catch (error) {
    log.error('could not queue a domain event; the verifier queues it later', { domainId: domain.id, eventType: event.type, error });
  }
}

/** Queues an event a change before left in the outbox (before a new change, which would replace it). Throws when it cannot. */
export async function flushOutbox(deps: DomainsDeps, domain: StoredDomain): Promise<void> {
  if (!domain.outbox) return;
  await deps.events.publish(domain.outbox);
  await deps.domains.clearOutbox(domain, domain.outbox.eventId, checkTime(deps, domain));
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
async function ownDomain(deps: DomainsDeps, auth: AuthContext, id: string): Promise<StoredDomain> {
  const domain = await deps.domains.getById(id);
  if (!domain || domain.tenantId !== auth.tenantId) throw notFound('Domain');
  return domain;
}

/**
 * Claims the name, checks parents and subdomains, makes the SES identity and configures it, then
 * activates the domain. Anything that fails after the claim undoes what was done, so a refused or
 * failed create leaves neither a claim nor an identity behind.
 */
export async function createDomain(deps: DomainsDeps & SesTenantDeps, auth: AuthContext, input: CreateDomainInput, log: Logger): Promise<DomainRecord> {
  const draft: DomainRecord = {
    id: newId(), name: input.name, tenantId: auth.tenantId, status: 'not_started', verifiedForSending: false,
    region: deps.region, openTracking: input.openTracking, clickTracking: input.clickTracking, tls: input.tls,
    customReturnPath: input.customReturnPath, records: [], createdAt: new Date(deps.now()).toISOString(),
    ...(input.receiving ? { receiving: true } : {}),
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
  let published: PublishedRecords | undefined;
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

    let domain: DomainRecord = { ...draft, ...evaluate(draft, identity, deps.region) };
    // Under one of the stack's Route 53 zones, Sesame publishes the records itself.
    published = await deps.dns?.publish(domain.name, domain.records, log);
    if (published) domain = { ...domain, route53: published };
    const event = domainCreated(domain);
    await deps.domains.activate(domain, { event, checkAt: retryTime(deps) });
    log.info('domain created', { domainId: domain.id, status: domain.status });
    await queueEvent(deps, domain, event, log);
    return domain;
  } catch (error) {
    if (published) {
      await deps.dns!.remove(published, log).catch((e) => log.error('could not remove the Route 53 records of a failed create', { domainId: draft.id, error: e }));
    }
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

/** What the identity SES has now makes of the domain; a missing identity fails it and stops its sends. */
function statusFromSes(domain: StoredDomain, identity: IdentitySnapshot | undefined): StatusUpdate {
  if (!identity) {
    return { status: 'failed', verifiedForSending: false, records: domain.records.map((r) => ({ ...r, status: 'not_started' as const })) };
  }
  return evaluate(domain, identity, domain.region, dkimTokensOf(domain.records));
}

export type RefreshResult = { readonly domain: StoredDomain; readonly changed: boolean; readonly identityGone: boolean };

/**
 * Reads the identity from SES (GetEmailIdentity) and stores its state: status, records and
 * whether SES sends from it, which is what the send gate reads. A change fires `domain.updated`;
 * the verifier's next look follows the new status. Undefined when the domain is gone.
 * `reschedule`: whether an unchanged domain gets its next look (the verifier's own reads).
 */
export async function refreshFromSes(deps: DomainsDeps, start: StoredDomain, log: Logger, reschedule: boolean): Promise<RefreshResult | undefined> {
  let domain: StoredDomain | undefined = start;
  for (let attempt = 0; attempt < CHANGE_ATTEMPTS && domain; attempt++) {
    await flushOutbox(deps, domain);
    const identity = await deps.identities.get(domain.name);
    const update = statusFromSes(domain, identity);
    const after: StoredDomain = { ...domain, ...update };
    if (!statusChanged(domain, after)) {
      if (reschedule) await deps.domains.reschedule(domain, checkTime(deps, domain));
      return { domain, changed: false, identityGone: !identity };
    }
    const event = domainUpdated(after, new Date(deps.now()).toISOString());
    if (await deps.domains.updateStatus(domain, update, { event, checkAt: retryTime(deps) })) {
      log.info('domain status changed', { domainId: domain.id, from: domain.status, to: update.status });
      if (!identity) log.warn('the SES identity of a domain is gone', { domainId: domain.id });
      await queueEvent(deps, after, event, log);
      return { domain: after, changed: true, identityGone: !identity };
    }
    domain = await deps.domains.getById(domain.id);
  }
  if (domain) throw new Error('The domain kept changing while it was verified');
  return undefined;
}

/** POST /domains/{id}/verify: checks with SES at once. An identity that SES no longer has answers 404. */
export async function verifyDomain(deps: DomainsDeps, auth: AuthContext, id: string, log: Logger): Promise<DomainRecord> {
  const result = await refreshFromSes(deps, await ownDomain(deps, auth, id), log, false);
  if (!result) throw notFound('Domain');
  if (result.identityGone) {
    throw new HttpError(404, 'not_found', `SES no longer has an identity for ${result.domain.name}. Delete the domain and add it again.`);
  }
  log.info('domain verified', { domainId: id, status: result.domain.status });
  return result.domain;
}

/**
 * Receiving takes effect on the next message SES receives for the domain (the inbound function
 * reads the domain for each one). Tracking and TLS take effect on the next send: the send path picks the configuration set from
 * them. A change fires `domain.updated`; a body that changes nothing writes nothing.
 */
export async function updateDomain(deps: DomainsDeps, auth: AuthContext, id: string, input: UpdateDomainInput, log: Logger): Promise<DomainRecord> {
  let domain: StoredDomain | undefined = await ownDomain(deps, auth, id);
  for (let attempt = 0; attempt < CHANGE_ATTEMPTS && domain; attempt++) {
    // Turning receiving on looks for MX records the domain has in its Route 53 zone (when Sesame knows the zone).
    const turningOn = input.receiving === true && !domain.receiving;
    const existingMx = turningOn ? await deps.dns?.mxRecords?.(domain.name) : undefined;
    const update = { ...input, ...(existingMx !== undefined ? { existingMx } : {}) };
    const after: StoredDomain = { ...domain, ...update };
    const same = after.openTracking === domain.openTracking && after.clickTracking === domain.clickTracking && (after.tls ?? 'opportunistic') === (domain.tls ?? 'opportunistic')
      && Boolean(after.receiving) === Boolean(domain.receiving);
    if (same) return domain;
    await flushOutbox(deps, domain);
    const event = domainUpdated(after, new Date(deps.now()).toISOString());
    if (await deps.domains.updateSettings(domain, update, { event, checkAt: retryTime(deps) })) {
      log.info('domain updated', { domainId: domain.id });
      await queueEvent(deps, after, event, log);
      return after;
    }
    domain = await deps.domains.getById(id);
    if (domain && domain.tenantId !== auth.tenantId) domain = undefined;
  }
  if (domain) throw new HttpError(409, 'concurrent_idempotent_requests', 'The domain is being changed by another request. Retry in a moment.');
  throw notFound('Domain');
}

/**
 * Stops sends from the domain first (it becomes `deleting`), then deletes the SES identity, queues
 * `domain.deleted`, then deletes the items. A delete that failed half-way can be repeated: a
 * `deleting` domain is still found here, and its event keeps its id and time (the same deliveries).
 */
export async function deleteDomain(deps: DomainsDeps, auth: AuthContext, id: string, log: Logger): Promise<void> {
  const domain = await deps.domains.getStoredById(id);
  if (!domain || domain.tenantId !== auth.tenantId || domain.lifecycle === 'creating') throw notFound('Domain');
  const deleting = await deps.domains.beginDelete(domain);
  if (!deleting) throw notFound('Domain');
  // The verifier no longer looks at a deleting domain: an event still waiting goes now.
  if (deleting.outbox) await deps.events.publish(deleting.outbox);
  const existed = await deps.identities.delete(domain.name);
  // The records Sesame wrote, and only those; a repeated delete finds them gone and goes on.
  if (deleting.route53 && deps.dns) await deps.dns.remove(deleting.route53, log);
  await deps.events.publish(domainDeleted(deleting, deleting.deletingAt ?? new Date(deps.now()).toISOString()));
  await deps.domains.finishDelete(domain);
  log.info('domain deleted', { domainId: domain.id, identityExisted: existed });
}
