/**
 * The send request: Resend's wire format parsed by a schema into a normalised draft.
 * Pure code: no AWS imports. Every refusal is an HttpError in Resend's format.
 */
import * as z from './schema';
import { readInstant } from './schedule';
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

const oneOrMany = z.union([z.string(), z.array(z.string())]);
const headerLine = (max: number) => z.string().check(z.maxLength(max), z.singleLine());
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
/**
 * `headers` as [name, value] pairs: a record schema drops a `__proto__` name without a word, and
 * these names are the customer's.
 */
const headersSchema = z.pipe(
  z.pipe(z.custom<Record<string, unknown>>(isObject, 'Invalid input: expected an object of header names to values'), z.transform((o: Record<string, unknown>) => Object.entries(o))),
  z.array(z.tuple([headerLine(128), headerLine(998)])),
);
const tagPart = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,256}$/));

const sendSchema = z.object({
  from: z.string(),
  to: oneOrMany,
  subject: headerLine(998),
  cc: z.optional(oneOrMany),
  bcc: z.optional(oneOrMany),
  reply_to: z.optional(oneOrMany),
  replyTo: z.optional(oneOrMany),
  html: z.optional(z.string()),
  text: z.optional(z.string()),
  headers: z.optional(headersSchema),
  tags: z.optional(z.array(z.object({ name: tagPart, value: tagPart })).check(z.maxLength(MAX_TAGS))),
  attachments: z.optional(
    z
      .array(
        z.object({
          content: z.optional(z.string()),
          filename: z.optional(z.string().check(z.minLength(1), z.maxLength(255), z.singleLine())),
          path: z.optional(z.string()),
          content_type: z.optional(z.string().check(z.maxLength(255))),
          contentType: z.optional(z.string().check(z.maxLength(255))),
          content_id: z.optional(headerLine(255)),
          inline_content_id: z.optional(headerLine(255)),
        }),
      )
      .check(z.maxLength(MAX_ATTACHMENTS)),
  ),
  scheduled_at: z.optional(z.string()),
  scheduledAt: z.optional(z.string()),
  template: z.optional(z.unknown()),
  topic_id: z.optional(z.unknown()),
});

export type SendRequest = z.infer<typeof sendSchema>;

const field = (path: readonly PropertyKey[]) => path.map(String).join('.');

