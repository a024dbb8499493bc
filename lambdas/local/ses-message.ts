/**
 * SendEmail as the local SES server sees it: the wire request (SES v2 REST-JSON, blobs in base64),
 * address parsing as strict as SES's, the headers of a raw MIME message, and the stored email.
 * Part of the local stand-in for SES (ses-server.ts); no business logic.
 */
import type { SendEmailRequest } from '@aws-sdk/client-sesv2';
import { z } from 'zod';

/** A blob member on the wire: base64 text, decoded to bytes. */
const base64Blob = z
  .string()
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64')
  .transform((text) => Buffer.from(text, 'base64'));

const content = z.object({ Data: z.string(), Charset: z.string().optional() });
const nameValue = z.object({ Name: z.string(), Value: z.string() });
const addressList = z.array(z.string()).optional();

const attachment = z.object({
  RawContent: base64Blob,
  FileName: z.string(),
  ContentDisposition: z.enum(['ATTACHMENT', 'INLINE']).optional(),
  ContentDescription: z.string().optional(),
  ContentId: z.string().optional(),
  ContentTransferEncoding: z.enum(['BASE64', 'QUOTED_PRINTABLE', 'SEVEN_BIT']).optional(),
  ContentType: z.string().optional(),
});

/** The SendEmail request body, member names as in the SES v2 model (SendEmailRequest). */
export const sendEmailWire = z.object({
  FromEmailAddress: z.string().optional(),
  FromEmailAddressIdentityArn: z.string().optional(),
  Destination: z
    .object({ ToAddresses: addressList, CcAddresses: addressList, BccAddresses: addressList })
    .optional(),
  ReplyToAddresses: addressList,
  FeedbackForwardingEmailAddress: z.string().optional(),
  FeedbackForwardingEmailAddressIdentityArn: z.string().optional(),
  Content: z.object({
    Simple: z
      .object({
        Subject: content,
        Body: z.object({ Text: content.optional(), Html: content.optional() }),
        Headers: z.array(nameValue).optional(),
        Attachments: z.array(attachment).optional(),
      })
      .optional(),
    Raw: z.object({ Data: base64Blob }).optional(),
    Template: z
      .object({
        TemplateName: z.string().optional(),
        TemplateArn: z.string().optional(),
        TemplateData: z.string().optional(),
      })
      .optional(),
  }),
  EmailTags: z.array(nameValue).optional(),
  ConfigurationSetName: z.string().optional(),
  EndpointId: z.string().optional(),
  TenantName: z.string().optional(),
  ListManagementOptions: z.object({ ContactListName: z.string(), TopicName: z.string().optional() }).optional(),
});

/** Parses a wire body into the SDK's own request type (blobs as bytes). */
export function parseSendEmail(body: unknown): SendEmailRequest {
  const parsed: SendEmailRequest = sendEmailWire.parse(body);
  return parsed;
}

