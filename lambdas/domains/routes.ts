/**
 * The /domains routes: parse -> core -> respond, in Resend's wire format. Every route needs a
 * full-access key.
 */
import type { Routes } from '../core/http/api';
import { parsePageQuery } from '../core/http/paging';
import { HttpError, notFound } from '../core/errors';
import { parseJsonBody } from '../core/domain/email';
import { isId } from '../core/domain/ids';
import type { DomainRecord } from '../core/adapters/domains';
import { dmarcAdvice, recordsOf, resendDomainStatus } from '../core/domain/dns';
import { type DomainsDeps, type SesTenantDeps, createDomain, deleteDomain, getDomain, listDomains, updateDomain, verifyDomain } from './core';
import { parseCreateDomain, parseUpdateDomain } from './requests';

export type DomainRouteDeps = DomainsDeps & SesTenantDeps;

/** Resend's capabilities: every Sesame domain sends; receiving is per domain (PATCH /domains/{id}). */
const capabilitiesOf = (d: DomainRecord) => ({ sending: 'enabled', receiving: d.receiving ? 'enabled' : 'disabled' }) as const;

function summary(d: DomainRecord) {
  return {
    id: d.id,
    name: d.name,
    status: resendDomainStatus(d.status),
    created_at: d.createdAt,
    region: d.region,
    open_tracking: d.openTracking,
    click_tracking: d.clickTracking,
    capabilities: capabilitiesOf(d),
  };
}

/** Resend's `tls` as the domain has it (domains stored before it was chosen are opportunistic). */
const tlsOf = (d: DomainRecord) => d.tls ?? 'opportunistic';

/**
 * The fields of the domain object beyond the summary: Resend's `tracking_subdomain` (null: Sesame
 * has no custom tracking domains; Resend answers null too when none is set), the records to publish,
 * and Sesame's own `dmarc`, the DMARC record it advises (not a record to verify).
 */
const details = (d: DomainRecord) => ({
  tls: tlsOf(d), tracking_subdomain: null, records: records(d), dmarc: dmarcAdvice(d.name), route53: route53Of(d), receiving: receivingOf(d),
});

/**
 * Sesame's own: while receiving is on, what to know before publishing the Receiving MX. An MX moves
 * all of the name's mail to SES, so a domain that already receives mail elsewhere should receive on
 * a subdomain instead (as Resend advises). `existing_mx` lists the MX records found in the domain's
 * Route 53 zone when receiving was turned on (null: Sesame could not look, it knows no zone for it).
 */
function receivingOf(d: DomainRecord) {
  if (!d.receiving) return null;
  const others = d.existingMx?.filter((v) => !/^(\d+\s+)?inbound-smtp\./i.test(v));
  const advice = others === undefined
    ? `If ${d.name} already has MX records (mail handled elsewhere), publishing this MX moves all of its mail to Sesame: enable receiving on a subdomain such as inbound.${d.name} instead.`
    : others.length > 0
      ? `${d.name} already has MX records (${others.join(', ')}): publishing the Receiving MX would take its mail from them. Add a subdomain such as inbound.${d.name} and enable receiving there instead.`
      : null;
  return { existing_mx: d.existingMx ?? null, advice };
}

/** Sesame's own: the Route 53 zone and the records Sesame wrote there itself (null: it wrote none). */
const route53Of = (d: DomainRecord) =>
  (d.route53 ? { hosted_zone_id: d.route53.zoneId, records: d.route53.records.map((r) => ({ name: r.name, type: r.type, ttl: r.ttl, value: r.value })) } : null);

const records = (d: DomainRecord) =>
  recordsOf(d).map((r) => ({ record: r.record, name: r.name, type: r.type, ttl: r.ttl, status: r.status, value: r.value, ...(r.priority !== undefined ? { priority: r.priority } : {}) }));

const domainId = (params: Readonly<Record<string, string>>): string => {
  const id = params.id ?? '';
  if (!isId(id)) throw notFound('Domain');
  return id;
};

/** A page of a tenant's domains (newest first), with Resend's `limit`, `after` and `before` cursors. */
function page(all: readonly DomainRecord[], query: Readonly<Record<string, string>>): { data: DomainRecord[]; hasMore: boolean } {
  const { limit, after, before } = parsePageQuery(query, 'one of your domains');
  const cursor = after ?? before;
  if (cursor === undefined) return { data: all.slice(0, limit), hasMore: all.length > limit };
  const at = all.findIndex((d) => d.id === cursor);
  if (at < 0) throw new HttpError(422, 'validation_error', 'The cursor must be the id of one of your domains.');
  if (after !== undefined) return { data: all.slice(at + 1, at + 1 + limit), hasMore: all.length > at + 1 + limit };
  return { data: all.slice(Math.max(0, at - limit), at), hasMore: at - limit > 0 };
}

export function domainRoutes(deps: DomainRouteDeps): Routes {
  return {
    'POST /domains': {
      permission: 'full_access',
      async handle(ctx) {
        const input = parseCreateDomain(parseJsonBody(ctx.request.body), deps.region);
        const d = await createDomain(deps, ctx.auth, input, ctx.log);
        const { id, name, status, created_at, region, capabilities, open_tracking, click_tracking } = summary(d);
        return { statusCode: 201, body: { id, name, status, created_at, region, capabilities, open_tracking, click_tracking, ...details(d) } };
      },
    },

    'GET /domains': {
      permission: 'full_access',
      async handle(ctx) {
        const { data, hasMore } = page(await listDomains(deps, ctx.auth), ctx.request.query);
        return { statusCode: 200, body: { object: 'list', has_more: hasMore, data: data.map(summary) } };
      },
    },

    'GET /domains/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const d = await getDomain(deps, ctx.auth, domainId(ctx.request.params));
        return { statusCode: 200, body: { object: 'domain', ...summary(d), ...details(d) } };
      },
    },

    'POST /domains/{id}/verify': {
      permission: 'full_access',
      async handle(ctx) {
        const d = await verifyDomain(deps, ctx.auth, domainId(ctx.request.params), ctx.log);
        return { statusCode: 200, body: { object: 'domain', id: d.id } };
      },
    },

    'PATCH /domains/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const id = domainId(ctx.request.params);
        const input = parseUpdateDomain(ctx.request.body.trim() === '' ? {} : parseJsonBody(ctx.request.body));
        const d = await updateDomain(deps, ctx.auth, id, input, ctx.log);
        return { statusCode: 200, body: { object: 'domain', id: d.id } };
      },
    },

    'DELETE /domains/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const id = domainId(ctx.request.params);
        await deleteDomain(deps, ctx.auth, id, ctx.log);
        return { statusCode: 200, body: { object: 'domain', id, deleted: true } };
      },
    },
  };
}
