/**
 * Verifies SNS messages delivered over HTTP(S), before anything in them is used.
 *
 * - Notification and SubscriptionConfirmation: sns-validator (SignatureVersion 1 and 2), given a
 *   copy since it mutates its input. It fetches the certificate itself, with `https.get`, and caches
 *   it per URL for the life of the container.
 * - UnsubscribeConfirmation: sns-validator leaves Token out of the string it checks, so it refuses
 *   genuine ones; they are verified here with node:crypto, the certificate fetched the same way
 *   (`https.get`, cached per URL).
 * - Before either, the SigningCertURL is checked here too, parsed with the WHATWG URL parser that
 *   `https.get` uses (sns-validator checks it with the legacy `url.parse`): https, a `.pem` path,
 *   no credentials, and a host (port included) that matches the configured pattern.
 */
import https from 'node:https';
import { createVerify } from 'node:crypto';
import MessageValidator from 'sns-validator';

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

const MAX_CERT_BYTES = 64 * 1024;
const CERT_TIMEOUT_MS = 5_000;

/** Fetches a PEM certificate with `https.get`, as sns-validator does, and keeps it per URL. */
export function httpsCertificateFetcher(maxEntries = 100): CertificateFetcher {
  const cache = new Map<string, Promise<string>>();
  const fetchOnce = (url: string) =>
    new Promise<string>((resolve, reject) => {
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
  return (url) => {
    let hit = cache.get(url);
    if (!hit) {
      hit = fetchOnce(url);
      // A failure is not cached: the next message tries again.
      hit.catch(() => cache.delete(url));
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
      cache.set(url, hit);
    }
    return hit;
  };
}

const UNSUBSCRIBE_SIGNED_KEYS = ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const;

/** Checks the certificate URL as `https.get` will read it. */
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

function verifyUnsubscribe(message: Readonly<Record<string, unknown>>, certificate: string): void {
  const version = message.SignatureVersion;
  if (version !== '1' && version !== '2') throw new SnsVerificationError(`The signature version ${String(version)} is not supported`);
  const verifier = createVerify(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  for (const key of UNSUBSCRIBE_SIGNED_KEYS) verifier.update(`${key}\n${message[key] as string}\n`, 'utf8');
  let valid = false;
  try {
    valid = verifier.verify(certificate, message.Signature as string, 'base64');
  } catch {
    valid = false;
  }
  if (!valid) throw new SnsVerificationError('The message signature is invalid');
}

export interface SnsVerifierOptions {
  /** Pattern for the SigningCertURL's host (SESAME_SNS_CERT_HOST). */
  readonly certHost: RegExp;
  /** For UnsubscribeConfirmation; sns-validator fetches its own with `https.get`. */
  readonly fetchCertificate?: CertificateFetcher;
}

export function createSnsVerifier(options: SnsVerifierOptions): SnsVerifier {
  // Without flags: a global or sticky pattern would keep state between tests of different hosts.
  const certHost = new RegExp(options.certHost.source, options.certHost.flags.replace(/[gy]/g, ''));
  const validator = new MessageValidator(certHost);
  const fetchCertificate = options.fetchCertificate ?? httpsCertificateFetcher();

  return {
    async verify(message) {
      checkCertificateUrl(message.SigningCertURL, certHost);
      if (message.Type === 'UnsubscribeConfirmation') {
        for (const key of [...UNSUBSCRIBE_SIGNED_KEYS, 'Signature', 'SignatureVersion']) {
          if (typeof message[key] !== 'string') throw new SnsVerificationError('Message missing required keys');
        }
        verifyUnsubscribe(message, await fetchCertificate(message.SigningCertURL as string));
        return;
      }
      if (message.Type !== 'Notification' && message.Type !== 'SubscriptionConfirmation') {
        throw new SnsVerificationError('Unknown SNS message type');
      }
      await new Promise<void>((resolve, reject) => {
        validator.validate(structuredClone({ ...message }), (error) =>
          error ? reject(new SnsVerificationError(error.message)) : resolve(),
        );
      });
    },
  };
}
