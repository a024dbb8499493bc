/**
 * Outbound webhook POSTs with the SSRF guard applied at connect time.
 *
 * - A host name is resolved by a custom `lookup` that takes *every* address of the name and refuses
 *   the connection if any one of them is not public (ssrf.ts); the socket then connects to the
 *   address that was checked, so a DNS answer that changes between check and connect (rebinding)
 *   cannot reach a private address.
 * - A literal IP host (Node skips `lookup` for those) is checked before anything is opened.
 * - Redirects are never followed (node:http does not follow them; a 3xx is just a status code).
 * - One deadline covers the whole exchange (lookup, connect, TLS, response, body): 15 s by default.
 * - At most `maxResponseBytes` of the response body are read and kept (for the attempt log).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AddressPolicy, refusalOf } from './ssrf';

export const DELIVERY_TIMEOUT_MS = 15_000;
export const MAX_RESPONSE_BYTES = 1024;

/** Resolves a host name to all of its addresses. Injectable so tests can simulate DNS answers. */
export type Resolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

export interface DeliveryRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type DeliveryError = 'refused' | 'timeout' | 'network';

export interface DeliveryResult {
  /** The HTTP status, or undefined when no response arrived (refused, timeout, network error). */
  readonly statusCode?: number;
  readonly durationMs: number;
  /** The start of the response body, or what went wrong; at most maxResponseBytes bytes. */
  readonly response: string;
  readonly error?: DeliveryError;
}

export interface WebhookPoster {
  post(request: DeliveryRequest): Promise<DeliveryResult>;
}

export interface HttpDeliveryOptions extends AddressPolicy {
  readonly timeoutMs?: number;
  readonly maxResponseBytes?: number;
  readonly resolver?: Resolver;
  readonly now?: () => number;
}

export class RefusedAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedAddressError';
  }
}

/**
 * A `net` lookup function that resolves every address of a name and fails unless all are public.
 * Answers in both of the shapes Node asks for (`all: true` with autoSelectFamily, or one address).
 */
export function guardedLookup(resolver: Resolver, policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (addresses) => {
        if (addresses.length === 0) return callback(new Error(`${hostname} has no address`), '', 4);
        for (const a of addresses) {
          const refusal = refusalOf(a.address, policy);
          if (refusal !== undefined) {
            return callback(new RefusedAddressError(`${hostname} resolves to a ${refusal} address`), '', 4);
          }
        }
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : [...addresses];
        if (wanted.length === 0) return callback(new Error(`${hostname} has no IPv${options.family} address`), '', 4);
        if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, wanted);
        return callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 4),
    );
  };
}

export class HttpDelivery implements WebhookPoster {
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly lookup: LookupFunction;
  // Keep-alive per container: repeated deliveries to one endpoint skip the TCP and TLS set-up.
  // Every pooled socket was opened through the guarded lookup.
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 50 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 50 });

  constructor(private readonly options: HttpDeliveryOptions) {
    this.timeoutMs = options.timeoutMs ?? DELIVERY_TIMEOUT_MS;
    this.maxBytes = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
    this.now = options.now ?? Date.now;
    this.lookup = guardedLookup(options.resolver ?? systemResolver, options);
  }

  async post(req: DeliveryRequest): Promise<DeliveryResult> {
    const started = this.now();
    const done = (r: Omit<DeliveryResult, 'durationMs'>): DeliveryResult => ({ ...r, durationMs: Math.max(0, this.now() - started) });
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return done({ error: 'refused', response: 'invalid endpoint URL' });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return done({ error: 'refused', response: 'endpoint is not http(s)' });
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const refusal = refusalOf(host, this.options);
      if (refusal !== undefined) return done({ error: 'refused', response: `endpoint address is a ${refusal} address` });
    }
    const body = Buffer.from(req.body, 'utf8');
    const secure = url.protocol === 'https:';
    return new Promise<DeliveryResult>((resolve) => {
      let settled = false;
      const finish = (r: Omit<DeliveryResult, 'durationMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(r));
      };
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          lookup: this.lookup,
          headers: { ...req.headers, 'content-length': String(body.length) },
        },
        (res) => this.readCapped(res).then((text) => finish({ statusCode: res.statusCode ?? 0, response: text })),
      );
      const timer = setTimeout(() => {
        finish({ error: 'timeout', response: `no complete response within ${this.timeoutMs} ms` });
        request.destroy();
      }, this.timeoutMs);
      request.on('error', (error: Error) => {
        if (error instanceof RefusedAddressError) finish({ error: 'refused', response: truncate(error.message, this.maxBytes) });
        else finish({ error: 'network', response: truncate(`${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}`, this.maxBytes) });
      });
      request.end(body);
    });
  }

  /** Reads at most maxBytes of the body, then drops the rest of the response. */
  private readCapped(res: IncomingMessage): Promise<string> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const end = () => resolve(truncate(Buffer.concat(chunks).toString('utf8'), this.maxBytes));
      res.on('data', (chunk: Buffer) => {
        if (size < this.maxBytes) chunks.push(chunk.subarray(0, this.maxBytes - size));
        size += chunk.length;
        if (size > this.maxBytes) {
          res.destroy();
          end();
        }
      });
      res.on('end', end);
      res.on('error', end);
      res.on('close', end);
    });
  }

  /** Closes pooled connections (tests, local mode shutdown). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Cuts a string to at most `bytes` UTF-8 bytes without splitting a character. */
export function truncate(text: string, bytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= bytes) return text;
  return buf.subarray(0, bytes).toString('utf8').replace(/\uFFFD$/, '');
}
