/**
 * Local stand-in for API Gateway (HTTP API, payload format 2.0): matches the request against
 * API_ROUTES, builds the event API Gateway would, and calls the same Lambda handler.
 *
 * What API Gateway refuses itself gets its own answers: 400 for a request it cannot read (a
 * malformed request line or target, a path parameter that is not valid percent-encoding), 413 for a
 * body over 10 MB (and the connection is closed). A request, valid or not, never ends the process:
 * a client that goes away mid-body only loses its own connection.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { API_ROUTES, DEFAULT_ROUTE_KEY, type ApiFunction } from '../core/routes';
import { closeServer, listenOnLoopback } from './listen';

export type ApiLambda = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** API Gateway's own payload limit for HTTP APIs. */
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

interface CompiledRoute {
  readonly routeKey: string;
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: string[];
  readonly fn: ApiFunction;
  readonly literalSegments: number;
}

function compile(routeKey: string, fn: ApiFunction): CompiledRoute {
  const [method, path] = routeKey.split(' ') as [string, string];
  const params: string[] = [];
  const segments = path.split('/').filter(Boolean);
  const source = segments
    .map((s) => {
      const m = /^\{(\w+)\}$/.exec(s);
      if (m) {
        params.push(m[1]!);
        return '/([^/]+)';
      }
      return '/' + s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { routeKey, method, pattern: new RegExp(`^${source}/?$`), params, fn, literalSegments: segments.length - params.length };
}

// API Gateway prefers the most specific route: more literal segments first. `$default` is what is left.
const ROUTES = API_ROUTES.filter((r) => r.routeKey !== DEFAULT_ROUTE_KEY)
  .map((r) => compile(r.routeKey, r.fn))
  .sort((a, b) => b.literalSegments - a.literalSegments);
const defaultRoute = API_ROUTES.find((r) => r.routeKey === DEFAULT_ROUTE_KEY);
const DEFAULT_ROUTE: CompiledRoute | undefined = defaultRoute && {
  routeKey: defaultRoute.routeKey, method: 'ANY', pattern: /^/, params: [], fn: defaultRoute.fn, literalSegments: 0,
};

/** A path parameter that is not valid percent-encoding (API Gateway answers 400). */
export class MalformedPathError extends Error {}

/**
 * The route for `METHOD path` (path still percent-encoded), its parameters decoded; `$default` when
 * no route matches. Throws MalformedPathError when a parameter does not decode.
 */
export function matchRoute(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = Object.create(null) as Record<string, string>;
    route.params.forEach((name, i) => (params[name] = decodeParam(m[i + 1]!)));
    return { route, params };
  }
  return DEFAULT_ROUTE && { route: DEFAULT_ROUTE, params: {} };
}

function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new MalformedPathError('malformed percent-encoding');
  }
}

/** The request target as a URL, for origin-form targets (`/path?query`) only. */
function requestUrl(target: string | undefined): URL | undefined {
  if (!target?.startsWith('/')) return undefined;
  try {
    // Not `new URL(target, base)`: that reads `//host/path` as another host.
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/** The Lambda context of one local invocation of `fn`, as Lambda would pass it. */
export function localLambdaContext(fn: string): Context {
  const deadline = Date.now() + 29_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `sesame-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:sesame-${fn}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/sesame-${fn}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * The request's body, or 'too_large' as soon as it passes API Gateway's limit (what follows is
 * not kept). Rejects when the client goes away before the body is complete.
 */
function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) return;
      if (size > GATEWAY_MAX_BODY) {
        tooLarge = true;
        chunks.length = 0;
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('The client closed the connection before the end of its body.'));
    });
  });
}

const TEXTUAL = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)|[^;]*\+json)/i;

export function toEvent(req: IncomingMessage, body: Buffer, routeKey: string, params: Record<string, string>): APIGatewayProxyEventV2 {
  const url = requestUrl(req.url) ?? new URL('http://localhost/');
  // Keys come from the client: maps without a prototype, so that `__proto__` is a key like any other.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const textual = body.length === 0 || TEXTUAL.test(headers['content-type'] ?? 'application/json');
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(params).length ? { pathParameters: params } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !textual,
  };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** API Gateway's own answers, for requests it refuses before any function runs. */
const gatewayError = (message: string) => JSON.stringify({ message });
const CLOSE = { 'content-type': 'application/json', connection: 'close' };

/** Requests that Node's HTTP parser refuses (a malformed request line, headers too large, a timeout). */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = gatewayError(STATUS_CODES[status] ?? 'Bad Request');
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startApiServer(options: { port: number; handlers: Readonly<Record<ApiFunction, ApiLambda>> }): Promise<ApiServer> {
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = requestUrl(req.url);
    if (!url) return send(res, 400, gatewayError('Bad Request'), CLOSE);
    let match: ReturnType<typeof matchRoute>;
    try {
      match = matchRoute(req.method ?? 'GET', url.pathname);
    } catch (error) {
      if (error instanceof MalformedPathError) return send(res, 400, gatewayError('Bad Request'), CLOSE);
      throw error;
    }
    if (!match) return send(res, 404, gatewayError('Not Found'));
    const body = await readBody(req);
    // The rest of that body is still on its way: the connection cannot carry another request.
    if (body === 'too_large') return send(res, 413, gatewayError('Request Entity Too Large'), CLOSE);
    const event = toEvent(req, body, match.route.routeKey, match.params);
    let result: APIGatewayProxyResultV2;
    try {
      result = await options.handlers[match.route.fn](event, localLambdaContext(match.route.fn));
    } catch {
      // What API Gateway answers when the function itself fails.
      return send(res, 500, gatewayError('Internal Server Error'));
    }
    if (typeof result === 'string') return send(res, 200, result);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64').toString('utf8') : (result.body ?? '');
    return send(res, result.statusCode ?? 200, payload, headers);
  };

  const server: Server = createServer((req, res) => {
    // Whatever goes wrong with one request (most often: its client went away mid-body) ends that
    // request's connection, never the process.
    serve(req, res).catch(() => {
      if (!res.headersSent && !req.socket.destroyed) send(res, 500, gatewayError('Internal Server Error'), CLOSE);
      else req.socket.destroy();
    });
  });
  server.on('clientError', answerClientError);
  // Idle keep-alive connections stay open as long as API Gateway's do, well past Node's default of
  // 5 s: a client that paused (a test blocked on a child process, say) must not find its reused
  // connection closed under it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const port = await listenOnLoopback(server, options.port);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => closeServer(server, 'abort'),
  };
}
