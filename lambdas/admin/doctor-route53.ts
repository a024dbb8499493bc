/**
 * The Route 53 zones Sesame may write domain records into (SESAME_ROUTE53_ZONES, the stack's
 * `route53Zones`): one check per zone, whether it can be read and whether the records Sesame wrote
 * for its domains are still there as written. Nothing to report when the stack was given no zones.
 */
import { ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import { type HostedZone, parseZones, type ZoneRecord } from '../core/domain/route53-records';
import { type CheckResult, type DoctorDeps, describeError, fail, ok, warn } from './doctor-check';

const normal = (name: string | undefined) => (name ?? '').toLowerCase().replace(/\.$/, '');

export async function checkRoute53Zones(deps: Pick<DoctorDeps, 'config' | 'domains' | 'route53'>): Promise<CheckResult[]> {
  const raw = deps.config.route53Zones;
  if (raw === undefined) return [];
  let zones: HostedZone[];
  try {
    zones = parseZones(raw);
  } catch (error) {
    return [fail('route53 zones', `SESAME_ROUTE53_ZONES: ${(error as Error).message}`)];
  }
  if (zones.length === 0 || !deps.route53) return [];
  const domains = deps.domains ? await deps.domains.listEveryTenant() : [];
  return Promise.all(zones.map((zone) => checkZone(deps.route53!, zone, domains.filter((d) => d.route53?.zoneId === zone.id))));
}

async function checkZone(
  route53: Pick<Route53Client, 'send'>,
  zone: HostedZone,
  domains: readonly { readonly name: string; readonly route53?: { readonly records: readonly ZoneRecord[] } }[],
): Promise<CheckResult> {
  const name = `route53 zone ${zone.name}`;
  const records = domains.flatMap((d) => d.route53?.records ?? []);
  const differing: string[] = [];
  try {
    // One read even without records: whether Sesame's credentials reach the zone at all.
    await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, MaxItems: 1 }));
    for (const r of records) {
      const { ResourceRecordSets: sets } = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, StartRecordName: r.name, StartRecordType: r.type, MaxItems: 1 }));
      const set = sets?.[0];
      const same = set !== undefined && normal(set.Name) === r.name && set.Type === r.type && set.TTL === r.ttl && (set.ResourceRecords ?? []).some((v) => v.Value === r.value);
      if (!same) differing.push(`${r.type} ${r.name}`);
    }
  } catch (error) {
    return fail(name, `cannot read hosted zone ${zone.id}: ${describeError(error)}; check the zone id in the route53Zones context`);
  }
  const scope = `Sesame writes CNAME, MX and TXT records below ${zone.name} (${zone.id}) for ${domains.length} domain(s)`;
  if (differing.length > 0) {
    return warn(name, `${scope}; ${differing.length} of its ${records.length} records changed or gone (${differing.slice(0, 5).join(', ')}${differing.length > 5 ? ', ...' : ''}): those domains may not verify; put the records back (GET /domains/{id} lists them) or delete and add the domain again`);
  }
  return ok(name, `${scope}; its ${records.length} records are as it wrote them`);
}
