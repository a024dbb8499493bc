/**
 * Standard Webhooks signing, sent under both header sets (`webhook-*` and `svix-*`) so that
 * Standard Webhooks, Svix and Resend verifiers all accept it. Pure code: no AWS imports.
 *
 * signature = base64(HMAC-SHA256(key, `${id}.${timestampSeconds}.${body}`)), where key is the
 * base64-decoded part of the endpoint's `whsec_` secret, as the libraries decode it. A header may
 * carry several space-separated `v1,<signature>` entries: during a rotation both the new and the
 * old secret sign, and a verifier accepts the message when any one matches.
 */
import { createHmac, randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** After a rotation the old secret keeps signing beside the new one for this long. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

export const USER_AGENT = 'Sesame-Webhooks/1.0';

export function newSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

export function isSigningSecret(value: string): boolean {
  return value.startsWith(SECRET_PREFIX) && Buffer.from(value.slice(SECRET_PREFIX.length), 'base64').length >= 24;
}

function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('A signing secret starts with whsec_');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** One `v1,<base64 signature>` entry. */
export function sign(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

export interface SigningInput {
  /** The delivery id: the same on every attempt and replay of one event to one endpoint. */
  readonly id: string;
  /** The time of this attempt, in seconds. */
  readonly timestampSeconds: number;
  readonly body: string;
  /** The current secret first, then a rotated-out one still within its overlap. */
  readonly secrets: readonly string[];
}

/** Every header a delivery attempt carries. */
export function webhookHeaders(input: SigningInput): Record<string, string> {
  if (input.secrets.length === 0) throw new Error('At least one signing secret is needed');
  const signature = input.secrets.map((s) => sign(s, input.id, input.timestampSeconds, input.body)).join(' ');
  const timestamp = String(input.timestampSeconds);
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': input.id,
    'webhook-timestamp': timestamp,
    'webhook-signature': signature,
    'svix-id': input.id,
    'svix-timestamp': timestamp,
    'svix-signature': signature,
  };
}

export interface StoredSecrets {
  readonly current: string;
  readonly previous?: string;
  /** Epoch ms until which `previous` still signs. */
  readonly previousUntil?: number;
}

/** The secrets that sign at `nowMs`: the current one, and the previous one within its overlap. */
export function signingSecrets(secrets: StoredSecrets, nowMs: number): string[] {
  const out = [secrets.current];
  if (secrets.previous !== undefined && secrets.previousUntil !== undefined && nowMs < secrets.previousUntil) out.push(secrets.previous);
  return out;
}
