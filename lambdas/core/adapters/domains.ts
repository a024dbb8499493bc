/**
 * Domains as the data model holds them. The item keyed by name (`DN#<name>`) is the one owner
 * of that name and what the send path reads; `D#<id>` maps an id back to the name; the zone
 * marker `DZ#<last two labels>` / `<labels reversed>` lets a create find a name's subdomains.
 * lambdas/core/table.ts describes the items and why the ownership check needs no transaction.
 *
 * Every write is one item under a condition. A create: claim (`DN#`, lifecycle `creating`) ->
 * zone marker -> conflict check -> (SES) -> `D#<id>` -> activate (`DN#`, lifecycle `active`, gsi1).
 * A delete: `DN#` to `deleting` (sends stop, out of the listing) -> (SES) -> marker, `D#`, `DN#` gone.
 *
 * Domain events: a write that changes what a domain says (activate, a status or settings change)
 * bumps its `version`, on condition that the version is the one read, and keeps the event it causes
 * in the item's `outbox` in the same write. The event is queued next and the outbox cleared; if that
 * does not happen (a crash, SQS failing), the outbox is still there and the verifier queues it (the
 * same event id and time: the same deliveries). A writer queues a waiting outbox before its own
 * change, so an outbox is never overwritten (its write would have bumped the version).
 *
 * Automatic checks: a domain the verifier must look at carries `gsi2pk = DCHECK` and
 * `gsi2sk = <due time>#<name>` (a sparse entry in the keys-only gsi2): while it may still verify on
 * its own, and while its outbox waits. The verifier queries the entries that are due; nothing scans.
 */
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../table';
import { isRecordKind, parentDomains } from '../domain/dns';
import type { DnsRecord, DomainStatus } from '../domain/dns';
import type { DomainEvent } from '../domain/domain-events';
import type { PublishedRecords, ZoneRecord } from '../domain/route53-records';
import type { DomainEventType } from '../domain/applied-event';
import { type Db, isConditionFailure, queryItems } from './dynamo';

export type { DnsRecord, DomainStatus } from '../domain/dns';

/** Resend's `tls`: `enforced` sends only over TLS (the configuration set's TlsPolicy REQUIRE). */
export type TlsMode = 'opportunistic' | 'enforced';

export interface DomainRecord {
  readonly id: string;
  readonly name: string;
  readonly tenantId: string;
  readonly status: DomainStatus;
  /** SES's VerifiedForSendingStatus, as last read. The send path refuses a domain without it. */
  readonly verifiedForSending: boolean;
  readonly region: string;
  readonly openTracking: boolean;
  readonly clickTracking: boolean;
  /** Absent on domains stored before TLS could be chosen: opportunistic. */
  readonly tls?: TlsMode;
  readonly customReturnPath: string;
  readonly records: readonly DnsRecord[];
  readonly createdAt: string;
  /** The records Sesame wrote into the domain's Route 53 zone itself (opt-in), which its delete removes. */
  readonly route53?: PublishedRecords;
  /** Resend's `capabilities.receiving`: mail to the domain is received (absent: disabled). */
  readonly receiving?: boolean;
  /** MX records the domain had in its Route 53 zone when receiving was turned on (another provider's mail). */
  readonly existingMx?: readonly string[];
}

/** `creating`: claimed, not usable yet; `active`; `deleting`: on its way out, invisible to reads. */
export type DomainLifecycle = 'creating' | 'active' | 'deleting';

export interface StoredDomain extends DomainRecord {
  readonly lifecycle: DomainLifecycle;
  /** Bumped by every write that causes an event; the condition of the next one. 0 when never written. */
  readonly version: number;
  /** The event of the last change, until it is queued. */
  readonly outbox?: DomainEvent;
  /** When its delete began (the time of its `domain.deleted`). */
  readonly deletingAt?: string;
}

/** The partition of the sparse gsi2 entries of domains the verifier must look at. */
export const DOMAIN_CHECKS_PK = 'DCHECK';

const checkEntry = (name: string, atMs: number) => ({ gsi2pk: DOMAIN_CHECKS_PK, gsi2sk: `${new Date(atMs).toISOString()}#${name}` });

/**
 * A claim left in `creating` this long is abandoned (its create crashed): another create may take
 * the name over, and the ownership check ignores it. Far longer than the function's timeout.
 */
export const STALE_CLAIM_MS = 15 * 60 * 1000;

