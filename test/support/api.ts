/**
 * Calls a real API handler (middy chain, auth middleware, error mapping) with the API Gateway v2
 * event that the local API server would build for the same HTTP request.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { matchRoute } from '../../lambdas/local/api-server';
import type { Logger } from '../../lambdas/core/log';
import { memoryLogger } from './logs';

export interface CallOptions {
  readonly key?: string;
  readonly body?: unknown;
  /** A raw body string, sent as is (for bodies that are not JSON); a string `body` is sent as is too. */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

export type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

export function apiEvent(method: string, target: string, options: CallOptions = {}): APIGatewayProxyEventV2 {
  const url = new URL(target, 'http://localhost');
  const match = matchRoute(method, url.pathname);
  if (!match) throw new Error(`No route for ${method} ${url.pathname}`);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])) };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  const query = Object.fromEntries(url.searchParams);
  const body = options.rawBody ?? (options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
  return {
    version: '2.0',
    routeKey: match.route.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(match.params).length ? { pathParameters: match.params } : {}),
    requestContext: {
      accountId: '000000000000', apiId: 'test', domainName: 'localhost', domainPrefix: 'test',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: `req-${Math.random().toString(36).slice(2)}`, routeKey: match.route.routeKey, stage: '$default',
      time: new Date().toUTCString(), timeEpoch: Date.now(),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}

// A context per call, as Lambda gives each invocation: the handler keeps each request's state by
// its context, so calls made at the same moment must not share one.
const newContext = () => ({ awsRequestId: 'test', getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

export async function call(handler: Handler, method: string, target: string, options: CallOptions = {}): Promise<CallResult> {
  const res = await handler(apiEvent(method, target, options), newContext());
  if (typeof res === 'string') return { status: 200, headers: {}, body: JSON.parse(res) };
  const text = res.body ?? '';
  return {
    status: res.statusCode ?? 200,
    headers: Object.fromEntries(Object.entries(res.headers ?? {}).map(([k, v]) => [k, String(v)])),
    body: text === '' ? undefined : JSON.parse(text),
  };
}

/** Asserts nothing; returns the error body for `expect`s in the test. */
export function isResendError(body: unknown): boolean {
  const b = body as Record<string, unknown> | undefined;
  return !!b && typeof b.statusCode === 'number' && typeof b.name === 'string' && typeof b.message === 'string' && Object.keys(b).length === 3;
}

/** A logger that keeps its lines for assertions instead of printing them. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const { log, lines } = memoryLogger();
  return { log, lines };
}
