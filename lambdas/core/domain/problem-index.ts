/**
 * The sparse index of an email's problems (gsi3, lambdas/core/table.ts): an email whose STATUS
 * reached `failed`, `bounced` or `complained` (for any recipient, or for the whole message)
 * carries `gsi3pk = T#<tenant>#P#<status>` / `gsi3sk = <time of that event>#<email id>`; every
 * other email carries nothing, so the index holds only the emails the console's filter lists and
 * costs no write for the others. When an email has several, the highest-ranked one names it (a
 * complaint after a bounce moves the email to the complaint list).
 */
import { recipientStatus } from './email-state';
import type { EmailState } from './email-state';
import { RANKS, type EmailStatus } from './status';
import { keys } from '../table';

export const PROBLEM_STATUSES = ['failed', 'bounced', 'complained'] as const;
export type ProblemStatus = (typeof PROBLEM_STATUSES)[number];

export const isProblemStatus = (value: unknown): value is ProblemStatus => (PROBLEM_STATUSES as readonly unknown[]).includes(value);

/** The worst problem of a state and the time of its event, or undefined. */
export function problemOf(state: EmailState): { readonly status: ProblemStatus; readonly time: string } | undefined {
  const candidates: { status: EmailStatus | undefined; time: string }[] = Object.values(state.recipients).map((key) => ({
    status: recipientStatus(key, RANKS),
    time: key.split('#')[1] ?? '',
  }));
  if (state.lastEvent !== undefined && state.lastKey !== undefined) candidates.push({ status: state.lastEvent, time: state.lastKey.split('#')[0] ?? '' });
  let worst: { status: ProblemStatus; time: string } | undefined;
  for (const c of candidates) {
    if (!isProblemStatus(c.status)) continue;
    if (!worst || RANKS[c.status] > RANKS[worst.status] || (RANKS[c.status] === RANKS[worst.status] && c.time > worst.time)) worst = { status: c.status, time: c.time };
  }
  return worst;
}

/** The gsi3 attributes of a STATUS item: none unless the email has a problem. */
export function problemIndexAttributes(tenantId: string, emailId: string, state: EmailState): { gsi3pk?: string; gsi3sk?: string } {
  const problem = problemOf(state);
  if (!problem) return {};
  return { gsi3pk: keys.tenantProblems(tenantId, problem.status), gsi3sk: `${problem.time}#${emailId}` };
}
