/**
 * Ingest's one hook into the suppressions list: when SES has just put addresses on a tenant's
 * SES suppression list (a hard bounce or a complaint, see suppressedBy), the table gets the entries
 * Resend's API shows, with the email that caused them. SES already holds the addresses, in the case
 * the event names them, so nothing is sent to SES. Idempotent: an event applied again finds the
 * entries there and completes any that a crash left half-written.
 */
import { suppressedBy } from '../core/domain/ses-tenants';
import type { SesEvent } from '../core/domain/ses-events';
import type { SuppressionStore } from '../core/adapters/suppressions';

export type SuppressionWriter = Pick<SuppressionStore, 'claim' | 'complete'>;

export async function recordSuppressions(store: SuppressionWriter, event: SesEvent, email: { tenantId: string; emailId: string }): Promise<number> {
  const found = suppressedBy(event);
  if (!found) return 0;
  let added = 0;
  for (const address of found.addresses) {
    const { suppression, created } = await store.claim({ tenantId: email.tenantId, email: address, origin: found.origin, sourceId: email.emailId });
    if (!suppression.complete) await store.complete(suppression);
    if (created) added++;
  }
  return added;
}
