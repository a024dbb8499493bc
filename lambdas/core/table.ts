/**
 * The one table definition. The CDK construct (lib/sesame-table.ts) and the local runner
 * (lambdas/local/runner.ts, test support) both build the table from this, so they cannot drift.
 *
 * Single-table layout. Every item has `pk` and `sk` (strings). Items that expire carry
 * `expires_at` (epoch seconds, the TTL attribute); reads also check it, since TTL deletes lazily.
 *
 * | item                 | pk                         | sk                  | notes                                  |
 * |----------------------|----------------------------|---------------------|----------------------------------------|
 * | tenant               | `T#<tenant>`               | `TENANT`            | gsi1: `TENANTS` / created (admin list) |
 * | tenant name claim    | `TN#<name>`                | `TENANT_NAME`       | `npx sesame tenants create` resumes    |
 * | API key by hash      | `KH#<sha256 of key>`       | `KEY`               | what the auth middleware reads         |
 * | API key by id        | `K#<key id>`               | `KEY`               | gsi1: `T#<tenant>#KEYS` / created      |
 * | domain by name       | `DN#<name>`                | `DOMAIN`            | the one owner of a name; gsi1 listing; gsi2 `DCHECK` / `<due>#<name>` while the verifier must look at it |
 * | domain id -> name    | `D#<domain id>`            | `DOMAIN`            |                                        |
 * | domain zone marker   | `DZ#<last two labels>`     | `<labels reversed>` | finds a name's subdomains (see below)  |
 * | email (written once) | `E#<email id>`             | `META`              | gsi2 (keys only, sharded) for listing; `sending_at` mark |
 * | email status         | `E#<email id>`             | `STATUS`            | one versioned write per SES event; gsi2 `M#<MessageId>` |
 * | email body overflow  | `E#<email id>`             | `BODY#<n>`          | gzip chunks when the body is large     |
 * | email event (spilled)| `E#<email id>`             | `EV#<time>#<event>` | an event that did not fit in STATUS    |
 * | SES message -> email | `M#<SES MessageId>`        | `MSG`               | previous layout only (read, no longer written) |
 * | email recipient      | `E#<email id>`             | `R#<address>`       | previous layout only (read, no longer written) |
 * | idempotency record   | `I#<tenant>#<sha256(key)>` | `IDEM`              | 24 h                                   |
 * | webhook endpoint     | `WH#<webhook id>`          | `WEBHOOK`           | gsi1: `T#<tenant>#WEBHOOKS` / created  |
 * | webhook delivery     | `WH#<webhook>#WD#<shard>`  | `WD#<delivery id>`  | one event to one endpoint; see below   |
 * | delivery attempt     | `WD#<delivery id>`         | `A#<time>#<n>`      | later attempts; TTL                    |
 * | (earlier layout)     | `WD#<delivery id>`         | `DELIVERY`          | read until it expires; see below       |
 * | template             | `TPL#<template id>`        | `TEMPLATE`          | gsi1: `T#<tenant>#TEMPLATES` / created |
 * | template version     | `TPL#<template id>`        | `V#<version id>`    | immutable content, gzipped             |
 * | template alias       | `TA#<tenant>#<alias>`      | `ALIAS`             | the one template holding an alias      |
 * | request log          | `RL#<tenant>#<shard>`      | `RL#<log id>`       | one per API request; TTL; see below    |
 * | metric counters      | `MC#<tenant>#<shard>`      | `H#<hour, UTC>`     | ADDed once per ingest batch; see below |
 * | suppression claim    | `SE#<tenant>#<address>`    | `SUPPRESSION`       | one per lower-cased address; gsi1 by origin |
 * | suppression by id    | `SU#<suppression id>`      | `SUPPRESSION`       | gsi1: `T#<tenant>#SUPPRESSIONS` / created |
 * | received email       | `RE#<received email id>`   | `RECEIVED`          | written once; gsi2 (keys only, sharded) for listing |
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
 * - Automatic verification: a domain that may still verify on its own, or whose last event waits in
 *   its `outbox`, carries a sparse gsi2 entry `DCHECK` / `<due time ISO>#<name>`; the verifier
 *   queries the entries due by now (lambdas/verify-domains), so no scan finds pending domains.
 *
 * Emails (lambdas/core/adapters/emails.ts, email-status.ts, events.ts; docs/architecture.md). META is
 * written once, with the `sending` mark, before SendEmail. STATUS takes one write conditioned on its
 * version per SES event (and one by the send after SES answers): recipients' states, applied event
 * ids and the event log while it fits under 1 KB; events past that are `EV#` items. Once the SES
 * MessageId is known, STATUS carries a keys-only gsi2 entry (`M#<MessageId>` / `MSG`) that finds the
 * email of an event without tags. `M#` items and `R#` items are the previous layout's, still read.
 * A STATUS item whose email failed, bounced or was complained about also carries a sparse, keys-only
 * gsi3 entry (`T#<tenant>#P#<status>` / `<event time>#<email id>`, domain/problem-index.ts): the
 * console's filter (`GET /emails?status=bounced`) reads it, with no scan and no write for other emails.
 *
 * Webhooks: endpoints (lambdas/core/adapters/endpoints.ts) and deliveries
 * (lambdas/core/adapters/deliveries.ts). An endpoint's signing secrets are sealed (AES-256-GCM).
 * A delivery is one item, written by the deliver function after its first attempt and holding that
 * attempt; later attempts are items of their own (`WD#<id>` / `A#...`). Its id is derived from the
 * event and the endpoint, time-ordered by the event's time (a version-7 layout), so duplicates and
 * replays land on the same item and an endpoint's deliveries are listed from the base table: the
 * item lives in one of DELIVERY_SHARDS partitions of its endpoint (`WH#<webhook>#WD#<shard>`, the
 * shard from the id's hash bits, so a busy endpoint is no hot partition) under `WD#<id>`, which
 * sorts by time. No index entry is written. `POST /webhooks/{id}/recover` reads the endpoint's
 * deliveries since a time and keeps the failed ones. Deliveries and attempts expire after the
 * retention. Deliveries of the earlier layout (`WD#<id>` / `DELIVERY`, listed through gsi2 and, when
 * failed, gsi1; random-looking version-8 ids) are still read, replayed and retried where they are
 * until they expire.
 *
 * Templates (lambdas/core/adapters/templates.ts). The template item holds the name, the alias, and
 * which version is the draft and which is published; it is small, so the tenant's gsi1 listing
 * carries no content. Each edit writes a new immutable version item and moves the draft pointer
 * under a condition on the template's `revision`; publishing moves the published pointer the same
 * way. A send reads the template item, then its published version. An alias is held by
 * `TA#<tenant>#<alias>`, created if absent before the template item points at it, so two templates
 * of a tenant never share one; a marker whose template does not point back is stale and reclaimable.
 *
 * Request logs (lambdas/core/adapters/request-logs.ts): one item per API request, put once, expiring
 * after the log retention, in one of REQUEST_LOG_SHARDS partitions of its tenant under its
 * time-ordered id: a tenant's logs are listed newest first by merging one Query per shard.
 *
 * Metric counters (lambdas/core/adapters/metric-counters.ts): one item per tenant, UTC hour and
 * METRIC_SHARDS shard, whose number attributes are the counts; ingestion ADDs to it, a read Queries
 * each shard over the range's hours. The STATUS write that applies an event tells whether it is the
 * email's first of its type (the unique opens and clicks).
 *
 * Received emails (lambdas/core/adapters/received-emails.ts, docs/inbound.md). One item per tenant
 * and SES message, its id derived from both, put once with `attribute_not_exists(pk)`: a redelivered
 * receipt event finds it and changes nothing. Listed like emails, through sharded keys-only gsi2
 * entries (`T#<tenant>#RE#<shard>` / `<created_at>#<id>`).
 *
 * Suppressions (lambdas/core/adapters/suppressions.ts). A tenant's suppression list beside its SES
 * tenant's list, in Resend's shape. The claim `SE#<tenant>#<lower-cased address>` is written with
 * `attribute_not_exists(pk)`, so an address is on a tenant's list once; it keeps the address in the
 * case SES stores. The item by id `SU#<id>` is written once SES holds the address, and lists the
 * tenant's suppressions through gsi1; the claim is listed per origin through gsi1
 * (`T#<tenant>#SUPPRESSIONS#<origin>`) from then on. Both never change once complete.
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
    // Sparse: only the STATUS items of failed, bounced and complained emails (domain/problem-index.ts).
    { indexName: 'gsi3', partitionKey: { name: 'gsi3pk', type: 'S' }, sortKey: { name: 'gsi3sk', type: 'S' }, projection: 'KEYS_ONLY' },
  ],
};

/**
 * Shards of a tenant's email list. A GSI partition takes about 1,000 writes per second; eight
 * shards keep a tenant sending 1,000 emails per second at an eighth of that, and a list call
 * costs eight small parallel queries.
 */
