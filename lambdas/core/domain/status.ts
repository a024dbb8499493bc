/**
 * The email status model (README "Email status and SES events"): Resend's values and their ranks, and the
 * fixed-width keys that let DynamoDB compare them in a condition (a conditional max).
 */

export const RANKS = {
  queued: 0,
  scheduled: 5,
  sent: 10,
  delivery_delayed: 20,
  delivered: 30,
  opened: 40,
  clicked: 50,
  failed: 60,
  bounced: 70,
  suppressed: 80,
  complained: 90,
  canceled: 95,
} as const;

export type EmailStatus = keyof typeof RANKS;

export const isEmailStatus = (value: unknown): value is EmailStatus => typeof value === 'string' && value in RANKS;

/** ISO 8601 with milliseconds, always 24 characters for years 0000-9999, so strings sort as times. */
export function fixedTime(time: string | number | Date): string {
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) throw new Error(`Not a time: ${String(time)}`);
  return d.toISOString();
}

const rank2 = (status: EmailStatus) => String(RANKS[status]).padStart(2, '0');

/** Orders an email's events for `last_event`: greatest (timestamp, rank, event id) wins. */
export const emailKey = (time: string, status: EmailStatus, eventId: string): string =>
  `${fixedTime(time)}#${rank2(status)}#${eventId}`;

/** Orders one recipient's events: greatest (rank, timestamp, event id) wins. */
export const recipientKey = (time: string, status: EmailStatus, eventId: string): string =>
  `${rank2(status)}#${fixedTime(time)}#${eventId}`;
