/**
 * The HTTP layer shared by the API functions: API Gateway v2 event -> ApiRequest -> route -> response.
 * Composition is middy: parse (size limit, headers), authenticate (shared key middleware), route;
 * errors are mapped to Resend's body in one place (errors.ts).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { attributedByRoute } from '../aws-calls';
import { HttpError } from '../errors';
import { lambdaContext, logger as rootLogger, type Logger } from '../log';
import { type EmfMetrics, metrics as rootMetrics, publishMetrics } from '../metrics';
import type { AuthContext, Authenticator, Permission } from './auth';
import { errorResponse } from './errors';
import { type RequestLogSink, requestLogging } from './request-log';

/** Request bodies above this get 413. Lambda's synchronous payload limit is 6 MB for the whole event. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiRequest {
  readonly routeKey: string;
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly requestId: string;
}

export interface ApiResponse {
  readonly statusCode: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface RouteContext {
  readonly request: ApiRequest;
  readonly auth: AuthContext;
  readonly log: Logger;
}

export interface Route {
  /** The least permission that may call the route. */
  readonly permission: Permission;
  /** Authenticate without the key cache: for key management, so a revoked key cannot act for a minute. */
  readonly uncachedAuth?: boolean;
  handle(ctx: RouteContext): Promise<ApiResponse>;
}

export type Routes = Readonly<Record<string, Route>>;

/** A map for keys the client chose: no prototype, so `__proto__` or `constructor` is a key like any other. */
const clientMap = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

export function toApiRequest(event: APIGatewayProxyEventV2): ApiRequest {
  const headers = clientMap<string>();
  for (const [k, v] of Object.entries(event.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Math.floor((raw.length * 3) / 4) : Buffer.byteLength(raw, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    throw new HttpError(413, 'payload_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
  const query = clientMap<string>();
  for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query[k] = v;
  const params = clientMap<string>();
  for (const [k, v] of Object.entries(event.pathParameters ?? {})) if (v !== undefined) params[k] = v;
  return {
    routeKey: event.routeKey,
    method: event.requestContext?.http?.method ?? event.routeKey.split(' ')[0] ?? 'GET',
    path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
    params,
    query,
    headers,
    body,
    requestId: event.requestContext?.requestId ?? '',
  };
}

export function jsonResponse(res: ApiResponse): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: res.statusCode,
    headers: { 'content-type': 'application/json', ...res.headers },
    body: res.body === undefined ? '' : JSON.stringify(res.body),
  };
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

interface State {
  request?: ApiRequest;
  auth?: AuthContext;
  log: Logger;
}

export interface ApiOptions {
  /** Where each authenticated request is recorded for GET /logs; none: not recorded. */
  readonly requestLog?: RequestLogSink;
}

/**
 * Builds a Lambda handler that serves `routes` (keyed by API Gateway route key, e.g. `POST /emails`).
 * The metrics the routes counted are flushed when each invocation ends.
 */
export function createApiHandler(routes: Routes, authenticator: Authenticator, log: Logger = rootLogger, metrics: Pick<EmfMetrics, 'flush'> = rootMetrics, options: ApiOptions = {}): Handler {
  const states = new WeakMap<object, State>();
  const state = (ctx: Context): State => {
    let s = states.get(ctx);
    if (!s) states.set(ctx, (s = { log }));
    return s;
  };

  const core = async (_event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const s = state(context);
    const route = routes[s.request!.routeKey];
    if (!route) throw new HttpError(404, 'not_found', 'The requested endpoint does not exist.');
    const res = await route.handle({ request: s.request!, auth: s.auth!, log: s.log });
    return jsonResponse(res);
  };

  // Each request's AWS calls are its route's function's (recorded only under the tests, aws-calls.ts).
  return attributedByRoute(middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>(core)
    // The invocation's request id and cold start on every line, from the first.
    .use(lambdaContext())
    .use(publishMetrics(metrics))
    // Registered before the error mapping: its after and onError hooks run after it, once the answer
    // (or the mapped error) is known.
    .use(requestLogging(options.requestLog, state))
    // Registered before the others so that its onError runs after theirs.
    .use({
      onError: async (request) => {
        const s = state(request.context);
        request.response = errorResponse(request.error, s.log, s.request?.requestId || request.context?.awsRequestId);
      },
    })
    .use({
      before: async (request) => {
        // A fresh state per request, even if a caller reuses its context object between calls.
        const s: State = { log };
        states.set(request.context, s);
        const req = toApiRequest(request.event);
        s.request = req;
        s.log = log.child({ requestId: req.requestId || request.context.awsRequestId, route: req.routeKey });
      },
    })
    .use({
      before: async (request) => {
        const s = state(request.context);
        const route = routes[s.request!.routeKey];
        if (!route) return;
        s.auth = await authenticator.authenticate(s.request!.headers['authorization'], route.permission, { fresh: route.uncachedAuth === true });
        s.log = s.log.child({ tenantId: s.auth.tenantId });
      },
    }));
}
