/**
 * Typed errors that carry their HTTP status and Resend's error name. One place (http/errors.ts)
 * turns them into responses; anything else becomes a generic 500 with no internals.
 */

export type ErrorName =
  | 'missing_api_key'
  | 'invalid_api_key'
  | 'restricted_api_key'
  | 'validation_error'
  | 'missing_required_field'
  | 'invalid_parameter'
  | 'invalid_attachment'
  | 'invalid_from_address'
  | 'invalid_access'
  | 'invalid_idempotency_key'
  | 'invalid_idempotent_request'
  | 'concurrent_idempotent_requests'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'rate_limit_exceeded'
  | 'daily_quota_exceeded'
  | 'security_error'
  | 'application_error'
  | 'internal_server_error';

export class HttpError extends Error {
  readonly statusCode: number;
  readonly errorName: ErrorName;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, errorName: ErrorName, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.errorName = errorName;
    this.headers = headers;
  }
}

export const badRequest = (message: string, name: ErrorName = 'validation_error') => new HttpError(400, name, message);
export const unprocessable = (message: string, name: ErrorName = 'validation_error') => new HttpError(422, name, message);
export const forbidden = (message: string, name: ErrorName = 'validation_error') => new HttpError(403, name, message);
export const notFound = (what = 'Resource') => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (name: ErrorName, message: string) => new HttpError(409, name, message);
export const tooManyRequests = (message = 'Too many requests. Please retry later.') =>
  new HttpError(429, 'rate_limit_exceeded', message, { 'retry-after': '1' });
/** A dependency failed in a way the client can retry; no internals in the message. */
export const serviceUnavailable = () => new HttpError(503, 'application_error', 'The service is temporarily unavailable. Please retry.');
