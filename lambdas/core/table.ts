/**
 * The one table definition. The CDK construct (lib/sesame-table.ts) and the local runner
 * (lambdas/local/runner.ts, test support) both build the table from this, so they cannot drift.
 *
 * Single-table layout. Every item has `pk` and `sk` (strings). Items that expire carry
 * `expires_at` (epoch seconds, the TTL attribute); reads also check it, since TTL deletes lazily.
 *
 * | item                 | pk                         | sk                  | notes                                  |
 * |----------------------|----------------------------|---------------------|----------------------------------------|
 * | tenant               | `T#<tenant>`               | `TENANT`            |                                        |
 * | API key by hash      | `KH#<sha256 of key>`       | `KEY`               | what the auth middleware reads         |
 * | API key by id        | `K#<key id>`               | `KEY`               | gsi1: `T#<tenant>#KEYS` / created      |
 * | domain by name       | `DN#<name>`                | `DOMAIN`            | the one owner of a name; gsi1 listing  |
 * | domain id -> name    | `D#<domain id>`            | `DOMAIN`            |                                        |
 * | domain zone marker   | `DZ#<last two labels>`     | `<labels reversed>` | finds a name's subdomains (see below)  |
 * | email (written once) | `E#<email id>`             | `META`              | gsi2 (keys only, sharded) for listing  |
 * | email status         | `E#<email id>`             | `STATUS`            | small: what status updates touch       |
 * | email body overflow  | `E#<email id>`             | `BODY#<n>`          | gzip chunks when the body is large     |
 * | SES message -> email | `M#<SES MessageId>`        | `MSG`               | fallback correlation for events        |
 * | email event (log)    | `E#<email id>`             | `EV#<time>#<event>` | insert-if-absent, once applied and fanned out |
 * | email recipient      | `E#<email id>`             | `R#<address>`       | conditional max by recipientKey        |
 * | idempotency record   | `I#<tenant>#<sha256(key)>` | `IDEM`              | 24 h                                   |
 * | webhook endpoint     | `WH#<webhook id>`          | `WEBHOOK`           | gsi1: `T#<tenant>#WEBHOOKS` / created  |
 * | webhook delivery     | `WD#<delivery id>`         | `DELIVERY`          | one event to one endpoint; see below   |
 * | delivery attempt     | `WD#<delivery id>`         | `A#<time>#<n>`      | status, duration, response; TTL        |
 *
 * Domains (lambdas/core/adapters/domains.ts). A name, its parent domains and its subdomains belong
 * to one tenant, checked with no scan and no transaction:
 * - `DN#<name>` is the claim: created with `attribute_not_exists(pk)`, so one create wins a name.
 *   Its `lifecycle` is `creating` (claimed, SES identity being made; no gsi1 yet), `active`
 *   (absent on older items) or `deleting`. gsi1 (`T#<tenant>#DOMAINS` / `<created>#<id>`) lists
 *   a tenant's active domains.
 * - `DZ#<last two labels>` / `<labels reversed>` (e.g. `DZ#example.com` / `com.example.mail`) marks
 *   a claimed name under the zone formed by its last two labels. Every subdomain of a name shares
 *   that name's last two labels, so its subdomains are one consistent Query on the base table:
 *   `begins_with(sk, '<name reversed>.')`. Parents are one consistent GetItem per label (`DN#...`).
 * - A create writes its claim and marker first, then reads for conflicts: of two concurrent creates
 *   of related names, the later reader sees the other, so both cannot win (both may lose, and retry).
 *
 * Webhooks (lambdas/core/adapters/webhooks.ts). An endpoint's signing secrets are sealed
 * (AES-256-GCM). A delivery is written by the deliver function at its first attempt, keyed by an
 * id derived from the event and the endpoint, so duplicates and replays land on the same item. It
 * is listed per endpoint through gsi2 (keys only, `WH#<webhook>#D#<shard>` / `<created>#<id>`,
 * sharded like emails so a busy endpoint is no hot partition); a failed one is also in gsi1
 * (`WH#<webhook>#FAILED#<shard>` / `<created>#<id>`, sparse: removed when replayed), which is
 * what `POST /webhooks/{id}/recover` reads. Deliveries and attempts expire after the retention.
 */

export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface IndexDefinition {
  readonly indexName: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly projection: 'ALL' | 'KEYS_ONLY';
}

