/**
 * When Sesame re-reads a pending domain from SES on its own. Resend keeps checking a new domain's
 * DNS for 72 hours, often at first and then less; so does Sesame, from the domain's creation. SES
 * itself gives up on DKIM records it has not found within 72 hours (FAILED), which the last check
 * reads. Pure code.
 */
import type { DomainStatus } from './dns';

/** How long checks go on after a domain is created. */
export const CHECK_WINDOW_MS = 72 * 3600 * 1000;

/**
 * The gap after a check, by the domain's age, in multiples of the base (60 s in AWS: 1 min for the
 * first 10 minutes, 5 min up to an hour, 15 min up to 6 hours, 30 min up to a day, then hourly).
 */
const STEPS: readonly (readonly [ageBelowMs: number, baseMultiple: number])[] = [
  [10 * 60 * 1000, 1],
  [3600 * 1000, 5],
  [6 * 3600 * 1000, 15],
  [24 * 3600 * 1000, 30],
  [Infinity, 60],
];

/** Statuses that may still change without the customer calling verify. */
export function needsChecks(status: DomainStatus): boolean {
  return status !== 'verified' && status !== 'failed';
}

/**
 * The time of the next check of a domain created at `createdMs` and checked at `nowMs`, or
 * undefined when checks are over (its window has passed). The window's end gets a last check.
 */
export function nextCheckAt(createdMs: number, nowMs: number, baseMs: number): number | undefined {
  const end = createdMs + CHECK_WINDOW_MS;
  if (nowMs >= end) return undefined;
  const age = Math.max(0, nowMs - createdMs);
  const multiple = STEPS.find(([below]) => age < below)![1];
  return Math.min(nowMs + multiple * baseMs, end);
}
