/**
 * The DNS records Sesame writes itself into a Route 53 hosted zone of the stack's account, for a
 * domain under one of the zones it was given (CDK context `route53Zones`). Pure code.
 *
 * - The three Easy DKIM CNAMEs are UPSERTed: their names carry the identity's tokens, so no one
 *   else's record can have them.
 * - The MAIL FROM MX and SPF TXT, and the DMARC TXT, are CREATEd: written only where the zone has
 *   no record of that name and type, so Sesame never replaces a record it did not write.
 * Sesame keeps the list of what it wrote on the domain, and deleting the domain deletes exactly those.
 */
import { type DnsRecord, dmarcAdvice } from './dns';

/** A hosted zone Sesame may write to: its id and its name (lower-case, no trailing dot). */
export interface HostedZone {
  readonly id: string;
  readonly name: string;
}

/** One record set with one value, as Sesame writes it (TXT values quoted, MX values `<priority> <host>`). */
export interface ZoneRecord {
  readonly name: string;
  readonly type: 'CNAME' | 'MX' | 'TXT';
  readonly ttl: number;
  readonly value: string;
}

/** What Sesame published for a domain: the zone and the records it wrote there. */
export interface PublishedRecords {
  readonly zoneId: string;
  readonly records: readonly ZoneRecord[];
}

/** Route 53's TTL for Sesame's records: 30 minutes. */
export const ZONE_RECORD_TTL = 1800;

/** The zone a domain belongs to: the one whose name is the domain or its nearest parent. */
export function zoneFor(domain: string, zones: readonly HostedZone[]): HostedZone | undefined {
  return zones
    .filter((z) => domain === z.name || domain.endsWith(`.${z.name}`))
    .sort((a, b) => b.name.length - a.name.length)[0];
}

/** The records to write for a domain: what to UPSERT (DKIM) and what to CREATE where absent (MAIL FROM, DMARC). */
export function zoneRecordsFor(domain: string, records: readonly DnsRecord[]): { readonly upsert: ZoneRecord[]; readonly createIfAbsent: ZoneRecord[] } {
  const toZone = (r: Pick<DnsRecord, 'name' | 'type' | 'value' | 'priority'>): ZoneRecord => ({
    name: r.name, type: r.type as ZoneRecord['type'], ttl: ZONE_RECORD_TTL, value: r.type === 'MX' ? `${r.priority ?? 10} ${r.value}` : r.value,
  });
  const dmarc = dmarcAdvice(domain);
  return {
    upsert: records.filter((r) => r.record === 'DKIM').map(toZone),
    createIfAbsent: [...records.filter((r) => r.record === 'SPF').map(toZone), toZone({ name: dmarc.name, type: dmarc.type, value: dmarc.value })],
  };
}

/**
 * `SESAME_ROUTE53_ZONES` / the CDK context: `<zone id>:<zone name>` entries, comma-separated. The
 * name is needed, not only the id: the function's IAM policy limits the record names it may write
 * to the zone's subdomains, and the function finds a domain's zone without asking Route 53.
 */
export function parseZones(raw: string): HostedZone[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const m = /^(?:\/?hostedzone\/)?(Z[A-Z0-9]{1,32}):([a-z0-9.-]+?)\.?$/i.exec(entry);
      if (!m) throw new Error(`A Route 53 zone must be given as <zone id>:<zone name> (e.g. Z0123456789ABCDEFGHIJ:example.com), got "${entry}"`);
      return { id: m[1]!.toUpperCase(), name: m[2]!.toLowerCase() };
    });
}
