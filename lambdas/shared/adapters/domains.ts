/**
 * Domains as the data model holds them. The item keyed by name (`DN#<name>`) is the one owner
 * of that name and what the send path reads; `D#<id>` maps an id back to the name.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../table';
import type { Db } from './dynamo';

export type DomainStatus = 'not_started' | 'pending' | 'verified' | 'partially_verified' | 'failed' | 'temporary_failure';

export interface DnsRecord {
  readonly record: string;
  readonly name: string;
  readonly type: string;
  readonly ttl: string;
  readonly status: DomainStatus;
  readonly value: string;
  readonly priority?: number;
}

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
  readonly customReturnPath: string;
  readonly records: readonly DnsRecord[];
  readonly createdAt: string;
}

export function toDomainItem(d: DomainRecord): Record<string, unknown> {
  return {
    ...keys.domainByName(d.name), kind: 'domain',
    domain_id: d.id, name: d.name, tenant_id: d.tenantId, status: d.status,
    verified_for_sending: d.verifiedForSending, region: d.region,
    open_tracking: d.openTracking, click_tracking: d.clickTracking,
    custom_return_path: d.customReturnPath, records: d.records, created_at: d.createdAt,
    gsi1pk: keys.tenantDomains(d.tenantId), gsi1sk: `${d.createdAt}#${d.id}`,
  };
}

export function fromDomainItem(i: Record<string, unknown>): DomainRecord {
  return {
    id: i.domain_id as string, name: i.name as string, tenantId: i.tenant_id as string,
    status: i.status as DomainStatus, verifiedForSending: i.verified_for_sending === true,
    region: i.region as string, openTracking: i.open_tracking === true, clickTracking: i.click_tracking === true,
    customReturnPath: (i.custom_return_path as string | undefined) ?? 'send',
    records: (i.records as DnsRecord[] | undefined) ?? [], createdAt: i.created_at as string,
  };
}

export class DomainStore {
  constructor(private readonly db: Db) {}

  async getByName(name: string): Promise<DomainRecord | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.domainByName(name.toLowerCase()) }));
    return Item ? fromDomainItem(Item) : undefined;
  }

  async getById(id: string): Promise<DomainRecord | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.domainById(id) }));
    return Item ? this.getByName(Item.name as string) : undefined;
  }

  /** Writes a domain that no other tenant holds (local mode's seed; the domains API builds on it). */
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
  }
}
