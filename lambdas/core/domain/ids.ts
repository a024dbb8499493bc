/**
 * Identifiers. Email ids are UUIDs, as Resend's are; they also fit SES tag values ([A-Za-z0-9_-]),
 * which is how events find their email.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export const sha256Hex = (value: string | Buffer): string => createHash('sha256').update(value).digest('hex');

export const newId = (): string => randomUUID();

/** A UUID-shaped id derived from its inputs (RFC 9562 version 8), for ids that a retry must reproduce. */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const isId = (value: string): boolean => UUID.test(value);

/** `re_` plus 32 random base62 characters: the shape Resend's tools expect, 190 bits of entropy. */
export function newApiKey(): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let out = '';
  while (out.length < 32) {
    for (const byte of randomBytes(48)) {
      if (byte < 248 && out.length < 32) out += alphabet[byte % 62];
    }
  }
  return `re_${out}`;
}

export const hashApiKey = (key: string): string => sha256Hex(key);
