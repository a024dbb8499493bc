/**
 * /logs: the caller's tenant's recent API requests, in Resend's wire format, newest first. Each
 * log also names the key that made the request (`api_key_id`, `api_key_name`).
 */
import type { Routes } from '../core/http/api';
import { HttpError, notFound } from '../core/errors';
import { isId } from '../core/domain/ids';
import type { RequestLogStore, RequestLogSummary } from '../core/adapters/request-logs';

export interface LogRouteDeps {
  readonly logs: Pick<RequestLogStore, 'list' | 'get'>;
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 100) throw new HttpError(422, 'validation_error', 'The `limit` parameter must be an integer between 1 and 100.');
  return n;
}

function summaryBody(log: RequestLogSummary) {
  return {
    id: log.id,
    created_at: log.createdAt,
    endpoint: log.endpoint,
    method: log.method,
    response_status: log.status,
    user_agent: log.userAgent,
    api_key_id: log.keyId,
    api_key_name: log.keyName,
  };
}

export function logRoutes(deps: LogRouteDeps): Routes {
  return {
    'GET /logs': {
      permission: 'full_access',
      async handle(ctx) {
        const { after, before } = ctx.request.query;
        const limit = parseLimit(ctx.request.query.limit);
        if (after !== undefined && before !== undefined) throw new HttpError(422, 'validation_error', 'Use either `after` or `before`, not both.');
        const cursor = after ?? before;
        if (cursor !== undefined && !isId(cursor)) throw new HttpError(422, 'validation_error', 'The cursor must be a log id.');
        const page = await deps.logs.list(ctx.auth.tenantId, { limit, ...(after ? { after } : {}), ...(before ? { before } : {}) });
        return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map(summaryBody) } };
      },
    },

    'GET /logs/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const found = await deps.logs.get(ctx.auth.tenantId, ctx.request.params.id ?? '');
        if (!found) throw notFound('Log');
        return { statusCode: 200, body: { object: 'log', ...summaryBody(found), request_body: found.requestBody, response_body: found.responseBody } };
      },
    },
  };
}
