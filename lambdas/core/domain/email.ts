/**
 * An email's parts: addresses and mailboxes, tags, limits, the draft a send request becomes, JSON
 * bodies, and Resend's test addresses. Pure code: no AWS imports. Every refusal is an HttpError in
 * Resend's format. The send request's schema is in send-request.ts: every function reads mailboxes
 * and tags, only send parses a send request (and builds that schema at start-up).
 */
import { HttpError } from '../errors';
import { isId } from './ids';

export const MAX_RECIPIENTS = 50;
export const MAX_BATCH = 100;
export const MAX_TAGS = 48;
export const MAX_ATTACHMENTS = 100;
/** Names of the SES message tags that carry Sesame's correlation; customers cannot use the prefix. */
export const RESERVED_TAG_PREFIX = 'sesame_';
export const TAG_EMAIL_ID = 'sesame_email_id';
export const TAG_TENANT_ID = 'sesame_tenant_id';

export interface Mailbox {
  /** As given, for display: `Name <a@b.c>` or `a@b.c`. */
  readonly raw: string;
  readonly name?: string;
  readonly address: string;
  /** Lower-cased domain part of the address. */
  readonly domain: string;
}

export interface Attachment {
  readonly filename: string;
  readonly content: Buffer;
  readonly contentType: string;
  readonly contentId?: string;
}

/** How a mail client shows an attachment: inline (referenced by its content id) or as a file. */
export type AttachmentDisposition = 'inline' | 'attachment';

export const attachmentDisposition = (a: Pick<Attachment, 'contentId'>): AttachmentDisposition => (a.contentId ? 'inline' : 'attachment');

/** What is kept about a sent attachment beside its bytes (which go to the content bucket). */
export interface AttachmentMeta {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string;
  readonly contentId?: string;
  readonly disposition: AttachmentDisposition;
  /** Bytes, decoded. */
  readonly size: number;
}

export interface EmailDraft {
  readonly from: Mailbox;
  readonly to: readonly Mailbox[];
  readonly cc: readonly Mailbox[];
  readonly bcc: readonly Mailbox[];
  readonly replyTo: readonly Mailbox[];
  readonly subject: string;
  readonly html?: string;
  readonly text?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly tags: readonly { readonly name: string; readonly value: string }[];
  readonly attachments: readonly Attachment[];
  /** The template and version the content was rendered from (lambdas/send/templates.ts). */
  readonly template?: { readonly id: string; readonly versionId: string };
  /** `scheduled_at` as given; read against the request's time by domain/schedule.ts. */
  readonly scheduledAt?: string;
}

// A pragmatic address check: what SES and mail servers accept in practice (dot-atom local part,
// a hostname with a TLD), not the whole of RFC 5322.
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
const TLD = /^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;

export function isValidDomain(domain: string): boolean {
  if (domain.length > 253) return false;
  const labels = domain.split('.');
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && TLD.test(labels[labels.length - 1]!);
}

export function isValidAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.length > 320) return false;
  const local = address.slice(0, at);
  return local.length <= 64 && LOCAL.test(local) && isValidDomain(address.slice(at + 1));
}

/** Parses `a@b.c` or `Display Name <a@b.c>` (the name may be quoted). */
export function parseMailbox(raw: string): Mailbox | undefined {
  const trimmed = raw.trim();
  const angle = /^(.*?)\s*<([^<>\s]+)>$/.exec(trimmed);
  let name: string | undefined;
  let address: string;
  if (angle) {
    name = angle[1]!.trim().replace(/^"(.*)"$/, '$1').trim() || undefined;
    address = angle[2]!;
    if (name !== undefined && /[\r\n\0<>]/.test(name)) return undefined;
  } else {
    address = trimmed;
  }
  if (!isValidAddress(address)) return undefined;
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1).toLowerCase();
  return { raw: name ? `${name} <${address}>` : address, name, address, domain };
}

