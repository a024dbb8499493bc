/**
 * The console's pages: `GET /` (the one HTML page; the console navigates by hash routes, so a
 * reload never lands on an API route) and `GET /console/{asset}` (hashed script and stylesheet).
 * No AWS access and no SDK: a small function with a small cold start. Every answer carries the
 * strict Content-Security-Policy below; the page has no inline script or style at all.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ASSET_PREFIX, type ConsoleAssets } from './assets';

/** The console page's policy: its own script, style and API only; frames only of its own origin (the email frame). */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface ConsoleOptions {
  /** Local mode's SES mailbox page, linked from the console. */
  readonly mailboxUrl?: string;
}

const escapeAttribute = (value: string) => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page: a shell the script fills in. */
export function consolePage(assets: ConsoleAssets, options: ConsoleOptions = {}): string {
  const mailbox = options.mailboxUrl ? `<meta name="sesame-mailbox" content="${escapeAttribute(options.mailboxUrl)}">` : '';
  return '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>Sesame console</title>${mailbox}<link rel="icon" href="data:,">` +
    `<link rel="stylesheet" href="${ASSET_PREFIX}${assets.stylesheet}">` +
    `<script defer src="${ASSET_PREFIX}${assets.script}"></script></head>` +
    '<body><noscript>The Sesame console needs JavaScript.</noscript><div id="app"></div></body></html>';
}

const notFound = (): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 404,
  headers: { 'content-type': 'application/json', ...SECURITY_HEADERS },
  body: JSON.stringify({ statusCode: 404, name: 'not_found', message: 'The requested endpoint does not exist.' }),
});

/** The console function's handler over built assets. */
export function createConsoleHandler(assets: ConsoleAssets, options: ConsoleOptions = {}) {
  const page = consolePage(assets, options);
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    if (event.routeKey === 'GET /') {
      return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', ...SECURITY_HEADERS }, body: page };
    }
    const name = event.pathParameters?.asset ?? '';
    const asset = Object.hasOwn(assets.files, name) ? assets.files[name] : undefined;
    if (event.routeKey !== 'GET /console/{asset}' || !asset) return notFound();
    return {
      statusCode: 200,
      headers: { 'content-type': asset.contentType, 'cache-control': 'public, max-age=31536000, immutable', ...SECURITY_HEADERS },
      body: asset.body,
    };
  };
}
