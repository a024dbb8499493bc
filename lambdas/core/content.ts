/**
 * The content bucket's layout: one definition, read by the CDK construct (its lifecycle rules),
 * local mode and the adapters (lambdas/core/adapters/content.ts), so that the keys the code writes
 * and the prefixes the lifecycle expires cannot drift apart.
 *
 * Keys start with how the email they belong to was sent, then the tenant and the email:
 *
 *   emails/<tenant>/<email>/attachments/<attachment>      an email sent at once
 *   scheduled/<tenant>/<email>/attachments/<attachment>   an email accepted with a schedule
 *   inbound/<SES message id>                              a received message, raw, as SES's receipt
 *                                                         rule (or local mode's SMTP listener) wrote
 *                                                         it, before any tenant is known
 *   received/<tenant>/<email>/attachments/<attachment>    a received email's attachment
 *
 * Each prefix has its own expiration rule, counted by S3 from the object's write. Content of an
 * email sent at once expires after the retention, as the email. Content of a scheduled email is
 * written when the email is accepted and read back at its due time, which may be up to
 * MAX_SCHEDULE_AHEAD_DAYS later; the email is then kept for the retention from its due time. So
 * that prefix expires after the retention plus that wait plus a day of margin
 * (contentExpiryDays), and a scheduled email with attachments is never moved further than that
 * wait from its creation (latestDueWithContent). A tenant's or an email's objects share a prefix,
 * so they can be listed or removed together.
 */
import { MAX_SCHEDULE_AHEAD_DAYS, roundUpToMinute } from './domain/schedule';

/** The key prefixes, by how the email whose content they hold was sent. */
export const CONTENT_PREFIXES = {
  /** Content of emails sent at once: expires after the retention. */
  sent: 'emails/',
  /** Content of emails accepted with a schedule: kept through the wait, then the retention. */
  scheduled: 'scheduled/',
  /** Content of received emails (their attachments): expires after the retention. */
  received: 'received/',
  /** Raw received messages, written by SES's receipt rule: expires after the retention. */
  inbound: 'inbound/',
} as const;

export type ContentStage = keyof typeof CONTENT_PREFIXES;

/** The stages of an email Sesame sends: at once, or on its schedule. */
export type SendingStage = Extract<ContentStage, 'sent' | 'scheduled'>;

/** Where an email's content is kept: under `scheduled/` if it was accepted with a due time. */
export const contentStageOf = (email: { readonly scheduledAt?: string }): SendingStage => (email.scheduledAt !== undefined ? 'scheduled' : 'sent');

/** Days of margin on the scheduled prefix's expiry (S3 expires at the midnight UTC after the day count; clocks differ). */
const SCHEDULED_MARGIN_DAYS = 1;

/**
 * Days after its write S3 expires an object of each prefix (the bucket's lifecycle rules): the
 * retention, and for scheduled content the longest wait for the due time on top (plus a margin),
 * so that it outlives its email, whose retention counts from the due time.
 */
export function contentExpiryDays(stage: ContentStage, retentionDays: number): number {
  return stage === 'scheduled' ? retentionDays + MAX_SCHEDULE_AHEAD_DAYS + SCHEDULED_MARGIN_DAYS : retentionDays;
}

/**
 * The latest due time of a scheduled email with attachments created at `createdMs`: its content
 * was written then, and must outlive the email (its due time plus the retention). A reschedule
 * beyond it is refused.
 */
export const latestDueWithContent = (createdMs: number): number => roundUpToMinute(createdMs + MAX_SCHEDULE_AHEAD_DAYS * 86_400_000);

/** The key of one attachment of one email. */
export function attachmentKey(stage: Exclude<ContentStage, 'inbound'>, tenantId: string, emailId: string, attachmentId: string): string {
  return `${emailPrefix(stage, tenantId, emailId)}attachments/${attachmentId}`;
}

/**
 * The raw message SES stored for a received email: the receipt rule's S3 action writes it under
 * its object key prefix (`inbound/`) followed by SES's message id.
 */
export function rawMessageKey(sesMessageId: string): string {
  if (!isSesMessageId(sesMessageId)) throw new Error('invalid SES message id for a content key');
  return `${CONTENT_PREFIXES.inbound}${sesMessageId}`;
}

/** SES's message ids are letters, digits and dashes; nothing that could leave the prefix. */
export const isSesMessageId = (id: string): boolean => /^[A-Za-z0-9_-]{1,128}$/.test(id);

/** Everything of one email in one stage starts with this. */
export function emailPrefix(stage: Exclude<ContentStage, 'inbound'>, tenantId: string, emailId: string): string {
  for (const [name, part] of [['tenant', tenantId], ['email', emailId]] as const) {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(part)) throw new Error(`invalid ${name} id for a content key`);
  }
  return `${CONTENT_PREFIXES[stage]}${tenantId}/${emailId}/`;
}

/** How long a `download_url` is valid at most (seconds); the credentials' expiry may cut it shorter. */
export const DOWNLOAD_URL_SECONDS = 3_600;

/** The local bucket's name (local mode). */
export const LOCAL_CONTENT_BUCKET = 'sesame-content';

/**
 * The Content-Disposition a downloaded attachment is served with: always a download (never rendered
 * by the browser at the bucket's origin), under its own name: an ASCII fallback and the exact name
 * in RFC 8187's `filename*`.
 */
export function downloadDisposition(filename: string): string {
  // eslint-disable-next-line no-control-regex
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const exact = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}