/** Formats a mailbox for SES: display names with specials are quoted, non-ASCII is MIME-encoded. */
export function formatMailbox(m: Mailbox): string {
  if (!m.name) return m.address;
  // eslint-disable-next-line no-control-regex
  if (/[^\x20-\x7e]/.test(m.name)) return `=?UTF-8?B?${Buffer.from(m.name, 'utf8').toString('base64')}?= <${m.address}>`;
  const name = /[()<>@,;:\\".[\]]/.test(m.name) ? `"${m.name.replace(/(["\\])/g, '\\$1')}"` : m.name;
  return `${name} <${m.address}>`;
}

/** Request bodies nest at most this deep (a send with attachments is 3 levels; a batch, 4). */
export const MAX_JSON_DEPTH = 32;
/** ... and hold at most this many values (a full batch of 100 emails holds about 25,000). */
export const MAX_JSON_VALUES = 100_000;

/** Why a parsed body is too deep or too large, walked without recursion; undefined if it is not. */
function jsonShapeRefusal(root: unknown): string | undefined {
  const stack: [unknown, number][] = [[root, 1]];
  let values = 0;
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (++values > MAX_JSON_VALUES) return `The request body holds more than ${MAX_JSON_VALUES} values.`;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_JSON_DEPTH) return `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`;
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return undefined;
}

/** Parses a JSON body, or answers 400 (not JSON) or 422 (too deep, too many values) in Resend's format. */
export function parseJsonBody(body: string): unknown {
  if (body.trim() === '') throw new HttpError(422, 'missing_required_field', 'The request body is missing.');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'validation_error', 'The request body is not valid JSON.');
  }
  const refusal = jsonShapeRefusal(value);
  if (refusal !== undefined) throw new HttpError(422, 'validation_error', refusal);
  return value;
}

/**
 * Resend's test addresses and their SES mailbox simulator equivalents, in every mode, so that a
 * deployed stack never mails resend.dev. A `+label` is kept.
 */
const TEST_ADDRESSES: Record<string, string> = {
  delivered: 'success',
  bounced: 'bounce',
  complained: 'complaint',
  suppressed: 'suppressionlist',
};
export const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

export function toSesAddress(address: string): string {
  const m = /^([a-z]+)(\+[^@]*)?@resend\.dev$/i.exec(address);
  const target = m ? TEST_ADDRESSES[m[1]!.toLowerCase()] : undefined;
  return target ? `${target}${m![2] ?? ''}@${SIMULATOR_DOMAIN}` : address;
}

export function toSesMailbox(m: Mailbox): string {
  const ses = toSesAddress(m.address);
  return ses === m.address ? formatMailbox(m) : ses;
}

const FROM_SIMULATOR: Record<string, string> = Object.fromEntries(Object.entries(TEST_ADDRESSES).map(([k, v]) => [v, k]));

/** The inverse of toSesAddress: a mailbox simulator address as the Resend test address it stands for. */
export function fromSesAddress(address: string): string {
  const m = /^([a-z]+)(\+[^@]*)?@simulator\.amazonses\.com$/i.exec(address);
  const source = m ? FROM_SIMULATOR[m[1]!.toLowerCase()] : undefined;
  return source ? `${source}${m![2] ?? ''}@resend.dev` : address;
}

/**
 * What Sesame's email-id tag carries: `<email id>`, or `<email id>_<created ms>` when the SES
 * event's `mail` object is enough to rebuild the webhook's email fields (from, to, subject; the
 * customer's tags are tags too), with `_r` when Resend test addresses were sent to the simulator.
 */
export interface EmailTag {
  readonly emailId: string;
  readonly createdMs?: number;
  readonly testAddresses?: boolean;
}

export function formatEmailTag(tag: EmailTag): string {
  if (tag.createdMs === undefined) return tag.emailId;
  return `${tag.emailId}_${tag.createdMs}${tag.testAddresses ? '_r' : ''}`;
}

export function parseEmailTag(value: string): EmailTag | undefined {
  const m = /^([0-9a-f-]{36})(?:_(\d{1,15})(_r)?)?$/.exec(value);
  if (!m || !isId(m[1]!)) return undefined;
  return { emailId: m[1]!, ...(m[2] !== undefined ? { createdMs: Number(m[2]), testAddresses: m[3] !== undefined } : {}) };
}

const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * A mailbox of SES's `mail.commonHeaders` as the customer wrote it (parseMailbox's form), the test
 * address put back when the send rewrote test addresses.
 */
export function rebuildMailbox(header: string, testAddresses: boolean): string {
  const parsed = parseMailbox(header);
  if (!parsed) return header.trim();
  const address = testAddresses ? fromSesAddress(parsed.address) : parsed.address;
  return parsed.name ? `${parsed.name} <${address}>` : address;
}

/**
 * Whether SES's `mail.commonHeaders` give back exactly what the customer sent (from, to, subject as
 * stored), and whether test addresses were rewritten; undefined when they would not (a non-ASCII
 * display name or subject, which SES sees encoded, a test address whose rewrite cannot be undone):
 * the email's events then read the email item instead.
 */
export function headerRebuild(draft: Pick<EmailDraft, 'from' | 'to' | 'cc' | 'bcc' | 'subject'>): { readonly testAddresses: boolean } | undefined {
  if (!PRINTABLE.test(draft.subject)) return undefined;
  const all = [...draft.to, ...draft.cc, ...draft.bcc];
  const rewritten = all.filter((m) => toSesAddress(m.address) !== m.address);
  const testAddresses = rewritten.length > 0;
  if (rewritten.some((m) => fromSesAddress(toSesAddress(m.address)) !== m.address)) return undefined;
  // A literal simulator address next to rewritten ones would be read back as a test address.
  if (testAddresses && all.some((m) => fromSesAddress(m.address) !== m.address)) return undefined;
  if (rebuildMailbox(formatMailbox(draft.from), false) !== draft.from.raw) return undefined;
  if (draft.to.some((m) => rebuildMailbox(toSesMailbox(m), testAddresses) !== m.raw)) return undefined;
  return { testAddresses };
}
