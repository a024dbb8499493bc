/**
 * doctor's Route 53 check, with the real Route 53 client against the REST-XML stand-in and the
 * domains on dynalite: each zone is read, and the records Sesame wrote are compared with the zone's.
 */
import { Route53Client } from '@aws-sdk/client-route-53';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { type DomainRecord, DomainStore } from '../../lambdas/core/adapters/domains';
import { checkRoute53Zones } from '../../lambdas/admin/doctor-route53';
import { CHECKS } from '../../lambdas/admin/doctor';
import { localClientConfig, type TestDynamo, startTestDynamo } from '../support/services';
import { type Route53StandIn, startRoute53StandIn } from '../support/route53-server';

const ZONE = { id: 'Z0SESAMETEST0001', name: 'zone-test.com' };
const RECORDS = [
  { name: 'tok._domainkey.acme.zone-test.com', type: 'CNAME' as const, ttl: 1800, value: 'tok.dkim.amazonses.com' },
  { name: 'send.acme.zone-test.com', type: 'MX' as const, ttl: 1800, value: '10 feedback-smtp.us-east-1.amazonses.com' },
];

let dynamo: TestDynamo;
let route53: Route53StandIn;
let client: Route53Client;

beforeAll(async () => {
  [dynamo, route53] = await Promise.all([startTestDynamo(), startRoute53StandIn([ZONE])]);
  client = new Route53Client(localClientConfig(route53.endpoint));
});

afterAll(async () => {
  client.destroy();
  await Promise.all([dynamo.close(), route53.close()]);
});

async function domains(): Promise<DomainStore> {
  const store = new DomainStore(createDb(dynamo.doc, await dynamo.freshTable()));
  const domain: DomainRecord = {
    id: '00000000-0000-4000-8000-000000000001', name: 'acme.zone-test.com', tenantId: 't', status: 'verified', verifiedForSending: true,
    region: 'us-east-1', openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString(),
    route53: { zoneId: ZONE.id, records: RECORDS },
  };
  await store.put(domain);
  return store;
}

const config = (route53Zones?: string) => ({ local: false, ...(route53Zones !== undefined ? { route53Zones } : {}) });

describe("doctor's Route 53 check", () => {
  it('is one of the checks doctor runs', () => {
    expect(CHECKS.map((c) => c.name)).toContain('route53 zones');
  });

  it('reports nothing for a stack given no zones', async () => {
    expect(await checkRoute53Zones({ config: config(), domains: await domains(), route53: client })).toEqual([]);
  });

  it("is ok when Sesame's records are in the zone as it wrote them", async () => {
    for (const r of RECORDS) route53.seed(ZONE.id, { name: r.name, type: r.type, ttl: r.ttl, values: [r.value] });
    const [result] = await checkRoute53Zones({ config: config(`${ZONE.id}:${ZONE.name}`), domains: await domains(), route53: client });
    expect(result).toEqual({ name: 'route53 zone zone-test.com', status: 'ok', message: expect.stringMatching(/for 1 domain\(s\); its 2 records are as it wrote them/) });
  });

  it('warns, naming them, when records were changed or removed', async () => {
    route53.seed(ZONE.id, { name: RECORDS[1]!.name, type: 'MX', ttl: 1800, values: ['10 mx.example.net'] });
    const [result] = await checkRoute53Zones({ config: config(`${ZONE.id}:${ZONE.name}`), domains: await domains(), route53: client });
    expect(result).toMatchObject({ status: 'warn', message: expect.stringContaining('1 of its 2 records changed or gone (MX send.acme.zone-test.com)') });
  });

  it('fails for a zone it cannot read, and for a malformed setting', async () => {
    const [missing] = await checkRoute53Zones({ config: config('Z0NOSUCHZONE0009:zone-test.com'), domains: await domains(), route53: client });
    const [malformed] = await checkRoute53Zones({ config: config('zone-test.com'), domains: await domains(), route53: client });
    expect(missing).toMatchObject({ status: 'fail', message: expect.stringMatching(/cannot read hosted zone Z0NOSUCHZONE0009: NoSuchHostedZone/) });
    expect(malformed).toMatchObject({ status: 'fail', message: expect.stringMatching(/SESAME_ROUTE53_ZONES/) });
  });
});
