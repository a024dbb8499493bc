/**
 * The content bucket's layout: one definition, read by the CDK construct (its lifecycle rules),
 * local mode and the adapters (lambdas/core/adapters/content.ts), so that the keys the code writes
 * and the prefixes the lifecycle expires cannot drift apart.
 *
 * Keys start with the stage of the email they belong to, then the tenant and the email:
 *
 *   emails/<tenant>/<email>/attachments/<attachment>      a sent email's attachment (expires)
 *   scheduled/<tenant>/<email>/...                        content of an email waiting for its
 *                                                         schedule (kept until it is sent)
 *   inbound/<SES message id>                              a received message, raw, as SES's receipt
 *                                                         rule (or local mode's SMTP listener) wrote
 *                                                         it, before any tenant is known (expires)
 *   received/<tenant>/<email>/attachments/<attachment>    a received email's attachment (expires)
 *
 * Only `emails/` has an expiration rule (the retention), so whatever waits under `scheduled/` is
 * kept however long the wait; once sent, an email's content lives under `emails/` and expires with
 * the email. A tenant's or an email's objects share a prefix, so they can be listed or removed
 * together.
 */

/** The key prefixes, by the stage of the email whose content they hold. */
export const CONTENT_PREFIXES = {
  /** Content of emails that were sent: expires after the retention. */
  sent: 'emails/',
  /** Content of emails waiting for their schedule: no expiration rule. */
  scheduled: 'scheduled/',
  /** Content of received emails (their attachments): expires after the retention. */
  received: 'received/',
  /** Raw received messages, written by SES's receipt rule: expires after the retention. */
  inbound: 'inbound/',
} as const;

export type ContentStage = keyof typeof CONTENT_PREFIXES;

/** The prefixes the bucket's expiration rule covers (the rest is kept until the code moves it). */
export const EXPIRING_PREFIXES: readonly string[] = [CONTENT_PREFIXES.sent, CONTENT_PREFIXES.received, CONTENT_PREFIXES.inbound];

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
