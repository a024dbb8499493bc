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

/**
 * A UUID-shaped id derived from its inputs whose first 48 bits are `timeMs` (RFC 9562 version 7
 * layout): ids of one collection sort by that time as strings, and a retry still reproduces the id.
 * A time outside 0..2^48 ms is clamped.
 */
export function timeOrderedDerivedId(timeMs: number, ...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  const ms = Number.isFinite(timeMs) ? Math.min(Math.max(0, Math.floor(timeMs)), 2 ** 48 - 1) : 0;
  h.writeUIntBE(ms, 0, 6);
  h[6] = (h[6]! & 0x0f) | 0x70;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Whether an id has the time-ordered layout (version 7), and so carries its time. */
export const isTimeOrderedId = (id: string): boolean => id.length === 36 && id[14] === '7';

/** The time (ms) a time-ordered id carries. */
export const timeOfId = (id: string): number => parseInt(id.slice(0, 8) + id.slice(9, 13), 16);

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
