/**
 * What every Sesame configuration set is, in SES v2's own names: the event types it publishes to
 * the events topic, its TLS policy, and no suppression options of its own. Read by the CDK construct that
 * makes the sets (lib/ses-events.ts), by local mode's SES endpoint, which answers for the same sets,
 * and by `npx sesame doctor`, which compares a deployed set against it. Pure: no AWS imports.
 */

/** SES v2's event types (the `EventType` of GetConfigurationSetEventDestinations). */
export type SesEventType =
  | 'SEND'
  | 'REJECT'
  | 'BOUNCE'
  | 'COMPLAINT'
  | 'DELIVERY'
  | 'DELIVERY_DELAY'
  | 'RENDERING_FAILURE'
  | 'SUBSCRIPTION'
  | 'OPEN'
  | 'CLICK';

/** Published by every configuration set. */
export const BASE_EVENT_TYPES: readonly SesEventType[] = [
  'SEND',
  'REJECT',
  'BOUNCE',
  'COMPLAINT',
  'DELIVERY',
  'DELIVERY_DELAY',
  'RENDERING_FAILURE',
  'SUBSCRIPTION',
];

/**
 * The event types of a configuration set. SES inserts the open-tracking pixel only when an event
 * destination of the set matches OPEN, and rewrites links only when one matches CLICK: the event
 * types ARE the tracking switch. So a set publishes OPEN and CLICK exactly when its tracking choice
 * asks for them, and the send function picks the set that matches the domain's tracking settings.
 */
export function publishedEventTypes(tracking: { readonly open: boolean; readonly click: boolean }): SesEventType[] {
  return [...BASE_EVENT_TYPES, ...(tracking.open ? (['OPEN'] as const) : []), ...(tracking.click ? (['CLICK'] as const) : [])];
}

/**
 * DeliveryOptions.TlsPolicy: REQUIRE for a domain whose `tls` is `enforced` (SES delivers only over
 * TLS, and an email whose receiving server cannot do TLS is not delivered), OPTIONAL otherwise.
 */
export type SesTlsPolicy = 'REQUIRE' | 'OPTIONAL';

export const tlsPolicyFor = (choice: { readonly tls?: 'opportunistic' | 'enforced' }): SesTlsPolicy => (choice.tls === 'enforced' ? 'REQUIRE' : 'OPTIONAL');

/**
 * The reasons a suppression list takes: hard bounces and complaints. Sesame's configuration sets
 * have NO suppression options: a set's own options override the tenant's suppression scope, and
 * each Sesame tenant's SES tenant keeps its own list for these reasons (TENANT_SUPPRESSION in
 * ses-tenants.ts). The account's list, with these reasons, covers mail sent without a tenant.
 */
export const SUPPRESSED_REASONS = ['BOUNCE', 'COMPLAINT'] as const;