function schemaError(error: z.core.$ZodError, input: Record<string, unknown>, prefix: string): HttpError {
  const issue = error.issues[0]!;
  // A header's issue is at headers.<index>.<0: name, 1: value>: named by the header instead.
  const [first, index, part] = issue.path;
  const name = first === 'headers' && typeof index === 'number' && isObject(input.headers)
    ? `headers.${Object.keys(input.headers)[index]!.slice(0, 64)}${part === 0 ? ' (name)' : ''}`
    : field(issue.path);
  if (issue.path.length === 1 && input[String(issue.path[0])] === undefined) {
    return new HttpError(422, 'missing_required_field', `${prefix}Missing \`${name}\` field.`);
  }
  if (name.startsWith('tags')) {
    return new HttpError(422, 'validation_error', `${prefix}Invalid \`${name}\`: tag names and values may only contain ASCII letters, numbers, underscores and dashes, up to 256 characters, and at most ${MAX_TAGS} tags.`);
  }
  return new HttpError(422, 'validation_error', `${prefix}Invalid \`${name || 'body'}\` field: ${issue.message}`);
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function mailboxes(values: string[], name: string, prefix: string): Mailbox[] {
  return values.map((raw) => {
    const m = parseMailbox(raw);
    if (!m) {
      throw new HttpError(422, 'validation_error', `${prefix}Invalid \`${name}\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`);
    }
    return m;
  });
}

// Headers that SES builds itself or that would change who receives the email.
const RESERVED_HEADERS = new Set([
  'from', 'to', 'cc', 'bcc', 'subject', 'reply-to', 'sender', 'return-path', 'message-id', 'date',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition', 'dkim-signature',
  'x-ses-configuration-set', 'x-ses-message-tags', 'x-ses-source-arn', 'x-ses-from-arn', 'x-ses-return-path-arn',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

const MIME_TYPES: Record<string, string> = {
  pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif',
  webp: 'image/webp', svg: 'image/svg+xml', txt: 'text/plain', csv: 'text/csv', html: 'text/html',
  htm: 'text/html', ics: 'text/calendar', json: 'application/json', zip: 'application/zip',
  xml: 'application/xml', doc: 'application/msword', xls: 'application/vnd.ms-excel',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

export function contentTypeFor(filename: string): string {
  const ext = filename.includes('.') ? filename.slice(filename.lastIndexOf('.') + 1).toLowerCase() : '';
  return MIME_TYPES[ext] ?? 'application/octet-stream';
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface ParseOptions {
  /** Prefix for messages, e.g. `emails[3]: ` in a batch. */
  readonly prefix?: string;
  readonly batch?: boolean;
}

/** Validates one email of Resend's send request. Throws HttpError (4xx) on the first problem. */
export function parseSendRequest(input: unknown, options: ParseOptions = {}): EmailDraft {
  const prefix = options.prefix ?? '';
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new HttpError(422, 'validation_error', `${prefix}The email must be a JSON object.`);
  }
  const parsed = sendSchema.safeParse(input);
  if (!parsed.success) throw schemaError(parsed.error, input as Record<string, unknown>, prefix);
  const req = parsed.data;

  if (req.topic_id !== undefined) throw new HttpError(422, 'validation_error', `${prefix}\`topic_id\` is not supported by this server.`);
  const scheduledAt = req.scheduled_at ?? req.scheduledAt;
  if (scheduledAt !== undefined && readInstant(scheduledAt, Date.now()) === undefined) {
    throw new HttpError(422, 'invalid_parameter', `${prefix}Invalid \`scheduled_at\` field. Use an ISO 8601 date or a time such as \`in 1 min\` or \`tomorrow at 9am\`.`);
  }

  const from = parseMailbox(req.from);
  if (!from) throw new HttpError(422, 'validation_error', `${prefix}Invalid \`from\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`);
  const to = mailboxes(list(req.to), 'to', prefix);
  if (to.length === 0) throw new HttpError(422, 'missing_required_field', `${prefix}Missing \`to\` field.`);
  const cc = mailboxes(list(req.cc), 'cc', prefix);
  const bcc = mailboxes(list(req.bcc), 'bcc', prefix);
  const replyTo = mailboxes(list(req.reply_to ?? req.replyTo), 'reply_to', prefix);
  if (to.length + cc.length + bcc.length > MAX_RECIPIENTS) {
    throw new HttpError(422, 'validation_error', `${prefix}Too many recipients: at most ${MAX_RECIPIENTS} across \`to\`, \`cc\` and \`bcc\`.`);
  }
  if (replyTo.length > MAX_RECIPIENTS) throw new HttpError(422, 'validation_error', `${prefix}Too many \`reply_to\` addresses: at most ${MAX_RECIPIENTS}.`);
  if (req.html === undefined && req.text === undefined) {
    throw new HttpError(422, 'validation_error', `${prefix}Missing \`html\` or \`text\` field.`);
  }

  // Names are the customer's: a map without a prototype, so `__proto__` is a name like any other.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of req.headers ?? []) {
    if (!HEADER_NAME.test(name)) throw new HttpError(422, 'validation_error', `${prefix}Invalid header name \`${name.slice(0, 64)}\`.`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new HttpError(422, 'validation_error', `${prefix}The \`${name}\` header cannot be set: use the request's own fields.`);
    headers[name] = value;
  }

  const tags = req.tags ?? [];
  for (const tag of tags) {
    if (tag.name.toLowerCase().startsWith(RESERVED_TAG_PREFIX)) {
      throw new HttpError(422, 'validation_error', `${prefix}The tag name \`${tag.name}\` is reserved: names starting with \`${RESERVED_TAG_PREFIX}\` are used by Sesame.`);
    }
  }
  if (new Set(tags.map((t) => t.name)).size !== tags.length) throw new HttpError(422, 'validation_error', `${prefix}Tag names must be unique.`);

  // As in Resend, a batch email sent at once carries no attachments; a scheduled one may (its
  // content waits in the content bucket, as a single email's does).
  if (options.batch && req.attachments !== undefined && scheduledAt === undefined) {
    throw new HttpError(422, 'validation_error', `${prefix}\`attachments\` are only supported in batch emails with \`scheduled_at\`.`);
  }
  const attachments = (req.attachments ?? []).map((a, i): Attachment => {
    if (a.path !== undefined) throw new HttpError(422, 'invalid_attachment', `${prefix}attachments[${i}]: \`path\` is not supported; send the file as base64 \`content\`.`);
    if (a.content === undefined) throw new HttpError(422, 'invalid_attachment', `${prefix}attachments[${i}]: \`content\` is required.`);
    if (a.filename === undefined) throw new HttpError(422, 'invalid_attachment', `${prefix}attachments[${i}]: \`filename\` is required.`);
    const b64 = a.content.replace(/\s+/g, '');
    if (b64.length % 4 === 1 || !BASE64.test(b64)) throw new HttpError(422, 'invalid_attachment', `${prefix}attachments[${i}]: \`content\` must be base64.`);
    if (/["\\/]/.test(a.filename)) throw new HttpError(422, 'invalid_attachment', `${prefix}attachments[${i}]: invalid \`filename\`.`);
    const contentType = a.content_type ?? a.contentType ?? contentTypeFor(a.filename);
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(contentType)) throw new HttpError(422, 'invalid_attachment', `${prefix}attachments[${i}]: invalid \`content_type\`.`);
    const contentId = a.content_id ?? a.inline_content_id;
    return { filename: a.filename, content: Buffer.from(b64, 'base64'), contentType, ...(contentId ? { contentId } : {}) };
  });

  return {
    from, to, cc, bcc, replyTo,
    subject: req.subject,
    ...(req.html !== undefined ? { html: req.html } : {}),
    ...(req.text !== undefined ? { text: req.text } : {}),
    headers,
    tags,
    attachments,
    ...(scheduledAt !== undefined ? { scheduledAt } : {}),
  };
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