export const EMAIL_LIST_SHARDS = 8;

/** Partitions of one endpoint's deliveries (as for emails: a busy endpoint is no hot partition). */
export const DELIVERY_SHARDS = EMAIL_LIST_SHARDS;

/**
 * Partitions of a tenant's request logs (lambdas/core/adapters/request-logs.ts): the shard comes
 * from the log id's hash bits, ids are time-ordered, so a listing merges one Query per shard.
 */
export const REQUEST_LOG_SHARDS = 8;

/** The shard of a request log: from the id's last (random) byte. */
export const requestLogShard = (logId: string): number => parseInt(logId.slice(-2), 16) % REQUEST_LOG_SHARDS;

/**
 * Partitions of a tenant's metric counters (lambdas/core/adapters/metric-counters.ts): an event
 * counts in the shard of its email, so at 1,000 emails a second (a few events each) no counter item
 * takes more than a few hundred writes a second; a read merges one Query per shard.
 */
export const METRIC_SHARDS = 16;

/** The counter shard of an email: from its id's last (random or hash) byte. */
export const metricShard = (emailId: string): number => parseInt(emailId.slice(-2), 16) % METRIC_SHARDS;

/** The zone partition of a name: its last two labels. Every subdomain of `name` has the same one. */
const domainZonePk = (name: string): string => `DZ#${name.split('.').slice(-2).join('.')}`;

