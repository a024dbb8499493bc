/**
 * A scripted SES v2 endpoint for adapter tests: it answers each request with the next reply in
 * its queue (SES v2 wire responses from test/fixtures/sesv2) and records what the client sent,
 * so that the real @aws-sdk/client-sesv2 serializes the requests and parses the answers.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { closeServer, listenOnLoopback } from '../../../lambdas/local/listen';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

export interface WireReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

export interface SesWire {
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  /** Queues the replies of the next requests, in order. */
  reply(...replies: WireReply[]): void;
  close(): Promise<void>;
}

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'sesv2');

export const fixture = <T = unknown>(name: string): T => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;

const REQUEST_ID = { 'x-amzn-RequestId': '0d1a5e0c-6c3a-4b8e-9d8f-3c2b1a0f9e8d' };

// Timestamps travel as epoch seconds in SES v2's REST-JSON protocol; the SDK-shaped fixtures spell them as ISO strings.
const TIMESTAMP_FIELDS = new Set(['LastKeyGenerationTimestamp', 'LastCheckedTimestamp', 'LastSuccessTimestamp']);

/** An SDK-shaped fixture (as the SES docs and the CLI print it) in the wire's form. */
export function toWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toWire);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$metadata') continue;
    out[k] = TIMESTAMP_FIELDS.has(k) && typeof v === 'string' ? Date.parse(v) / 1000 : toWire(v);
  }
  return out;
}

/** A 200 answer with an SDK-shaped fixture's body. */
export const ok = (name: string): WireReply => ({ status: 200, headers: { 'Content-Type': 'application/json', ...REQUEST_ID }, body: toWire(fixture(name)) });

/** An answer recorded in a `*.wire.json` fixture (`_http` and `body`). */
export function wire(name: string): WireReply {
  const f = fixture<{ _http: { status: number; headers: Record<string, string> }; body: unknown }>(name);
  return { status: f._http.status, headers: f._http.headers, body: f.body };
}

/** An SES error from test/fixtures/sesv2/errors: its status, its x-amzn-ErrorType header and body. */
export function sesError(type: string): WireReply {
  const f = fixture<{ httpStatus: number; headers: Record<string, string>; body: unknown }>(`errors/${type}.json`);
  return { status: f.httpStatus, headers: f.headers, body: f.body };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  return raw === '' ? undefined : JSON.parse(raw);
}

export async function startSesWire(): Promise<SesWire> {
  const requests: RecordedRequest[] = [];
  const queue: WireReply[] = [];
  const server: Server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
        const next = queue.shift() ?? { status: 500, headers: { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'InternalFailure' }, body: { message: 'no reply queued' } };
        res.writeHead(next.status, next.headers);
        res.end(JSON.stringify(next.body));
      },
      () => {
        res.writeHead(400);
        res.end();
      },
    );
  });
  const port = await listenOnLoopback(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => void queue.push(...replies),
    close: () => closeServer(server, 'abort'),
  };
}
