/**
 * The domain verifier: run every minute (an EventBridge schedule in AWS, a timer in local mode), it
 * re-reads from SES the domains that are due (the sparse gsi2 entries of DomainStore.dueForChecks:
 * no scan), stores what changed and fires `domain.updated`, and sets each domain's next look on the
 * backing-off schedule of domain/verification-schedule.ts. It also queues any domain event a
 * request could not queue (an outbox left behind).
 *
 * Every write is conditional on the domain's version, so a run that overlaps another, or a
 * customer's POST /domains/{id}/verify, changes nothing twice: the later writer re-reads.
 * A domain that fails (SES throttling, say) is logged and stays due: the next run takes it again.
 */
import type { Logger } from '../core/log';
import type { StoredDomain } from '../core/adapters/domains';
import { type DomainsDeps, refreshFromSes } from '../domains/core';

/** Domains one page holds; a run reads pages until none is due or its time is nearly up. */
export const CHECK_PAGE = 25;
/** Domains checked at once: SES's identity reads are rate-limited per account. */
const CONCURRENCY = 2;

export interface VerifierResult {
  readonly checked: number;
  readonly changed: number;
  readonly failed: number;
}

export interface RunOptions {
  /** Milliseconds the run may still take (the invocation's remaining time, less a margin). */
  readonly budgetMs: number;
}

export async function runDomainChecks(deps: DomainsDeps, log: Logger, options: RunOptions): Promise<VerifierResult> {
  const started = deps.now();
  let checked = 0;
  let changed = 0;
  let failed = 0;
  const failedIds = new Set<string>();
  while (deps.now() - started < options.budgetMs) {
    const due = (await deps.domains.dueForChecks(deps.now(), CHECK_PAGE + failedIds.size)).filter((d) => !failedIds.has(d.id));
    if (due.length === 0) break;
    await inBatches(due, CONCURRENCY, async (domain) => {
      try {
        const result = await refreshFromSes(deps, domain, log.child({ domainId: domain.id }), true);
        checked++;
        if (result?.changed) changed++;
      } catch (error) {
        // Stays due; a domain that keeps failing is not retried within this run.
        failed++;
        failedIds.add(domain.id);
        log.warn('could not check a domain; the next run tries again', { domainId: domain.id, error });
      }
    });
    if (due.length < CHECK_PAGE) break;
  }
  if (checked + failed > 0) log.info('domain checks done', { checked, changed, failed });
  return { checked, changed, failed };
}

async function inBatches(items: readonly StoredDomain[], size: number, work: (d: StoredDomain) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}
