import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from '../errors';
import type { Logger } from '../log';

/** The one place where errors become responses. Only HttpError messages reach the client. */
export function errorResponse(error: unknown, log: Logger): APIGatewayProxyStructuredResultV2 {
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
