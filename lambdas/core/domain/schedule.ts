/**
 * Scheduled sending, the pure parts: reading `scheduled_at` (ISO 8601 or natural language), the
 * due time a schedule fires at, the schedule's name and expression, and the message a schedule
 * puts on the dispatch queue. No AWS imports.
 */
import * as chrono from 'chrono-node';
import { HttpError } from '../errors';
import type { AppliedEvent } from './applied-event';
import { derivedId } from './ids';

/** How far ahead an email may be scheduled: Resend accepts up to 30 days in advance. */
export const MAX_SCHEDULE_AHEAD_DAYS = 30;
const MINUTE_MS = 60_000;

/** Where `scheduled_at` leaves an email: sent now (the time is past or now), or due at `dueMs`. */
export type ScheduleTime = { readonly kind: 'now' } | { readonly kind: 'at'; readonly dueMs: number };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * The instant `text` names, read relative to `nowMs`: an ISO 8601 date-time (UTC when it names no
 * offset), or natural language ("in 1 min", "tomorrow at 9am", "Friday at 3pm ET") in UTC unless
 * the text names a zone. Undefined when the text is not a time as a whole.
 */
export function readInstant(text: string, nowMs: number): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (ISO_DATE.test(trimmed)) {
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(trimmed) || !/[T ]/i.test(trimmed);
    const ms = Date.parse(hasZone ? trimmed : `${trimmed.replace(' ', 'T')}Z`);
    return Number.isNaN(ms) ? undefined : ms;
  }
  const results = chrono.parse(trimmed, { instant: new Date(nowMs), timezone: 0 }, { forwardDate: true });
  // The whole text must be the time: "send it in 1 min please" is not read as "in 1 min".
  if (results.length !== 1 || results[0]!.text.length !== trimmed.length) return undefined;
  return results[0]!.start.date().getTime();
}

/** The next whole minute at or after `ms`: EventBridge Scheduler fires within the minute of its time. */
export const roundUpToMinute = (ms: number): number => Math.ceil(ms / MINUTE_MS) * MINUTE_MS;

/**
 * Reads `scheduled_at` of a request made at `nowMs`: due now (past or now), or due at the next whole
 * minute at or after the time. Throws 422 for text that is not a time and for a time too far ahead.
 */
export function parseScheduledAt(text: string, nowMs: number, prefix = ''): ScheduleTime {
  const instant = readInstant(text, nowMs);
  if (instant === undefined) {
    throw new HttpError(422, 'invalid_parameter', `${prefix}Invalid \`scheduled_at\` field. Use an ISO 8601 date or a time such as \`in 1 min\` or \`tomorrow at 9am\`.`);
  }
  if (instant <= nowMs) return { kind: 'now' };
  if (instant > nowMs + MAX_SCHEDULE_AHEAD_DAYS * 86_400_000) {
    throw new HttpError(422, 'validation_error', `${prefix}\`scheduled_at\` is too far ahead: emails can be scheduled up to ${MAX_SCHEDULE_AHEAD_DAYS} days in advance.`);
  }
  return { kind: 'at', dueMs: roundUpToMinute(instant) };
}

/** The schedule of an email is named after it, so creating it again finds the same schedule. */
export const scheduleName = (emailId: string): string => `email-${emailId}`;

/** EventBridge Scheduler's one-time expression, read in UTC: `at(yyyy-mm-ddThh:mm:ss)`. */
export const atExpression = (dueMs: number): string => `at(${new Date(dueMs).toISOString().slice(0, 19)})`;

/** The instant of an `at(...)` expression read in UTC, or undefined. */
export function atInstant(expression: string): number | undefined {
  const m = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * What a schedule puts on the dispatch queue: the email and the due time it was scheduled for.
 * Dispatch sends only if the email is still scheduled for that time, so a firing left over from
 * before a reschedule sends nothing.
 */
export interface DispatchMessage {
  readonly v: 1;
  readonly email_id: string;
  readonly scheduled_at: string;
}

export const dispatchMessage = (emailId: string, dueMs: number): DispatchMessage =>
  ({ v: 1, email_id: emailId, scheduled_at: new Date(dueMs).toISOString() });

export function parseDispatchMessage(body: string): DispatchMessage {
  const m = JSON.parse(body) as Partial<DispatchMessage> | null;
  if (m === null || typeof m !== 'object' || m.v !== 1) throw new Error('Not a dispatch message (v1)');
  if (typeof m.email_id !== 'string' || m.email_id === '') throw new Error('Dispatch message without email_id');
  if (typeof m.scheduled_at !== 'string' || Number.isNaN(Date.parse(m.scheduled_at))) throw new Error('Dispatch message without scheduled_at');
  return m as DispatchMessage;
}

/** The fields of a webhook's email, from what the email record holds. */
export interface ScheduledEmailFields {
  readonly id: string;
  readonly tenantId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  readonly createdAt: string;
  readonly tags: readonly { readonly name: string; readonly value: string }[];
}

/**
 * An event the API itself originates (not SES): `email.scheduled` when an email is scheduled,
 * `email.failed` when its due-time send is refused. The event id is derived from the email and
 * the event type, so a repeated fan-out queues the same deliveries (the same `webhook-id`).
 */
export function apiEvent(email: ScheduledEmailFields, type: 'email.scheduled' | 'email.failed', timeMs: number, details: Record<string, unknown> = {}): AppliedEvent {
  return {
    eventId: derivedId('api-event', email.id, type),
    tenantId: email.tenantId,
    emailId: email.id,
    type,
    timestamp: new Date(timeMs).toISOString(),
    email: {
      email_id: email.id, from: email.from, to: [...email.to], subject: email.subject, created_at: email.createdAt,
      tags: Object.fromEntries(email.tags.map((t) => [t.name, t.value])),
    },
    details,
  };
}
