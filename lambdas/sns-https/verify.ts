/**
 * Verifies SNS messages delivered over HTTP(S), before anything in them is used. The signature is
 * checked here, with node:crypto, so that the certificate URL that is checked is exactly the URL
 * that is fetched, and nothing is fetched for a message that fails a check that costs nothing:
 *
 * 1. The message: a known Type; every signed field a string; SignatureVersion 1 (SHA1) or 2
 *    (SHA256); a base64 Signature of an RSA signature's length; the certificate URL under one name,
 *    `SigningCertURL` (a message that carries Lambda's spelling, `SigningCertUrl`, is refused: with
 *    two names, which one a verifier reads is a guess).
 * 2. The certificate URL, parsed with the WHATWG URL parser that `https.get` uses: https, a `.pem`
 *    path, no credentials, and a host (port included) that matches the configured pattern.
 * 3. Only then the certificate, fetched from that URL, and kept in a small cache (least recently
 *    used out first); a failed fetch is not kept.
 * 4. The signature, over the string SNS signs for the message's type.
 */
import https from 'node:https';
import { createVerify } from 'node:crypto';

export class SnsVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnsVerificationError';
  }
}

export interface SnsVerifier {
  /** Resolves when `message` (an SNS HTTP body, parsed) is signed by SNS; else rejects. */
  verify(message: Readonly<Record<string, unknown>>): Promise<void>;
}

export type CertificateFetcher = (url: string) => Promise<string>;

/** Certificates kept per container. SNS signs with one certificate per region at a time. */
export const CERTIFICATE_CACHE_SIZE = 8;
const MAX_CERT_BYTES = 64 * 1024;
const CERT_TIMEOUT_MS = 5_000;

/** Fetches a PEM certificate with `https.get`: 200 only, at most 64 KiB, within 5 seconds. */
export function fetchCertificateOnce(url: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = https.get(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new SnsVerificationError('The certificate could not be retrieved'));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer | string) => {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        size += buf.length;
        if (size > MAX_CERT_BYTES) {
          req.destroy(new SnsVerificationError('The certificate is too large'));
          return;
        }
        chunks.push(buf);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(CERT_TIMEOUT_MS, () => req.destroy(new SnsVerificationError('The certificate fetch timed out')));
  });
}

/** `fetch`, with the last `maxEntries` certificates kept by URL (a Map in use order: the first is the least recent). */
export function cachedCertificateFetcher(fetch: CertificateFetcher = fetchCertificateOnce, maxEntries = CERTIFICATE_CACHE_SIZE): CertificateFetcher {
  const cache = new Map<string, Promise<string>>();
  return (url) => {
    let hit = cache.get(url);
    if (hit) {
      cache.delete(url);
    } else {
      hit = fetch(url);
      // A failure is not kept: the next message tries again.
      hit.catch(() => {
        if (cache.get(url) === hit) cache.delete(url);
      });
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    }
    cache.set(url, hit);
    return hit;
  };
}

/** The fields SNS signs, in order, per message type (a Notification's Subject only when present). */
const SIGNED_FIELDS = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
} as const;
type SnsType = keyof typeof SIGNED_FIELDS;
const OPTIONAL_FIELDS = new Set<string>(['Subject']);

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** RSA signatures of 1024 to 8192-bit keys. */
const SIGNATURE_BYTES = { min: 128, max: 1024 };

/** Checks the certificate URL as `https.get` will read it, and returns it unchanged. */
export function checkCertificateUrl(raw: unknown, hostPattern: RegExp): string {
  if (typeof raw !== 'string' || raw.length > 2048 || /[\\\s]/.test(raw)) throw new SnsVerificationError('The certificate URL is invalid');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SnsVerificationError('The certificate URL is invalid');
  }
  if (url.protocol !== 'https:' || url.username !== '' || url.password !== '' || !url.pathname.endsWith('.pem')) {
    throw new SnsVerificationError('The certificate URL is invalid');
  }
  if (!hostPattern.test(url.host)) throw new SnsVerificationError('The certificate is located on an invalid domain');
  return raw;
}

interface CheckedMessage {
  readonly certificateUrl: string;
  readonly version: '1' | '2';
  readonly signature: string;
  readonly signed: string;
}

/** Step 1 and 2: everything that needs no certificate. */
function checkMessage(message: Readonly<Record<string, unknown>>, hostPattern: RegExp): CheckedMessage {
  const type = message.Type;
  if (typeof type !== 'string' || !Object.hasOwn(SIGNED_FIELDS, type)) throw new SnsVerificationError('Unknown SNS message type');
  if (Object.hasOwn(message, 'SigningCertUrl')) throw new SnsVerificationError('The message names its certificate under Lambda\'s key');
  const version = message.SignatureVersion;
  if (version !== '1' && version !== '2') throw new SnsVerificationError(`The signature version ${String(version).slice(0, 10)} is not supported`);
  const signature = message.Signature;
  if (typeof signature !== 'string' || signature.length > 2 * SIGNATURE_BYTES.max || !BASE64.test(signature)) {
    throw new SnsVerificationError('The signature is not base64');
  }
  const bytes = Buffer.byteLength(signature, 'base64');
  if (bytes < SIGNATURE_BYTES.min || bytes > SIGNATURE_BYTES.max) throw new SnsVerificationError('The signature has no RSA signature\'s length');
  let signed = '';
  for (const field of SIGNED_FIELDS[type as SnsType]) {
    const value = message[field];
    if (value === undefined && OPTIONAL_FIELDS.has(field)) continue;
    if (typeof value !== 'string') throw new SnsVerificationError(`The message has no ${field}`);
    signed += `${field}\n${value}\n`;
  }
  return { certificateUrl: checkCertificateUrl(message.SigningCertURL, hostPattern), version, signature, signed };
}

/** Step 4. */
function checkSignature(m: CheckedMessage, certificate: string): void {
  const verifier = createVerify(m.version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  verifier.update(m.signed, 'utf8');
  let valid = false;
  try {
    valid = verifier.verify(certificate, m.signature, 'base64');
  } catch {
    valid = false;
  }
  if (!valid) throw new SnsVerificationError('The message signature is invalid');
}

export interface SnsVerifierOptions {
  /** Pattern for the SigningCertURL's host, port included (SESAME_SNS_CERT_HOST). */
  readonly certHost: RegExp;
  /** @default cachedCertificateFetcher(): `https.get`, the last CERTIFICATE_CACHE_SIZE kept */
  readonly fetchCertificate?: CertificateFetcher;
}

export function createSnsVerifier(options: SnsVerifierOptions): SnsVerifier {
  // Without flags: a global or sticky pattern would keep state between tests of different hosts.
  const certHost = new RegExp(options.certHost.source, options.certHost.flags.replace(/[gy]/g, ''));
  const fetchCertificate = options.fetchCertificate ?? cachedCertificateFetcher();
  return {
    async verify(message) {
      const checked = checkMessage(message, certHost);
      checkSignature(checked, await fetchCertificate(checked.certificateUrl));
    },
  };
}
