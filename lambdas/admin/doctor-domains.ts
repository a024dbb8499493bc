/**
 * Each domain in the table against its identity in SES: verification, DKIM and MAIL FROM, read the
 * way `POST /domains/{id}/verify` reads them (identityState), so that "the table says verified, SES
 * does not send" (sends accepted, then refused by SES) is a `fail` and a stale table is a `warn`.
 */
import type { DomainRecord } from '../core/adapters/domains';
import { type IdentitySnapshot, identityState, mailFromDomainOf } from '../core/domain/dns';
import { type CheckResult, type DoctorDeps, describeError, fail, ok, warn } from './doctor-check';
import { unset } from './doctor-config';

/** GetEmailIdentity calls at once: SES's API rate for it is low, and the SDK retries throttling. */
const CONCURRENCY = 4;

export async function checkDomains(deps: Pick<DoctorDeps, 'domains' | 'identities'>): Promise<CheckResult[]> {
  if (!deps.domains) return [fail('domains', unset('SESAME_TABLE_NAME'))];
  const domains = await deps.domains.listEveryTenant();
  if (domains.length === 0) return [warn('domains', 'no domain yet: nothing can be sent until one is verified; add one with POST /domains')];
  const results: CheckResult[] = new Array(domains.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < domains.length; i = next++) {
      const domain = domains[i]!;
      results[i] = await deps.identities.get(domain.name).then(
        (identity) => assessDomain(domain, identity),
        (error: unknown) => fail(`domain ${domain.name}`, `could not read its SES identity: ${describeError(error)}`),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, domains.length) }, worker));
  return results;
}

/** One domain: what the table says against what SES says. Pure. */
export function assessDomain(domain: DomainRecord, identity: IdentitySnapshot | undefined): CheckResult {
  const name = `domain ${domain.name}`;
  const verify = `POST /domains/${domain.id}/verify`;
  if (!identity) {
    const table = domain.verifiedForSending ? 'the table says it is verified, so sends from it are accepted and then fail' : 'it cannot be verified';
    return fail(name, `SES has no identity for it (${table}): delete the domain and add it again (DELETE /domains/${domain.id}, then POST /domains)`);
  }
  const mailFromDomain = mailFromDomainOf(domain.name, domain.customReturnPath);
  const ses = identityState(identity, mailFromDomain);
  const details = `DKIM ${ses.dkim}, MAIL FROM ${mailFromDomain} ${ses.mailFrom}`;
  if (domain.verifiedForSending && !ses.verifiedForSending) {
    return fail(name, `the table says verified but SES does not send from it (${details}): sends are accepted, then refused by SES; publish its records again (GET /domains/${domain.id}), then ${verify}`);
  }
  if (!domain.verifiedForSending && ses.verifiedForSending) {
    return warn(name, `SES sends from it but the table does not know yet, so Sesame refuses its sends (${details}): ${verify}`);
  }
  if (!ses.verifiedForSending) {
    return warn(name, `not verified yet (${details}): publish its records (GET /domains/${domain.id}), then ${verify}`);
  }
  if (domain.status !== ses.status) {
    return warn(name, `the table says ${domain.status}, SES says ${ses.status} (${details}): ${verify} brings the table up to date`);
  }
  if (ses.mailFrom !== 'verified') {
    return warn(name, `sends, but with SES's own MAIL FROM (${details}): publish the MAIL FROM MX and SPF records (GET /domains/${domain.id}), then ${verify}`);
  }
  return ok(name, `verified for sending (${details})`);
}