export function toDomainItem(d: DomainRecord): Record<string, unknown> {
  return {
    ...(d.tls !== undefined ? { tls: d.tls } : {}),
    ...(d.route53 !== undefined ? { route53: { zone_id: d.route53.zoneId, records: d.route53.records } } : {}),
    ...(d.receiving ? { receiving: true } : {}),
    ...keys.domainByName(d.name), kind: 'domain',
    domain_id: d.id, name: d.name, tenant_id: d.tenantId, status: d.status,
    verified_for_sending: d.verifiedForSending, region: d.region,
    open_tracking: d.openTracking, click_tracking: d.clickTracking,
    custom_return_path: d.customReturnPath, records: d.records, created_at: d.createdAt,
    lifecycle: 'active',
    gsi1pk: keys.tenantDomains(d.tenantId), gsi1sk: `${d.createdAt}#${d.id}`,
  };
}

export function fromDomainItem(i: Record<string, unknown>): StoredDomain {
  return {
    id: i.domain_id as string, name: i.name as string, tenantId: i.tenant_id as string,
    status: i.status as DomainStatus, verifiedForSending: i.verified_for_sending === true,
    region: i.region as string, openTracking: i.open_tracking === true, clickTracking: i.click_tracking === true,
    customReturnPath: (i.custom_return_path as string | undefined) ?? 'send',
    // Items written before DMARC became its own field list it among the records: it is dropped here.
    records: ((i.records as DnsRecord[] | undefined) ?? []).filter((r) => isRecordKind(r.record)), createdAt: i.created_at as string,
    ...(i.tls === 'enforced' || i.tls === 'opportunistic' ? { tls: i.tls } : {}),
    ...(i.route53 !== undefined ? { route53: fromRoute53(i.route53 as Record<string, unknown>) } : {}),
    ...(i.receiving === true ? { receiving: true } : {}),
    ...(Array.isArray(i.existing_mx) ? { existingMx: i.existing_mx as string[] } : {}),
    lifecycle: (i.lifecycle as DomainLifecycle | undefined) ?? 'active',
    version: typeof i.version === 'number' ? i.version : 0,
    ...(i.outbox !== undefined ? { outbox: fromOutbox(i.outbox as Record<string, unknown>, i.tenant_id as string) } : {}),
    ...(typeof i.deleting_at === 'string' ? { deletingAt: i.deleting_at } : {}),
  };
}

const fromRoute53 = (r: Record<string, unknown>): PublishedRecords => ({ zoneId: r.zone_id as string, records: (r.records as ZoneRecord[] | undefined) ?? [] });

const toOutbox = (e: DomainEvent) => ({ event_id: e.eventId, type: e.type, created_at: e.timestamp, payload: e.payload });
const fromOutbox = (o: Record<string, unknown>, tenantId: string): DomainEvent => ({
  eventId: o.event_id as string, tenantId, type: o.type as DomainEventType, timestamp: o.created_at as string, payload: o.payload as string,
});

const zoneMarkerItem = (d: Pick<DomainRecord, 'id' | 'name' | 'tenantId'>) => ({
  ...keys.domainZone(d.name), kind: 'domain_zone', domain_id: d.id, name: d.name, tenant_id: d.tenantId,
});

export type ClaimResult = { readonly claimed: true } | { readonly claimed: false; readonly holder?: StoredDomain };

export type Conflict = 'parent' | 'subdomain';

export interface StatusUpdate {
  readonly status: DomainStatus;
  readonly verifiedForSending: boolean;
  readonly records: readonly DnsRecord[];
}

export interface SettingsUpdate {
  readonly openTracking?: boolean;
  readonly clickTracking?: boolean;
  readonly tls?: TlsMode;
  readonly receiving?: boolean;
  /** With `receiving`: the MX records found in the domain's zone (an empty list: none; absent: not looked up). */
  readonly existingMx?: readonly string[];
}

/** What a change does besides itself: the event it causes, and when the verifier looks next. */
export interface ChangeEffects {
  /** Kept in the outbox in the same write. */
  readonly event?: DomainEvent;
  /** The verifier's next look (epoch ms); undefined: none. With an event, the time to queue it again if it is still waiting. */
  readonly checkAt?: number;
}

export class DomainStore {
  constructor(private readonly db: Db) {}

