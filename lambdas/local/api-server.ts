/**
 * Local stand-in for API Gateway (HTTP API, payload format 2.0): matches the request against
 * API_ROUTES, builds the event API Gateway would, and calls the same Lambda handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { API_ROUTES, type ApiFunction } from '../core/routes';

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

// API Gateway prefers the most specific route: more literal segments first.
const ROUTES = API_ROUTES.map((r) => compile(r.routeKey, r.fn)).sort((a, b) => b.literalSegments - a.literalSegments);

export function matchRoute(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    route.params.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
    return { route, params };
  }
  return undefined;
}

function lambdaContext(fn: string): Context {
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

async function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BODY) return 'too_large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const TEXTUAL = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript)|[^;]*\+json)/i;

export function toEvent(req: IncomingMessage, body: Buffer, routeKey: string, params: Record<string, string>): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
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
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startApiServer(options: { port: number; handlers: Readonly<Record<ApiFunction, ApiLambda>> }): Promise<ApiServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const match = matchRoute(req.method ?? 'GET', url.pathname);
      if (!match) return send(res, 404, JSON.stringify({ message: 'Not Found' }));
      const body = await readBody(req);
      if (body === 'too_large') return send(res, 413, JSON.stringify({ message: 'Request Entity Too Large' }));
      const event = toEvent(req, body, match.route.routeKey, match.params);
      try {
        const result = await options.handlers[match.route.fn](event, lambdaContext(match.route.fn));
        if (typeof result === 'string') return send(res, 200, result);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
        const payload = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64').toString('utf8') : (result.body ?? '');
        return send(res, result.statusCode ?? 200, payload, headers);
      } catch {
        // What API Gateway answers when the function itself fails.
        return send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