export const keys = {
  tenant: (tenantId: string) => ({ pk: `T#${tenantId}`, sk: 'TENANT' }),
  tenantName: (name: string) => ({ pk: `TN#${name}`, sk: 'TENANT_NAME' }),
  /** gsi1 partition of every tenant: the admin tool's list (a few thousand at most). */
  allTenants: 'TENANTS',
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
  /** The sparse gsi3 partition of a tenant's emails whose worst state is `status` (failed, bounced, complained). */
  tenantProblems: (tenantId: string, status: string) => `T#${tenantId}#P#${status}`,
  /** Before the one-write layout: the MessageId map item. Still read for emails it wrote. */
  sesMessage: (messageId: string) => ({ pk: `M#${messageId}`, sk: 'MSG' }),
  /** The gsi2 partition of an SES MessageId (on the STATUS item; gsi2sk `MSG`). */
  sesMessageIndex: (messageId: string) => `M#${messageId}`,
  /** One SES event of an email (time: fixedTime, so the log sorts oldest first). */
  emailEvent: (emailId: string, time: string, eventId: string) => ({ pk: `E#${emailId}`, sk: `EV#${time}#${eventId}` }),
  /** One recipient's state (address lower-cased). */
  emailRecipient: (emailId: string, address: string) => ({ pk: `E#${emailId}`, sk: `R#${address.toLowerCase()}` }),
  idempotency: (tenantId: string, keyHash: string) => ({ pk: `I#${tenantId}#${keyHash}`, sk: 'IDEM' }),
  webhook: (webhookId: string) => ({ pk: `WH#${webhookId}`, sk: 'WEBHOOK' }),
  tenantWebhooks: (tenantId: string) => `T#${tenantId}#WEBHOOKS`,
  /** A delivery (time-ordered id) under its endpoint. */
  webhookDelivery: (webhookId: string, deliveryId: string) => ({ pk: `WH#${webhookId}#WD#${deliveryShard(deliveryId)}`, sk: `WD#${deliveryId}` }),
  /** One partition of an endpoint's deliveries. */
  webhookDeliveryShard: (webhookId: string, shard: number) => `WH#${webhookId}#WD#${shard}`,
  /** A delivery of the earlier layout (version-8 id), and the partition of every delivery's spilled attempts. */
  legacyWebhookDelivery: (deliveryId: string) => ({ pk: `WD#${deliveryId}`, sk: 'DELIVERY' }),
  /** The partition of a delivery's attempts after its first. */
  deliveryAttempts: (deliveryId: string) => `WD#${deliveryId}`,
  deliveryAttempt: (deliveryId: string, time: string, n: number) => ({ pk: `WD#${deliveryId}`, sk: `A#${time}#${String(n).padStart(3, '0')}` }),
  /** Earlier layout: gsi2 listing and gsi1 failed entries of an endpoint's deliveries. */
  legacyWebhookDeliveries: (webhookId: string, shard: number) => `WH#${webhookId}#D#${shard}`,
  legacyWebhookFailed: (webhookId: string, shard: number) => `WH#${webhookId}#FAILED#${shard}`,
  template: (templateId: string) => ({ pk: `TPL#${templateId}`, sk: 'TEMPLATE' }),
  templateVersion: (templateId: string, versionId: string) => ({ pk: `TPL#${templateId}`, sk: `V#${versionId}` }),
  templateAlias: (tenantId: string, alias: string) => ({ pk: `TA#${tenantId}#${alias}`, sk: 'ALIAS' }),
  tenantTemplates: (tenantId: string) => `T#${tenantId}#TEMPLATES`,
  requestLog: (tenantId: string, logId: string) => ({ pk: `RL#${tenantId}#${requestLogShard(logId)}`, sk: `RL#${logId}` }),
  requestLogShard: (tenantId: string, shard: number) => `RL#${tenantId}#${shard}`,
  /** One hour (UTC, `YYYY-MM-DDTHH`) of one shard of a tenant's metric counters. */
  metricCounter: (tenantId: string, shard: number, hour: string) => ({ pk: `MC#${tenantId}#${shard}`, sk: `H#${hour}` }),
  metricCounterShard: (tenantId: string, shard: number) => `MC#${tenantId}#${shard}`,
  /** A tenant's claim on a suppressed address (any case of it). */
  suppressionByAddress: (tenantId: string, address: string) => ({ pk: `SE#${tenantId}#${address.toLowerCase()}`, sk: 'SUPPRESSION' }),
  suppressionById: (suppressionId: string) => ({ pk: `SU#${suppressionId}`, sk: 'SUPPRESSION' }),
  /** gsi1 partition of a tenant's suppressions, all of them or those of one origin. */
  receivedEmail: (emailId: string) => ({ pk: `RE#${emailId}`, sk: 'RECEIVED' }),
  /** gsi2 partition of one shard of a tenant's received emails. */
  receivedList: (tenantId: string, shard: number) => `T#${tenantId}#RE#${shard}`,
  tenantSuppressions: (tenantId: string, origin?: string) => `T#${tenantId}#SUPPRESSIONS${origin === undefined ? '' : `#${origin}`}`,
};