/** The SDK request back to its wire form: every byte array as base64 text. */
export function sendEmailToWire(request: SendEmailRequest): unknown {
  return JSON.parse(
    JSON.stringify(request, function (this: Record<string, unknown>, key: string, value: unknown) {
      const original = this[key];
      return original instanceof Uint8Array ? Buffer.from(original).toString('base64') : value;
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Addresses

export interface ParsedAddress {
  /** The bare address, `local@domain`. */
  readonly address: string;
  /** The domain, lower-cased. */
  readonly domain: string;
  readonly displayName?: string;
}

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A DNS name SES accepts for an identity or an address: ASCII (IDNs in punycode), two labels or more. */
export function isDomainName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

export function isBareAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.length > 320) return false;
  const local = address.slice(0, at);
  return local.length <= 64 && LOCAL_PART.test(local) && isDomainName(address.slice(at + 1));
}

/**
 * `a@example.com`, `Name <a@example.com>` or `"Name, Inc." <a@example.com>`; undefined when SES
 * would refuse it (no final @domain, spaces, non-ASCII outside an encoded word, line breaks).
 */
export function parseAddress(input: string): ParsedAddress | undefined {
  const text = input.trim();
  if (/[\r\n\0]/.test(text)) return undefined;
  const angled = /^(.*?)\s*<([^<>]*)>$/s.exec(text);
  const address = angled ? angled[2]!.trim() : text;
  if (!isBareAddress(address)) return undefined;
  const rawName = angled ? angled[1]!.trim() : '';
  if (/[<>]/.test(rawName.replace(/"(?:[^"\\]|\\.)*"/g, ''))) return undefined;
  const displayName = rawName.replace(/^"(.*)"$/s, '$1') || undefined;
  return { address, domain: address.slice(address.lastIndexOf('@') + 1).toLowerCase(), displayName };
}

/** Splits a header's address list on commas outside quotes and angle brackets. */
export function splitAddressList(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let angled = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\' && quoted) {
      current += c + (value[++i] ?? '');
      continue;
    }
    if (c === '"') quoted = !quoted;
    else if (c === '<' && !quoted) angled = true;
    else if (c === '>' && !quoted) angled = false;
    if (c === ',' && !quoted && !angled) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

// ---------------------------------------------------------------------------------------------
// Raw MIME messages

/** The header section of a MIME message, unfolded; names lower-cased, repeated headers kept. */
export function mimeHeaders(message: Uint8Array): Map<string, string[]> {
  const text = Buffer.from(message).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const section = (end === -1 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string[]>();
  for (const line of section.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Stored emails

/** Who an email is from and to, and its subject, whether it was sent as Simple or Raw content. */
export interface Envelope {
  /** FromEmailAddress as given (or the raw message's From header), display name included. */
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly replyTo: readonly string[];
  readonly subject: string;
}

/** What onSend listeners receive: the seam where local mode generates SES events. */
export interface SendEvent {
  /** SES's MessageId, as SendEmail returned it. */
  readonly messageId: string;
  /** ISO 8601, when SES accepted the message. */
  readonly timestamp: string;
  /** The request as the SDK types it (blobs as bytes). */
  readonly request: SendEmailRequest;
  /** Sender, recipients and subject, read from the request or from a raw message's headers. */
  readonly envelope: Envelope;
  /** The recipients SES did not send to because a suppression list holds them (the send's tenant's, or the account's). */
  readonly suppressed?: readonly { readonly address: string; readonly list: 'tenant' | 'account' }[];
}

export type StoredEmail = SendEvent;

export function envelopeOf(request: SendEmailRequest): Envelope {
  const simple = request.Content?.Simple;
  const raw = request.Content?.Raw?.Data;
  const headers = raw ? mimeHeaders(raw) : new Map<string, string[]>();
  const header = (name: string) => headers.get(name) ?? [];
  const list = (name: string) => header(name).flatMap(splitAddressList);
  const destination = request.Destination;
  const fromRaw = raw !== undefined && destination === undefined;
  return {
    from: request.FromEmailAddress ?? header('from')[0] ?? '',
    to: fromRaw ? list('to') : [...(destination?.ToAddresses ?? [])],
    cc: fromRaw ? list('cc') : [...(destination?.CcAddresses ?? [])],
    bcc: fromRaw ? list('bcc') : [...(destination?.BccAddresses ?? [])],
    replyTo: request.ReplyToAddresses ? [...request.ReplyToAddresses] : list('reply-to'),
    subject: simple?.Subject?.Data ?? header('subject')[0] ?? '',
  };
}

/** A stored email as JSON (the mailbox files and GET /store): the request in its wire form. */
export function storedEmailToJson(email: StoredEmail): unknown {
  return {
    messageId: email.messageId, timestamp: email.timestamp, envelope: email.envelope, request: sendEmailToWire(email.request),
    ...(email.suppressed ? { suppressed: email.suppressed } : {}),
  };
}

const storedEmailJson = z.object({
  messageId: z.string(), timestamp: z.string(), request: z.unknown(),
  suppressed: z.array(z.object({ address: z.string(), list: z.enum(['tenant', 'account']) })).optional(),
});

export function storedEmailFromJson(json: unknown): StoredEmail {
  const { messageId, timestamp, request: wire, suppressed } = storedEmailJson.parse(json);
  const request = parseSendEmail(wire);
  return { messageId, timestamp, request, envelope: envelopeOf(request), ...(suppressed ? { suppressed } : {}) };
}
