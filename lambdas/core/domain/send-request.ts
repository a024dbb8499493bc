/**
 * The send request: Resend's wire format parsed by a schema into a normalised draft (email.ts).
 * Pure code: no AWS imports. Every refusal is an HttpError in Resend's format.
 */
import * as z from './schema';
import { readInstant } from './schedule';
import { HttpError } from '../errors';
import { type Attachment, type EmailDraft, type Mailbox, MAX_ATTACHMENTS, MAX_RECIPIENTS, MAX_TAGS, RESERVED_TAG_PREFIX, parseMailbox } from './email';

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
