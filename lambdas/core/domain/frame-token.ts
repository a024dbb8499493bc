/**
 * The console's email frame tokens (pure): an iframe cannot send the console's bearer key, so the
 * frame's URL carries a token that an authenticated call minted. A token names one email of one
 * tenant, expires within minutes, tells whether remote content may load, and is signed with
 * HMAC-SHA256 under a key derived from the server's secrets key (never the key itself).
 * Format: `<base64url JSON {t,e,x,r}>.<base64url HMAC>`.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** How long a frame token works: enough to open the page and click "load remote content". */
export const FRAME_TOKEN_TTL_SECONDS = 300;

export interface FrameGrant {
  readonly tenantId: string;
  readonly emailId: string;
  /** Expiry, epoch seconds. */
  readonly expiresAt: number;
  /** Whether the frame may load remote images, styles and fonts. */
  readonly remote: boolean;
}

/** The signing key of frame tokens, derived from the 32-byte secrets key (HKDF-SHA256, its own label). */
export function frameSigningKey(secretsKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', secretsKey, Buffer.alloc(0), 'sesame console email frame v1', 32));
}

const mac = (key: Buffer, payload: string) => createHmac('sha256', key).update(payload).digest();

export function mintFrameToken(key: Buffer, grant: FrameGrant): string {
  const payload = Buffer.from(JSON.stringify({ t: grant.tenantId, e: grant.emailId, x: grant.expiresAt, r: grant.remote ? 1 : 0 })).toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

/** The grant of a token whose signature holds and which has not expired at `nowSeconds`; undefined otherwise. */
export function readFrameToken(key: Buffer, token: string, nowSeconds: number): FrameGrant | undefined {
  const match = /^([A-Za-z0-9_-]{1,1024})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return undefined;
  const [, payload, signature] = match as unknown as [string, string, string];
  // Compared as text: one signature has one spelling (no second token from unused low bits).
  const given = Buffer.from(signature, 'utf8');
  const expected = Buffer.from(mac(key, payload).toString('base64url'), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let body: { t?: unknown; e?: unknown; x?: unknown; r?: unknown };
  try {
    body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof body;
  } catch {
    return undefined;
  }
  if (typeof body.t !== 'string' || typeof body.e !== 'string' || typeof body.x !== 'number') return undefined;
  if (body.x <= nowSeconds) return undefined;
  return { tenantId: body.t, emailId: body.e, expiresAt: body.x, remote: body.r === 1 };
}

/**
 * The frame document's own policy: nothing loads but inline styles and data: images, unless the
 * user asked for remote content (then http(s) images, styles and fonts too, still never scripts).
 * `sandbox` (no allow-scripts) makes the document sandboxed even when opened outside the iframe.
 */
export function frameContentSecurityPolicy(remote: boolean): string {
  const remoteSources = remote ? ' https: http:' : '';
  return [
    "default-src 'none'",
    `style-src 'unsafe-inline'${remoteSources}`,
    `img-src data:${remoteSources}`,
    `font-src data:${remoteSources}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    'sandbox',
  ].join('; ');
}
