/**
 * Calls an API handler as API Gateway (HTTP API, payload 2.0) would: the route is matched against
 * API_ROUTES by the local gateway stand-in's matcher, and the event carries what the handler reads.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { matchRoute } from '../../../lambdas/local/api-server';
import { createLogger, type Logger } from '../../../lambdas/shared/log';

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface CallOptions {
  readonly key?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface CallResult {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
  readonly headers: Record<string, string>;
}

export function apiEvent(method: string, rawUrl: string, options: CallOptions = {}): APIGatewayProxyEventV2 {
  const url = new URL(rawUrl, 'http://localhost');
  const matched = matchRoute(method, url.pathname);
  const routeKey = matched?.route.routeKey ?? '$default';
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...options.headers };
  const query = Object.fromEntries(url.searchParams);
  const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  const now = new Date();
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(matched && Object.keys(matched.params).length ? { pathParameters: matched.params } : {}),
    requestContext: {
      accountId: '000000000000', apiId: 'test', domainName: 'localhost', domainPrefix: 'test',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId: randomUUID(), routeKey, stage: '$default', time: now.toUTCString(), timeEpoch: now.getTime(),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}

function context(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false, functionName: 'test', functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test', memoryLimitInMB: '512',
    awsRequestId: randomUUID(), logGroupName: 'test', logStreamName: 'test',
    getRemainingTimeInMillis: () => 29_000, done: () => undefined, fail: () => undefined, succeed: () => undefined,
  };
}

export async function call(handler: ApiHandler, method: string, url: string, options: CallOptions = {}): Promise<CallResult> {
  const res = await handler(apiEvent(method, url, options), context());
  return { status: res.statusCode ?? 0, body: res.body ? JSON.parse(res.body) : undefined, headers: (res.headers ?? {}) as Record<string, string> };
}

/** A logger that keeps its lines for assertions instead of printing them. */
export function captureLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({}, (line) => lines.push(line)), lines };
}
