/**
 * Route 53 for domains whose DNS is in the stack's account (opt-in: CDK context `route53Zones`).
 * Writes the records domain/route53-records.ts lists, one ChangeResourceRecordSets per CREATE (a
 * batch is all or nothing, and a record that exists already must not stop the others), and deletes
 * exactly the records it wrote. Route 53 allows five requests a second per account; throttling is
 * retried by the SDK.
 */
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, type Change, type Route53Client } from '@aws-sdk/client-route-53';
import type { HostedZone, PublishedRecords, ZoneRecord } from '../domain/route53-records';
import { zoneFor, zoneRecordsFor } from '../domain/route53-records';
import type { DnsRecord } from '../domain/dns';
import type { Logger } from '../log';

export interface DnsPublisher {
  /** Writes a domain's records into its zone; undefined when the domain is under none of the zones. */
  publish(domain: string, records: readonly DnsRecord[], log: Logger): Promise<PublishedRecords | undefined>;
  /** Deletes what `publish` wrote; a record changed or deleted since by someone else is left alone. */
  remove(published: PublishedRecords, log: Logger): Promise<void>;
  /** The MX records at `domain` in its zone (`<priority> <host>`); undefined when the domain is under none of the zones. */
  mxRecords?(domain: string): Promise<string[] | undefined>;
}

const change = (action: Change['Action'], r: ZoneRecord): Change => ({
  Action: action,
  ResourceRecordSet: { Name: r.name, Type: r.type, TTL: r.ttl, ResourceRecords: [{ Value: r.value }] },
});

/** Route 53's answer when a CREATE finds the record, or a DELETE does not find it as written. */
function isInvalidChange(error: unknown, what: RegExp): boolean {
  const e = error as { name?: string; message?: string } | undefined;
  return e?.name === 'InvalidChangeBatch' && what.test(e.message ?? '');
}

export class Route53Publisher implements DnsPublisher {
  constructor(
    private readonly client: Pick<Route53Client, 'send'>,
    private readonly zones: readonly HostedZone[],
  ) {}

  async publish(domain: string, records: readonly DnsRecord[], log: Logger): Promise<PublishedRecords | undefined> {
    const zone = zoneFor(domain, this.zones);
    if (!zone) return undefined;
    const { upsert, createIfAbsent } = zoneRecordsFor(domain, records);
    const written: ZoneRecord[] = [];
    try {
      await this.apply(zone.id, upsert.map((r) => change('UPSERT', r)));
      written.push(...upsert);
      for (const r of createIfAbsent) {
        try {
          await this.apply(zone.id, [change('CREATE', r)]);
          written.push(r);
        } catch (error) {
          if (!isInvalidChange(error, /already exists/i)) throw error;
          log.info('a record exists in the zone already; Sesame leaves it alone', { zoneId: zone.id, type: r.type });
        }
      }
    } catch (error) {
      // Nothing half-written stays behind: the create fails, and what it wrote goes.
      await this.remove({ zoneId: zone.id, records: written }, log).catch((e) => log.error('could not remove the records of a failed publish', { zoneId: zone.id, error: e }));
      throw error;
    }
    return { zoneId: zone.id, records: written };
  }

  async remove(published: PublishedRecords, log: Logger): Promise<void> {
    for (const r of published.records) {
      try {
        await this.apply(published.zoneId, [change('DELETE', r)]);
      } catch (error) {
        if (!isInvalidChange(error, /not found|do not match/i)) throw error;
        log.info('a record Sesame wrote was changed or deleted since; left alone', { zoneId: published.zoneId, type: r.type });
      }
    }
  }

  async mxRecords(domain: string): Promise<string[] | undefined> {
    const zone = zoneFor(domain, this.zones);
    if (!zone) return undefined;
    const { ResourceRecordSets } = await this.client.send(new ListResourceRecordSetsCommand({
      HostedZoneId: zone.id, StartRecordName: domain, StartRecordType: 'MX', MaxItems: 1,
    }));
    const set = ResourceRecordSets?.[0];
    if (!set || set.Type !== 'MX' || set.Name?.replace(/\.$/, '').toLowerCase() !== domain) return [];
    return (set.ResourceRecords ?? []).map((r) => r.Value ?? '').filter((v) => v !== '');
  }

  private async apply(zoneId: string, changes: Change[]): Promise<void> {
    if (changes.length === 0) return;
    await this.client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Comment: 'Sesame: SES domain records', Changes: changes } }));
  }
}