/** The shard of a delivery: from the id's last (hash) byte; earlier-layout ids from their first. */
export function deliveryShard(deliveryId: string): number {
  const hex = deliveryId[14] === '7' ? deliveryId.slice(-2) : deliveryId.slice(0, 2);
  return parseInt(hex, 16) % DELIVERY_SHARDS;
}

// Key parsers, beside the builders they invert.

/** `E#<id>` -> the email id. */
export const emailIdOfPk = (pk: string): string => pk.slice('E#'.length);

/** A list sort key `<created_at>#<id>` (gsi2 of emails and earlier-layout deliveries) -> its parts. */
export function parseListSortKey(sk: string): { readonly createdAt: string; readonly id: string } {
  const at = sk.lastIndexOf('#');
  return { createdAt: sk.slice(0, at), id: sk.slice(at + 1) };
}

/** `WD#<id>` (a delivery's sort key, or an earlier-layout delivery's partition key) -> the delivery id. */
export const deliveryIdOfKey = (key: string): string => key.slice('WD#'.length);

/** `WH#<webhook>#WD#<shard>` (the partition of an endpoint's deliveries) -> the endpoint's id. */
export const webhookIdOfDeliveryKey = (pk: string): string => pk.slice('WH#'.length, pk.lastIndexOf('#WD#'));
