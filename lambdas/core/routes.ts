/**
 * Every HTTP route and the function that serves it. The CDK API construct and the local runner
 * both read this list, so the deployed API and `npm start` serve the same routes.
 */

export type ApiFunction = 'send' | 'domains' | 'account' | 'snsHttps' | 'console';

/** API Gateway's catch-all route key: what no other route matches goes there. */
export const DEFAULT_ROUTE_KEY = '$default';

export interface ApiRoute {
  /** API Gateway v2 route key: `METHOD /path/{param}`, or DEFAULT_ROUTE_KEY. */
  readonly routeKey: string;
  readonly fn: ApiFunction;
}

/** Marked free of side effects, so that a bundle that never reads the table (ingest, deliver, ...) drops it. */
const route = /* @__NO_SIDE_EFFECTS__ */ (routeKey: string, fn: ApiFunction): ApiRoute => ({ routeKey, fn });

export const API_ROUTES: readonly ApiRoute[] = [
  route('POST /emails', 'send'),
  route('POST /emails/batch', 'send'),
  route('GET /emails', 'send'),
  route('GET /emails/metrics', 'send'),
  route('GET /emails/{id}', 'send'),
  route('GET /emails/{id}/events', 'send'),
  route('PATCH /emails/{id}', 'send'),
  route('POST /emails/{id}/cancel', 'send'),
  route('GET /emails/{id}/attachments', 'send'),
  route('GET /emails/{id}/attachments/{attachment_id}', 'send'),
  route('GET /emails/receiving', 'send'),
  route('GET /emails/receiving/{id}', 'send'),
  route('GET /emails/receiving/{id}/attachments', 'send'),
  route('GET /emails/receiving/{id}/attachments/{attachment_id}', 'send'),

  route('POST /domains', 'domains'),
  route('GET /domains', 'domains'),
  route('GET /domains/{id}', 'domains'),
  route('PATCH /domains/{id}', 'domains'),
  route('DELETE /domains/{id}', 'domains'),
  route('POST /domains/{id}/verify', 'domains'),

  route('POST /api-keys', 'account'),
  route('GET /api-keys', 'account'),
  route('PATCH /api-keys/{id}', 'account'),
  route('DELETE /api-keys/{id}', 'account'),
  route('POST /suppressions', 'account'),
  route('GET /suppressions', 'account'),
  route('GET /suppressions/{id}', 'account'),
  route('DELETE /suppressions/{id}', 'account'),
  route('POST /suppressions/batch/add', 'account'),
  route('POST /suppressions/batch/remove', 'account'),
  route('POST /webhooks', 'account'),
  route('GET /webhooks', 'account'),
  route('GET /webhooks/{id}', 'account'),
  route('PATCH /webhooks/{id}', 'account'),
  route('DELETE /webhooks/{id}', 'account'),
  route('GET /webhooks/{id}/events', 'account'),
  route('GET /webhooks/{id}/events/{event_id}', 'account'),
  route('GET /webhooks/{id}/events/{event_id}/attempts', 'account'),
  route('POST /webhooks/{id}/events/{event_id}/replay', 'account'),
  route('POST /webhooks/{id}/signing-secret/rotate', 'account'),
  route('POST /webhooks/{id}/recover', 'account'),
  route('POST /templates', 'account'),
  route('GET /templates', 'account'),
  route('GET /templates/{id}', 'account'),
  route('PATCH /templates/{id}', 'account'),
  route('DELETE /templates/{id}', 'account'),
  route('POST /templates/{id}/publish', 'account'),
  route('POST /templates/{id}/duplicate', 'account'),
  route('GET /logs', 'account'),
  route('GET /logs/{id}', 'account'),

  // The console (docs/console.md): its page and hashed assets from a function of their own (no AWS
  // access, no SDK), and an email's HTML frame: minted with a key, served by token (no key: an
  // iframe cannot send one), from the account function, which holds the secrets key it signs with.
  route('GET /', 'console'),
  route('GET /console/{asset}', 'console'),
  route('POST /emails/{id}/frame', 'account'),
  route('GET /console/frame/{token}', 'account'),

  // SNS over HTTPS, for accounts whose topic already points at an HTTP endpoint. No API key:
  // every message's signature and TopicArn are verified instead.
  route('POST /webhooks/ses', 'snsHttps'),

  // Unknown routes, other methods and paths that normalise to nothing: the account function has no
  // route of this key, so its shared middleware answers 404 in Resend's format, before any key check.
  route(DEFAULT_ROUTE_KEY, 'account'),
];

/**
 * What a configuration set stands for: the domain's open and click tracking, and its TLS choice
 * (Resend's `tls`; absent: opportunistic). The send function picks the set from the domain.
 */
export interface ConfigurationSetChoice {
  readonly open: boolean;
  readonly click: boolean;
  readonly tls?: 'opportunistic' | 'enforced';
}

/** Configuration set names: one per choice, all sharing a prefix (`sesame`, `sesame-open-click-tls`, ...). */
export function configurationSetName(prefix: string, choice: ConfigurationSetChoice): string {
  return `${prefix}${choice.open ? '-open' : ''}${choice.click ? '-click' : ''}${choice.tls === 'enforced' ? '-tls' : ''}`;
}

/** Every set the stack makes (and local mode answers for): each tracking choice, with TLS opportunistic and enforced. */
export const CONFIGURATION_SET_CHOICES: readonly Required<ConfigurationSetChoice>[] = /* @__PURE__ */ (['opportunistic', 'enforced'] as const).flatMap((tls) => [
  { open: false, click: false, tls },
  { open: true, click: false, tls },
  { open: false, click: true, tls },
  { open: true, click: true, tls },
]);
