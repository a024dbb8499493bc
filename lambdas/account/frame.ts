/**
 * The console's email frame: `POST /emails/{id}/frame` (an API key with full access) mints a token
 * for one email of the caller's tenant; `GET /console/frame/{token}` (no key: an iframe cannot send
 * one) answers that email's HTML under its own Content-Security-Policy. docs/console.md explains
 * why a frame of its own URL rather than a `srcdoc` or `blob:` frame.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Routes } from '../core/http/api';
import { notFound } from '../core/errors';
import { parseJsonBody } from '../core/domain/email';
import { isId } from '../core/domain/ids';
import { FRAME_TOKEN_TTL_SECONDS, frameContentSecurityPolicy, frameSigningKey, mintFrameToken, readFrameToken } from '../core/domain/frame-token';
import type { EmailStore } from '../core/adapters/emails';
import type { KeyProvider } from '../core/adapters/secrets';
import type { Logger } from '../core/log';

/** The public route of the frame (lambdas/core/routes.ts); everything else goes through the API middleware. */
export const FRAME_ROUTE_KEY = 'GET /console/frame/{token}';

export interface FrameDeps {
  readonly emails: Pick<EmailStore, 'get'>;
  readonly keys: KeyProvider;
  readonly now?: () => number;
}

export function frameRoutes(deps: FrameDeps): Routes {
  const now = deps.now ?? Date.now;
  let key: Promise<Buffer> | undefined;
  const signingKey = () => (key ??= deps.keys.key().then(frameSigningKey));
  return {
    'POST /emails/{id}/frame': {
      permission: 'full_access',
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        const body = ctx.request.body.trim() === '' ? {} : parseJsonBody(ctx.request.body);
        const remote = typeof body === 'object' && body !== null && (body as { remote_content?: unknown }).remote_content === true;
        const email = isId(id) ? await deps.emails.get(ctx.auth.tenantId, id) : undefined;
        if (!email) throw notFound('Email');
        const expiresAt = Math.floor(now() / 1000) + FRAME_TOKEN_TTL_SECONDS;
        const token = mintFrameToken(await signingKey(), { tenantId: ctx.auth.tenantId, emailId: id, expiresAt, remote });
        // `token` is a field the request logs redact (domain/request-log.ts).
        return { statusCode: 200, body: { object: 'email_frame', token, expires_at: new Date(expiresAt * 1000).toISOString(), remote_content: remote } };
      },
    },
  };
}

const FRAME_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'private, no-store',
};

/** Errors in Resend's format, as every API answer (the frame shows them as they are). */
const refused = (statusCode: number, name: string, message: string): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { ...FRAME_HEADERS, 'content-type': 'application/json', 'content-security-policy': "default-src 'none'; frame-ancestors 'self'; sandbox" },
  body: JSON.stringify({ statusCode, name, message }),
});

/** The public frame handler: a valid token's email HTML, else a 404 that tells nothing more. */
export function createFrameHandler(deps: FrameDeps, log: Logger) {
  const now = deps.now ?? Date.now;
  let key: Promise<Buffer> | undefined;
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    try {
      const token = event.pathParameters?.token ?? '';
      const grant = readFrameToken(await (key ??= deps.keys.key().then(frameSigningKey)), token, Math.floor(now() / 1000));
      if (!grant) return refused(404, 'not_found', 'This preview has expired or is not valid: open the email again in the console.');
      const email = await deps.emails.get(grant.tenantId, grant.emailId);
      if (!email || email.html === undefined) return refused(404, 'not_found', 'Email not found.');
      return { statusCode: 200, headers: { ...FRAME_HEADERS, 'content-security-policy': frameContentSecurityPolicy(grant.remote) }, body: email.html };
    } catch (error) {
      key = undefined;
      log.error('email frame not served', { error });
      return refused(500, 'internal_server_error', 'An unexpected error occurred.');
    }
  };
}

/** The account function's handler: the frame route to the frame handler, every other route through the API middleware. */
export function withFrame<C, R>(
  api: (event: APIGatewayProxyEventV2, context: C) => Promise<R>,
  frame: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>,
): (event: APIGatewayProxyEventV2, context: C) => Promise<R | APIGatewayProxyStructuredResultV2> {
  return (event, context) => (event.routeKey === FRAME_ROUTE_KEY ? frame(event) : api(event, context));
}
