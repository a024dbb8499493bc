import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from '../errors';
import type { Logger } from '../log';

/**
 * What an AWS authorization failure (the SDK's AccessDeniedException, or AccessDenied) names: the
 * action and the resource IAM refused, read from its message. Undefined for any other error.
 */
export function accessDenied(error: unknown): { action?: string; resource?: string } | undefined {
  if (!(error instanceof Error) || !/^AccessDenied(Exception)?$/.test(error.name)) return undefined;
  const action = /perform: ([A-Za-z0-9-]+:[A-Za-z0-9*]+)/.exec(error.message)?.[1];
  const resource = /on resource: (\S+)/.exec(error.message)?.[1];
  return { ...(action ? { action } : {}), ...(resource ? { resource } : {}) };
}

/**
 * The one place where errors become responses. Only HttpError messages reach the client. An AWS
 * AccessDenied (a missing grant: an operator's problem) is logged with the action and resource it
 * names, and answered 500 with the request id, by which the operator finds that line.
 */
export function errorResponse(error: unknown, log: Logger, requestId = ''): APIGatewayProxyStructuredResultV2 {
  // Also when an adapter wrapped it (an SES refusal that frees the email, say): the cause decides.
  const cause = accessDenied(error) ? error : (error as { cause?: unknown } | undefined)?.cause;
  const denied = accessDenied(cause);
  if (denied) {
    log.error('AWS denied access: a permission is missing', { ...denied, awsError: (cause as Error).name });
    const message = `An unexpected error occurred. Request id: ${requestId || 'unknown'}.`;
    return {
      statusCode: 500,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ statusCode: 500, name: 'application_error', message }),
    };
  }
  if (error instanceof HttpError) {
    if (error.statusCode >= 500) log.error('request failed', { statusCode: error.statusCode, error });
    return {
      statusCode: error.statusCode,
      headers: { 'content-type': 'application/json', ...error.headers },
      body: JSON.stringify({ statusCode: error.statusCode, name: error.errorName, message: error.message }),
    };
  }
  log.error('unhandled error', { error });
  return {
    statusCode: 500,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ statusCode: 500, name: 'internal_server_error', message: 'An unexpected error occurred.' }),
  };
}
