/**
 * Received email (SES receiving): the receipt event SES hands the inbound function, what Sesame keeps
 * of a received message, and the `email.received` webhook body in Resend's shape. Pure code.
 *
 * SES's Lambda action invokes the function with `{"Records":[{"eventSource":"aws:ses","ses":{"mail",
 * "receipt"}}]}`: the message's envelope and headers, and the receipt (recipients this rule matched,
 * the spam, virus, SPF, DKIM and DMARC verdicts). The body is not in the event: the rule's S3 action
 * stored the raw message first, under `inbound/<messageId>`.
 */
import * as z from './schema';
import { derivedId } from './ids';

/** The name of the one receipt rule in Sesame's rule set (lib/inbound-receiving.ts; doctor reads it). */
export const RECEIPT_RULE_NAME = 'sesame-catch-all';

/** The verdicts SES gives a received message. `DISABLED`: scanning was off for the rule. */
export const VERDICT_STATUSES = ['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'] as const;
export type VerdictStatus = (typeof VERDICT_STATUSES)[number];

const verdict = z.optional(z.object({ status: z.string() }));

const recordSchema = z.object({
  eventSource: z.optional(z.string()),
  ses: z.object({
    mail: z.object({
      timestamp: z.string(),
      source: z.string(),
      messageId: z.string(),
      destination: z.optional(z.array(z.string())),
      commonHeaders: z.optional(z.object({ messageId: z.optional(z.string()), subject: z.optional(z.string()) })),
    }),
    receipt: z.object({
      timestamp: z.string(),
      recipients: z.array(z.string()),
      spamVerdict: verdict,
      virusVerdict: verdict,
      spfVerdict: verdict,
      dkimVerdict: verdict,
      dmarcVerdict: verdict,
      dmarcPolicy: z.optional(z.string()),
    }),
  }),
});

const eventSchema = z.object({ Records: z.array(recordSchema) });

export interface Verdicts {
  readonly spam: VerdictStatus;
  readonly virus: VerdictStatus;
  readonly spf: VerdictStatus;
  readonly dkim: VerdictStatus;
  readonly dmarc: VerdictStatus;
  /** The sender domain's DMARC policy, when SES reports one (`none`, `quarantine`, `reject`). */
  readonly dmarcPolicy?: string;
}

/** One received message as the receipt rule reports it. */
export interface ReceiptNotice {
  /** SES's message id: the raw message's object key is `inbound/<sesMessageId>`. */
  readonly sesMessageId: string;
  /** When SES received it (ISO 8601): the received email's `created_at`. */
  readonly timestamp: string;
  /** The envelope sender (MAIL FROM). */
  readonly source: string;
  /** The envelope recipients this rule matched (RCPT TO), as SES gives them. */
  readonly recipients: readonly string[];
  readonly verdicts: Verdicts;
}

const statusOf = (v: { status: string } | undefined): VerdictStatus => {
  const s = v?.status?.toUpperCase();
  return (VERDICT_STATUSES as readonly string[]).includes(s ?? '') ? (s as VerdictStatus) : 'PROCESSING_FAILED';
};

/** The notices of a receipt event; throws on anything that is not one (the event goes to the DLQ). */
export function parseReceiptEvent(event: unknown): ReceiptNotice[] {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) throw new Error(`Not an SES receipt event: ${parsed.error.issues[0]?.message ?? 'invalid'} at ${parsed.error.issues[0]?.path.join('.') ?? ''}`);
  return parsed.data.Records.map(({ ses: { mail, receipt } }) => ({
    sesMessageId: mail.messageId,
    timestamp: receipt.timestamp || mail.timestamp,
    source: mail.source,
    recipients: receipt.recipients,
    verdicts: {
      spam: statusOf(receipt.spamVerdict),
      virus: statusOf(receipt.virusVerdict),
      spf: statusOf(receipt.spfVerdict),
      dkim: statusOf(receipt.dkimVerdict),
      dmarc: statusOf(receipt.dmarcVerdict),
      ...(receipt.dmarcPolicy !== undefined ? { dmarcPolicy: receipt.dmarcPolicy } : {}),
    },
  }));
}