  private async getItem(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: key, ConsistentRead: true }));
    return Item;
  }

  /** The domain that holds `name`, for the send gate. A domain being deleted no longer counts. */
  async getByName(name: string): Promise<DomainRecord | undefined> {
    const stored = await this.getStoredByName(name);
    return stored && stored.lifecycle !== 'deleting' ? stored : undefined;
  }

  async getStoredByName(name: string): Promise<StoredDomain | undefined> {
    const item = await this.getItem(keys.domainByName(name.toLowerCase()));
    return item ? fromDomainItem(item) : undefined;
  }

  /** The active domain with this id (of any tenant: callers check the tenant). */
  async getById(id: string): Promise<StoredDomain | undefined> {
    const stored = await this.getStoredById(id);
    return stored?.lifecycle === 'active' ? stored : undefined;
  }

  /** The domain with this id in any lifecycle; undefined when its name now belongs to another id. */
  async getStoredById(id: string): Promise<StoredDomain | undefined> {
    const byId = await this.getItem(keys.domainById(id));
    if (!byId) return undefined;
    const stored = await this.getStoredByName(byId.name as string);
    return stored?.id === id ? stored : undefined;
  }

  /** A tenant's active domains, newest first (a small collection: one gsi1 partition). */
  async list(tenantId: string): Promise<DomainRecord[]> {
    const items = await queryItems(this.db, {
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.tenantDomains(tenantId) },
      ScanIndexForward: false,
    });
    return items.map(fromDomainItem).filter((d) => d.lifecycle === 'active');
  }

  /**
   * Every tenant's active domains, for the operator (`npx sesame doctor`), never for a request:
   * a Scan of gsi1, the index of the small per-tenant collections (keys, domains, webhooks), so it
   * reads neither emails nor events, and filtered to domain items.
   */
  async listEveryTenant(): Promise<DomainRecord[]> {
    const domains: DomainRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.doc.send(new ScanCommand({
        TableName: this.db.table,
        IndexName: 'gsi1',
        FilterExpression: 'kind = :domain',
        ExpressionAttributeValues: { ':domain': 'domain' },
        ExclusiveStartKey: start,
      }));
      domains.push(...(page.Items ?? []).map(fromDomainItem).filter((d) => d.lifecycle === 'active'));
      start = page.LastEvaluatedKey;
    } while (start);
    return domains.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * Claims `domain.name` for its tenant: the name's item, in lifecycle `creating`, written only
   * if no item holds the name (or an abandoned claim does), then the name's zone marker.
   * Not claimed: `holder` is who holds it.
   */
  async claim(domain: DomainRecord): Promise<ClaimResult> {
    const now = this.db.now();
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: {
          ...keys.domainByName(domain.name), kind: 'domain',
          domain_id: domain.id, name: domain.name, tenant_id: domain.tenantId, status: domain.status,
          verified_for_sending: false, region: domain.region,
          open_tracking: domain.openTracking, click_tracking: domain.clickTracking,
          custom_return_path: domain.customReturnPath, records: [], created_at: domain.createdAt,
          lifecycle: 'creating', claimed_at: now,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR (lifecycle = :creating AND claimed_at < :stale)',
        ExpressionAttributeValues: { ':creating': 'creating', ':stale': now - STALE_CLAIM_MS },
      }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const holder = await this.getStoredByName(domain.name);
      return holder ? { claimed: false, holder } : { claimed: false };
    }
    try {
      await this.db.doc.send(new PutCommand({ TableName: this.db.table, Item: zoneMarkerItem(domain) }));
    } catch (error) {
      await this.release(domain).catch(() => undefined);
      throw error;
    }
    return { claimed: true };
  }

  /**
   * Whether another tenant holds a parent or a subdomain of `name`. Call it after `claim`, which
   * wrote this create's own items first (see table.ts). Reads are consistent; an abandoned claim
   * does not count.
   */
  async findConflict(name: string, tenantId: string): Promise<Conflict | undefined> {
    const now = this.db.now();
    const blocks = (item: Record<string, unknown> | undefined): boolean => {
      if (!item || item.tenant_id === tenantId) return false;
      return !(item.lifecycle === 'creating' && typeof item.claimed_at === 'number' && item.claimed_at < now - STALE_CLAIM_MS);
    };
    const parents = await Promise.all(parentDomains(name).map((parent) => this.getItem(keys.domainByName(parent))));
    if (parents.some(blocks)) return 'parent';

    const zone = keys.domainZone(name);
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.doc.send(new QueryCommand({
        TableName: this.db.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: 'tenant_id <> :tenant',
        ExpressionAttributeValues: { ':pk': zone.pk, ':prefix': `${zone.sk}.`, ':tenant': tenantId },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }));
      // A marker is only a pointer: the subdomain's own item says whether it still holds the name.
      for (const marker of page.Items ?? []) {
        const item = await this.getItem(keys.domainByName(marker.name as string));
        if (item?.domain_id === marker.domain_id && blocks(item)) return 'subdomain';
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return undefined;
  }

  /** Undoes a claim that did not become a domain: its marker and its item, if still this claim's. */
  async release(domain: Pick<DomainRecord, 'id' | 'name'>): Promise<void> {
    await this.deleteIf(keys.domainZone(domain.name), domain.id);
    await this.deleteIf(keys.domainByName(domain.name), domain.id);
  }

  /**
   * Turns this create's claim into the domain: `D#<id>`, then the name's item, active and listed,
   * at version 1, with its `domain.created` in the outbox and its first check scheduled.
   */
  async activate(domain: DomainRecord, effects: ChangeEffects = {}): Promise<void> {
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: { ...keys.domainById(domain.id), kind: 'domain_id', name: domain.name, tenant_id: domain.tenantId },
    }));
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: {
        ...toDomainItem(domain), version: 1,
        ...(effects.event ? { outbox: toOutbox(effects.event) } : {}),
        ...(effects.checkAt !== undefined ? checkEntry(domain.name, effects.checkAt) : {}),
      },
      ConditionExpression: 'domain_id = :id AND tenant_id = :t',
      ExpressionAttributeValues: { ':id': domain.id, ':t': domain.tenantId },
    }));
  }

  /** Writes a domain that no other tenant holds (local mode's seed), with its id and zone items. */
  async put(domain: DomainRecord): Promise<void> {
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: toDomainItem(domain),
      ConditionExpression: 'attribute_not_exists(pk) OR tenant_id = :t',
      ExpressionAttributeValues: { ':t': domain.tenantId },
    }));
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: { ...keys.domainById(domain.id), kind: 'domain_id', name: domain.name, tenant_id: domain.tenantId },
    }));
    await this.db.doc.send(new PutCommand({ TableName: this.db.table, Item: zoneMarkerItem(domain) }));
  }

  /**
   * Stores what SES said, as of the version read. False when the domain is gone, being deleted,
   * or changed since it was read (the caller reads it again).
   */
  async updateStatus(domain: Pick<StoredDomain, 'id' | 'name' | 'version'>, update: StatusUpdate, effects: ChangeEffects = {}): Promise<boolean> {
    return this.change(domain, ['#status = :status', 'verified_for_sending = :vfs', 'records = :records', 'checked_at = :now'], {
      ':status': update.status, ':vfs': update.verifiedForSending, ':records': update.records, ':now': new Date(this.db.now()).toISOString(),
    }, effects);
  }

  /** Changes tracking and TLS, as of the version read. False as for updateStatus. */
  async updateSettings(domain: Pick<StoredDomain, 'id' | 'name' | 'version'>, update: SettingsUpdate, effects: ChangeEffects = {}): Promise<boolean> {
    const sets: string[] = [];
    const values: Record<string, unknown> = {};
    if (update.openTracking !== undefined) (sets.push('open_tracking = :open'), (values[':open'] = update.openTracking));
    if (update.clickTracking !== undefined) (sets.push('click_tracking = :click'), (values[':click'] = update.clickTracking));
    if (update.tls !== undefined) (sets.push('tls = :tls'), (values[':tls'] = update.tls));
    if (update.receiving !== undefined) (sets.push('receiving = :rcv'), (values[':rcv'] = update.receiving));
    if (update.existingMx !== undefined) (sets.push('existing_mx = :mx'), (values[':mx'] = update.existingMx));
    return this.change(domain, sets, values, effects);
  }

  /**
   * Sets when the verifier looks next (undefined: never), if the domain is still at the version
   * read and has no event waiting (whoever changed it scheduled it). False otherwise.
   */
  async reschedule(domain: Pick<StoredDomain, 'id' | 'name' | 'version'>, checkAt: number | undefined): Promise<boolean> {
    const [set, remove, values] = checkAt !== undefined ? [', gsi2pk = :cpk, gsi2sk = :csk', '', { ':cpk': DOMAIN_CHECKS_PK, ':csk': checkEntry(domain.name, checkAt).gsi2sk }] : ['', ' REMOVE gsi2pk, gsi2sk', {}];
    return this.conditional(domain, `SET checked_at = :now${set}${remove}`, 'attribute_not_exists(outbox)', { ...values, ':now': new Date(this.db.now()).toISOString() });
  }

  /** Empties the outbox once its event is queued, and sets the verifier's next look. False when another event took its place. */
  async clearOutbox(domain: Pick<StoredDomain, 'name'>, eventId: string, checkAt: number | undefined): Promise<boolean> {
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.domainByName(domain.name),
        UpdateExpression: checkAt !== undefined ? 'SET gsi2pk = :cpk, gsi2sk = :csk REMOVE outbox' : 'REMOVE outbox, gsi2pk, gsi2sk',
        ConditionExpression: 'outbox.event_id = :e',
        ExpressionAttributeValues: { ':e': eventId, ...(checkAt !== undefined ? { ':cpk': DOMAIN_CHECKS_PK, ':csk': checkEntry(domain.name, checkAt).gsi2sk } : {}) },
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Domains the verifier must look at by `nowMs`, earliest first, at most `limit`: one Query of
   * their sparse gsi2 entries, then each item read (consistently). Domains being deleted are left out.
   */
  async dueForChecks(nowMs: number, limit: number): Promise<StoredDomain[]> {
    const page = await this.db.doc.send(new QueryCommand({
      TableName: this.db.table,
      IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk <= :until',
      ExpressionAttributeValues: { ':pk': DOMAIN_CHECKS_PK, ':until': `${new Date(nowMs).toISOString()}#~` },
      Limit: limit,
    }));
    const items = await Promise.all((page.Items ?? []).map((k) => this.getItem({ pk: k.pk as string, sk: k.sk as string })));
    return items.filter((i): i is Record<string, unknown> => i !== undefined).map(fromDomainItem).filter((d) => d.lifecycle === 'active');
  }

  /**
   * First step of a delete: the domain stops sending (the send gate ignores `deleting`) and leaves
   * the listing, while its name stays held until the SES identity is gone. False when gone already.
   */
  async beginDelete(domain: Pick<DomainRecord, 'id' | 'name'>): Promise<StoredDomain | undefined> {
    try {
      const { Attributes } = await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.domainByName(domain.name),
        // The verifier leaves it alone; `deleting_at` is kept from the first try (the time of its domain.deleted).
        UpdateExpression: 'SET lifecycle = :deleting, verified_for_sending = :false, deleting_at = if_not_exists(deleting_at, :now) REMOVE gsi1pk, gsi1sk, gsi2pk, gsi2sk',
        ConditionExpression: 'domain_id = :id',
        ExpressionAttributeValues: { ':deleting': 'deleting', ':false': false, ':id': domain.id, ':now': new Date(this.db.now()).toISOString() },
        ReturnValues: 'ALL_NEW',
      }));
      return Attributes ? fromDomainItem(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Last step of a delete, once SES no longer has the identity: the marker, the id, then the name. */
  async finishDelete(domain: Pick<DomainRecord, 'id' | 'name'>): Promise<void> {
    await this.deleteIf(keys.domainZone(domain.name), domain.id);
    await this.deleteIf(keys.domainById(domain.id), undefined);
    await this.deleteIf(keys.domainByName(domain.name), domain.id);
  }

  /** A change of what the domain says: bumps the version, with its event and schedule (see the top). */
  private async change(domain: Pick<StoredDomain, 'id' | 'name' | 'version'>, sets: readonly string[], values: Record<string, unknown>, effects: ChangeEffects): Promise<boolean> {
    const all = [...sets, 'version = :next'];
    const v: Record<string, unknown> = { ...values, ':next': domain.version + 1 };
    if (effects.event) (all.push('outbox = :outbox'), (v[':outbox'] = toOutbox(effects.event)));
    if (effects.checkAt !== undefined) (all.push('gsi2pk = :cpk', 'gsi2sk = :csk'), Object.assign(v, { ':cpk': DOMAIN_CHECKS_PK, ':csk': checkEntry(domain.name, effects.checkAt).gsi2sk }));
    const remove = effects.checkAt === undefined ? ' REMOVE gsi2pk, gsi2sk' : '';
    return this.conditional(domain, `SET ${all.join(', ')}${remove}`, undefined, v);
  }

  /** An update of an active domain still at the version read. */
  private async conditional(domain: Pick<StoredDomain, 'id' | 'name' | 'version'>, expression: string, extraCondition: string | undefined, values: Record<string, unknown>): Promise<boolean> {
    const versionCondition = domain.version === 0 ? 'attribute_not_exists(version)' : 'version = :read';
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.domainByName(domain.name),
        UpdateExpression: expression,
        ConditionExpression: `domain_id = :id AND (attribute_not_exists(lifecycle) OR lifecycle = :active) AND ${versionCondition}${extraCondition ? ` AND ${extraCondition}` : ''}`,
        ExpressionAttributeValues: { ...values, ':id': domain.id, ':active': 'active', ...(domain.version === 0 ? {} : { ':read': domain.version }) },
        ...(expression.includes('#status') ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async deleteIf(key: { pk: string; sk: string }, domainId: string | undefined): Promise<void> {
    try {
      await this.db.doc.send(new DeleteCommand({
        TableName: this.db.table,
        Key: key,
        ...(domainId !== undefined ? { ConditionExpression: 'domain_id = :id', ExpressionAttributeValues: { ':id': domainId } } : {}),
      }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