export interface TableDefinition {
  readonly partitionKey: KeyAttribute;
  readonly sortKey: KeyAttribute;
  readonly timeToLiveAttribute: string;
  readonly globalSecondaryIndexes: readonly IndexDefinition[];
}

export const TABLE: TableDefinition = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expires_at',
  globalSecondaryIndexes: [
    // Small per-tenant collections (keys, domains, webhooks): full items, one partition per tenant and kind.
    { indexName: 'gsi1', partitionKey: { name: 'gsi1pk', type: 'S' }, sortKey: { name: 'gsi1sk', type: 'S' }, projection: 'ALL' },
    // A tenant's emails by time: keys only, spread over EMAIL_LIST_SHARDS partitions, merged on read.
    { indexName: 'gsi2', partitionKey: { name: 'gsi2pk', type: 'S' }, sortKey: { name: 'gsi2sk', type: 'S' }, projection: 'KEYS_ONLY' },
  ],
};

/**
 * Shards of a tenant's email list. A GSI partition takes about 1,000 writes per second; eight
 * shards keep a tenant sending 1,000 emails per second at an eighth of that, and a list call
 * costs eight small parallel queries.
 */
export const EMAIL_LIST_SHARDS = 8;

/** The zone partition of a name: its last two labels. Every subdomain of `name` has the same one. */
const domainZonePk = (name: string): string => `DZ#${name.split('.').slice(-2).join('.')}`;

export const keys = {
  tenant: (tenantId: string) => ({ pk: `T#${tenantId}`, sk: 'TENANT' }),
  keyByHash: (hash: string) => ({ pk: `KH#${hash}`, sk: 'KEY' }),
  keyById: (keyId: string) => ({ pk: `K#${keyId}`, sk: 'KEY' }),
  tenantKeys: (tenantId: string) => `T#${tenantId}#KEYS`,
  domainByName: (name: string) => ({ pk: `DN#${name}`, sk: 'DOMAIN' }),
  domainById: (domainId: string) => ({ pk: `D#${domainId}`, sk: 'DOMAIN' }),
  /** The zone marker of a domain name (see above); `name` has at least two labels. */
  domainZone: (name: string) => ({ pk: domainZonePk(name), sk: name.split('.').reverse().join('.') }),
  tenantDomains: (tenantId: string) => `T#${tenantId}#DOMAINS`,
  emailMeta: (emailId: string) => ({ pk: `E#${emailId}`, sk: 'META' }),
  emailStatus: (emailId: string) => ({ pk: `E#${emailId}`, sk: 'STATUS' }),
  emailBody: (emailId: string, n: number) => ({ pk: `E#${emailId}`, sk: `BODY#${String(n).padStart(3, '0')}` }),
  emailList: (tenantId: string, shard: number) => `T#${tenantId}#E#${shard}`,
  sesMessage: (messageId: string) => ({ pk: `M#${messageId}`, sk: 'MSG' }),
  /** One SES event of an email (time: fixedTime, so the log sorts oldest first). */
  emailEvent: (emailId: string, time: string, eventId: string) => ({ pk: `E#${emailId}`, sk: `EV#${time}#${eventId}` }),
  /** One recipient's state (address lower-cased). */
  emailRecipient: (emailId: string, address: string) => ({ pk: `E#${emailId}`, sk: `R#${address.toLowerCase()}` }),
  idempotency: (tenantId: string, keyHash: string) => ({ pk: `I#${tenantId}#${keyHash}`, sk: 'IDEM' }),
  webhook: (webhookId: string) => ({ pk: `WH#${webhookId}`, sk: 'WEBHOOK' }),
  tenantWebhooks: (tenantId: string) => `T#${tenantId}#WEBHOOKS`,
  webhookDelivery: (deliveryId: string) => ({ pk: `WD#${deliveryId}`, sk: 'DELIVERY' }),
  deliveryAttempt: (deliveryId: string, time: string, n: number) => ({ pk: `WD#${deliveryId}`, sk: `A#${time}#${String(n).padStart(3, '0')}` }),
  webhookDeliveries: (webhookId: string, shard: number) => `WH#${webhookId}#D#${shard}`,
  webhookFailed: (webhookId: string, shard: number) => `WH#${webhookId}#FAILED#${shard}`,
};
