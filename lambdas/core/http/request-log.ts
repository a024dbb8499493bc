/**
 * The request-log middleware of the API functions: once the answer is computed (a route's response
 * or the error mapped to Resend's body), one PutItem records the request for GET /logs. It runs
 * before the function returns, so it adds that one write's latency and nothing more; a failed write
 * is logged and the answer goes out unchanged. Requests without a valid key are not recorded (they
 * belong to no tenant).
 */
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { RequestLogEntry } from '../adapters/request-logs';
import { loggedBody } from '../domain/request-log';
import type { Logger } from '../log';
import type { ApiRequest } from './api';
import type { AuthContext } from './auth';

export interface RequestLogSink {
  record(entry: RequestLogEntry): Promise<unknown>;
}

/** What the middleware reads of a request's state in the API handler. */
export interface RequestLogView {
  readonly request?: ApiRequest;
  readonly auth?: AuthContext;
  readonly log: Logger;
}

type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context>;

/** The log entry of an answered request, or undefined when it has no tenant. */
export function requestLogEntry(view: RequestLogView, response: APIGatewayProxyStructuredResultV2 | undefined): RequestLogEntry | undefined {
  const { request, auth } = view;
  if (!request || !auth || !response) return undefined;
  return {
    tenantId: auth.tenantId,
    keyId: auth.keyId,
    ...(auth.keyName !== undefined ? { keyName: auth.keyName } : {}),
    method: request.method,
    endpoint: request.path,
    status: response.statusCode ?? 200,
    userAgent: request.headers['user-agent'] ?? null,
    requestBody: loggedBody(request.body),
    responseBody: loggedBody(response.body),
  };
}

/**
 * The middleware; with no sink (SESAME_REQUEST_LOGS=0) it does nothing. Register it before the
 * error handler: middy runs onError hooks last-registered first, so this one sees the mapped error.
 */
export function requestLogging(
  sink: RequestLogSink | undefined,
  view: (context: Context) => RequestLogView,
): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, Context> {
  const record = async (request: Request): Promise<void> => {
    if (!sink) return;
    const v = view(request.context);
    try {
      const entry = requestLogEntry(v, request.response ?? undefined);
      if (entry) await sink.record(entry);
    } catch (error) {
      v.log.error('request log not written', { error });
    }
  };
  return { after: record, onError: record };
}
