/**
 * A received message's MIME, parsed with `mailparser` (a kept parser: no hand-written MIME) from a
 * stream, so a 40 MB message is never held twice. Whatever the bytes (truncated, a multipart without
 * its boundary, thousands of parts, binary garbage), this resolves: with what could be parsed, and
 * `error` saying what went wrong. It never rejects.
 *
 * Bounds: bodies cut at INLINE_BODY_BYTES (the raw message keeps them whole), at most
 * MAX_RECEIVED_ATTACHMENTS attachments kept (the others are read through and counted), headers cut
 * at MAX_HEADER_BYTES. mailparser itself stops at 1,000 MIME nodes (its splitter's guard against
 * part bombs): past that, what came before is kept and the error says so.
 */
import type { Readable } from 'node:stream';
import { MailParser, type AddressObject, type AttachmentStream, type HeaderLines, type MessageText } from 'mailparser';
import { INLINE_BODY_BYTES, MAX_HEADER_BYTES, MAX_RECEIVED_ATTACHMENTS, capUtf8 } from '../core/domain/inbound';

export interface ParsedAttachment {
  readonly filename: string | null;
  readonly contentType: string;
  readonly contentId: string | null;
  readonly disposition: 'inline' | 'attachment';
  readonly content: Buffer;
}

export interface ParsedMessage {
  readonly from: string;
  readonly to: string[];
  readonly cc: string[];
  readonly bcc: string[];
  readonly replyTo: string[];
  readonly subject: string;
  readonly messageId: string;
  readonly headers: Record<string, string>;
  readonly html?: string;
  readonly text?: string;
  /** A body was longer than INLINE_BODY_BYTES and is cut. */
  readonly bodyTruncated: boolean;
  readonly attachments: ParsedAttachment[];
  /** Attachments beyond MAX_RECEIVED_ATTACHMENTS, read through and not kept. */
  readonly attachmentsOmitted: number;
  /** Bytes read from the source. */
  readonly rawSize: number;
  /** Why parsing stopped early, when it did. */
  readonly error?: string;
}

export interface ParseLimits {
  readonly bodyBytes?: number;
  readonly attachments?: number;
  readonly headerBytes?: number;
}

const addressList = (value: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(value) ? value : value ? [value] : []).flatMap((o) => o.value.flatMap((a) => (a.group ?? [a]).map((m) => m.address ?? '').filter((x) => x !== '')));

/** The header lines as one object: names as written in the message's first occurrence, repeated headers joined by a line break. */
function headerObject(lines: HeaderLines, maxBytes: number): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  const names = new Map<string, string>();
  let bytes = 0;
  for (const { key, line } of lines) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : key;
    const value = (colon > 0 ? line.slice(colon + 1) : '').replace(/\r?\n[ \t]+/g, ' ').trim();
    bytes += name.length + value.length;
    if (bytes > maxBytes) break;
    const shown = names.get(key) ?? name;
    names.set(key, shown);
    out[shown] = out[shown] === undefined ? value : `${out[shown]}\n${value}`;
  }
  return out;
}

export function parseMessage(source: Readable, limits: ParseLimits = {}): Promise<ParsedMessage> {
  const bodyBytes = limits.bodyBytes ?? INLINE_BODY_BYTES;
  const maxAttachments = limits.attachments ?? MAX_RECEIVED_ATTACHMENTS;
  const parser = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
  const attachments: ParsedAttachment[] = [];
  let omitted = 0;
  let rawSize = 0;
  let headerLines: HeaderLines = [];
  let text: MessageText | undefined;
  let error: string | undefined;

  return new Promise((resolve) => {
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      source.unpipe(parser);
      source.resume();
      const html = typeof text?.html === 'string' ? capUtf8(text.html, bodyBytes) : undefined;
      const plain = typeof text?.text === 'string' ? capUtf8(text.text, bodyBytes) : undefined;
      resolve({
        from: parser.from?.text ?? '',
        to: addressList(parser.to),
        cc: addressList(parser.cc),
        bcc: addressList(parser.bcc),
        replyTo: addressList(parser.replyTo),
        subject: parser.subject ?? '',
        messageId: parser.messageId ?? '',
        headers: headerObject(headerLines, limits.headerBytes ?? MAX_HEADER_BYTES),
        ...(html ? { html: html.value } : {}),
        ...(plain ? { text: plain.value } : {}),
        bodyTruncated: Boolean(html?.truncated || plain?.truncated),
        // Copies: a part still ending after an error must not change what was answered.
        attachments: [...attachments],
        attachmentsOmitted: omitted,
        rawSize,
        ...(error !== undefined ? { error } : {}),
      });
    };
    const fail = (e: unknown) => {
      error ??= e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      finish();
    };

    parser.on('headerLines', (lines: HeaderLines) => (headerLines = lines));
    parser.on('data', (part: AttachmentStream | MessageText) => {
      if (part.type === 'text') {
        text = part;
        return;
      }
      const keep = attachments.length < maxAttachments;
      const chunks: Buffer[] = [];
      part.content.on('data', (chunk: Buffer) => {
        if (keep) chunks.push(chunk);
      });
      part.content.on('end', () => {
        if (settled) return;
        if (keep) {
          attachments.push({
            filename: part.filename ?? null,
            contentType: part.contentType || 'application/octet-stream',
            // Without its angle brackets, as the HTML's `cid:` references name it.
            contentId: part.contentId?.replace(/^<|>$/g, '') || null,
            disposition: part.contentDisposition === 'inline' ? 'inline' : 'attachment',
            content: Buffer.concat(chunks),
          });
        } else omitted += 1;
        part.release?.();
      });
      part.content.on('error', fail);
    });
    parser.on('error', fail);
    parser.on('end', finish);
    source.on('data', (chunk: Buffer) => (rawSize += chunk.length));
    source.on('error', fail);
    source.pipe(parser);
  });
}