/** The domain of an address, lower-cased; undefined when it has none. */
export function domainOfAddress(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at < 1 || at === address.length - 1) return undefined;
  return address.slice(at + 1).toLowerCase().replace(/\.$/, '');
}

/** Recipients grouped by their domain (lower-cased), in the order first seen; addresses without one are left out. */
export function recipientsByDomain(recipients: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of recipients) {
    const domain = domainOfAddress(r);
    if (domain === undefined) continue;
    const list = out.get(domain) ?? [];
    if (!list.some((x) => x.toLowerCase() === r.toLowerCase())) list.push(r);
    out.set(domain, list);
  }
  return out;
}

/**
 * The id of a received email: derived from the tenant and SES's message id, so a redelivered
 * receipt event (Lambda retries, a replay from the DLQ) lands on the same email, and a message
 * to two tenants' domains is one email for each.
 */
export const receivedEmailId = (tenantId: string, sesMessageId: string): string => derivedId('received-email', tenantId, sesMessageId);

/** An attachment of a received email, by its position in the message: the same on every redelivery. */
export const receivedAttachmentId = (emailId: string, index: number): string => derivedId('received-attachment', emailId, String(index));

/** The `email.received` event of a received email: one per email, whatever the redeliveries. */
export const receivedEventId = (emailId: string): string => derivedId('email.received', emailId);

/**
 * The most of `html` and of `text` kept and answered inline by GET /emails/receiving/{id} (UTF-8
 * bytes each). A message reaches 40 MB and a Lambda answer at most 6 MB: beyond this a body is
 * cut (the answer says so), and the raw message (`raw.download_url`) always has all of it.
 */
export const INLINE_BODY_BYTES = 1_048_576;

/** Attachments kept (stored and listed) per received email; the raw message keeps every part. */
export const MAX_RECEIVED_ATTACHMENTS = 500;

/** Header lines kept for GET /emails/receiving/{id} (bytes of names and values together). */
export const MAX_HEADER_BYTES = 32_768;

/** `text` cut to at most `maxBytes` UTF-8 bytes, on a character boundary. */
export function capUtf8(text: string, maxBytes: number): { readonly value: string; readonly truncated: boolean } {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return { value: text, truncated: false };
  const cut = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  // A character split by the cut decodes as U+FFFD at the end: drop it.
  return { value: cut.replace(/\uFFFD+$/, ''), truncated: true };
}

/** What Sesame keeps of one attachment of a received email (the bytes are in the content bucket). */
export interface ReceivedAttachment {
  readonly id: string;
  readonly filename: string | null;
  readonly contentType: string;
  readonly contentId: string | null;
  readonly disposition: 'inline' | 'attachment';
  /** Bytes, decoded. */
  readonly size: number;
}

/** A received email, as stored and answered. */
export interface ReceivedEmail {
  readonly id: string;
  readonly tenantId: string;
  readonly sesMessageId: string;
  /** When SES received it. */
  readonly createdAt: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly replyTo: readonly string[];
  /** The envelope recipients of this tenant's domains the message was delivered for. */
  readonly receivedFor: readonly string[];
  readonly subject: string;
  /** The message's Message-ID header (empty when it has none). */
  readonly messageId: string;
  readonly verdicts: Verdicts;
  readonly attachments: readonly ReceivedAttachment[];
  /** Parts beyond MAX_RECEIVED_ATTACHMENTS, kept only in the raw message. */
  readonly attachmentsOmitted: number;
  /** Size of the raw message in bytes. */
  readonly rawSize: number;
  /** What could not be parsed, when the MIME was broken (the raw message is kept as it came). */
  readonly parseError?: string;
}

/** The `email.received` webhook body, in Resend's shape. */
export function receivedPayload(email: ReceivedEmail): string {
  return JSON.stringify({
    type: 'email.received',
    created_at: email.createdAt,
    data: {
      email_id: email.id,
      created_at: email.createdAt,
      from: email.from,
      to: [...email.to],
      bcc: [...email.bcc],
      cc: [...email.cc],
      received_for: [...email.receivedFor],
      message_id: email.messageId,
      subject: email.subject,
      attachments: email.attachments.map((a) => ({
        id: a.id, filename: a.filename, content_type: a.contentType, content_disposition: a.disposition, content_id: a.contentId,
      })),
    },
  });
}
