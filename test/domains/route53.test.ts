/**
 * Route 53, opt-in: for a domain under one of the stack's zones, Sesame writes the records itself
 * and deletes exactly those with the domain. The real Route 53 client talks to a stand-in that
 * speaks Route 53's REST-XML (test/support/route53-server.ts); the rest is the /domains handler on
 * dynalite and the local SES v2 server.
 */
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { randomUUID } from 'node:crypto';
import { Route53Client } from '@aws-sdk/client-route-53';
import { createApiHandler } from '../../lambdas/core/http/api';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { provisionTestSesTenant, TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { Route53Publisher } from '../../lambdas/core/adapters/route53';
import { parseZones, zoneFor } from '../../lambdas/core/domain/route53-records';
import { domainRoutes } from '../../lambdas/domains/routes';
import { localClientConfig, type TestDynamo, type TestSes, startTestDynamo, startTestSes } from '../support/services';
import { call, captureLogger } from '../support/api';
import { type Route53StandIn, startRoute53StandIn } from '../support/route53-server';
import { resendSchemaErrors } from '../support/resend-schema';

const ZONE = { id: 'Z0SESAMETEST0001', name: 'zone-test.com' };

describe('zones', () => {
  it('reads `<id>:<name>` entries, and refuses anything else naming the form', () => {
    expect(parseZones(' Z0123ABC:Example.COM., /hostedzone/Z9:b.org ')).toEqual([{ id: 'Z0123ABC', name: 'example.com' }, { id: 'Z9', name: 'b.org' }]);
    expect(parseZones('')).toEqual([]);
    expect(() => parseZones('Z0123ABC')).toThrow(/<zone id>:<zone name>/);
  });

  it('puts a domain in the nearest zone that holds it', () => {
    const zones = [{ id: 'Z1', name: 'example.com' }, { id: 'Z2', name: 'eu.example.com' }];
    expect([zoneFor('example.com', zones)?.id, zoneFor('mail.eu.example.com', zones)?.id, zoneFor('an-example.com', zones)]).toEqual(['Z1', 'Z2', undefined]);
  });
});

describe('the domains API with Route 53 zones', () => {
  let dynamo: TestDynamo;
  let ses: TestSes;
  let route53: Route53StandIn;
  let client: Route53Client;

  beforeAll(async () => {
    [dynamo, ses, route53] = await Promise.all([startTestDynamo(), startTestSes(), startRoute53StandIn([ZONE])]);
    client = new Route53Client(localClientConfig(route53.endpoint));
  });

  afterAll(async () => {
    client.destroy();
    await Promise.all([dynamo.close(), ses.close(), route53.close()]);
  });

  /** `failActivate`: the store cannot write the domain's item (a DynamoDB failure after Route 53 was written). */
  class FailingStore extends DomainStore {
    override async activate(): Promise<void> {
      throw new Error('DynamoDB is unavailable');
    }
  }

  async function world(options: { failActivate?: boolean } = {}) {
    const db = createDb(dynamo.doc, await dynamo.freshTable());
    const tenants = new TenantStore(db);
    const tenant = await tenants.createTenant('a');
    await provisionTestSesTenant(ses.client, tenant.id);
    const key = (await tenants.createKey(tenant.id)).token;
    const { log } = captureLogger();
    const handler = createApiHandler(
      domainRoutes({
        domains: options.failActivate ? new FailingStore(db) : new DomainStore(db), identities: new SesIdentities(ses.client, LOCAL_STACK_NAME), events: { publish: async () => undefined },
        sesTenants: new SesTenants(ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', now: Date.now, dns: new Route53Publisher(client, [ZONE]),
      }),
      createAuthenticator(tenants),
      log,
    );
    return (method: string, path: string, body?: unknown) => call(handler, method, path, { key, ...(body !== undefined ? { body } : {}) });
  }

  const sub = () => `d${randomUUID().slice(0, 8)}.${ZONE.name}`;
  const inZone = (prefix: string) => route53.records(ZONE.id).filter((r) => r.name === prefix || r.name.endsWith(`.${prefix}`));

  it('writes the DKIM CNAMEs, the MAIL FROM MX and SPF and a DMARC record into the zone, and lists them on the domain', async () => {
    // Prepare
    const api = await world();
    const name = sub();
    // Act
    const created = await api('POST', '/domains', { name });
    const got = await api('GET', `/domains/${created.body.id}`);
    // Assess
    expect(created.status).toBe(201);
    const dkim = (created.body.records as { record: string; name: string; value: string }[]).filter((r) => r.record === 'DKIM');
    const expected = [
      ...dkim.map((r) => ({ name: r.name, type: 'CNAME', ttl: 1800, values: [r.value] })),
      { name: `send.${name}`, type: 'MX', ttl: 1800, values: ['10 feedback-smtp.us-east-1.amazonses.com'] },
      { name: `send.${name}`, type: 'TXT', ttl: 1800, values: ['"v=spf1 include:amazonses.com ~all"'] },
      { name: `_dmarc.${name}`, type: 'TXT', ttl: 1800, values: [`"v=DMARC1;p=quarantine;pct=25;rua=mailto:dmarcreports@${name}"`] },
    ];
    expect(inZone(name)).toEqual(expect.arrayContaining(expected));
    expect(inZone(name)).toHaveLength(6);
    expect(got.body.route53).toEqual({ hosted_zone_id: ZONE.id, records: expected.map(({ values, ...r }) => ({ ...r, value: values[0] })) });
    expect(route53.changes.filter((c) => c.set.name.endsWith(name)).map((c) => [c.action, c.set.type])).toEqual([
      ['UPSERT', 'CNAME'], ['UPSERT', 'CNAME'], ['UPSERT', 'CNAME'], ['CREATE', 'MX'], ['CREATE', 'TXT'], ['CREATE', 'TXT'],
    ]);
    expect(resendSchemaErrors('Domain', got.body)).toEqual([]);
  });

  it('leaves a DMARC record that exists alone, does not list it, and deletes exactly what it wrote', async () => {
    // Prepare: the customer's own DMARC record, and an unrelated record under the domain
    const api = await world();
    const name = sub();
    const theirs = [
      { name: `_dmarc.${name}`, type: 'TXT', ttl: 300, values: ['"v=DMARC1;p=reject"'] },
      { name: `www.${name}`, type: 'CNAME', ttl: 300, values: ['example.net'] },
    ];
    for (const set of theirs) route53.seed(ZONE.id, set);
    // Act
    const created = await api('POST', '/domains', { name });
    const listed = (await api('GET', `/domains/${created.body.id}`)).body.route53.records as { name: string; type: string }[];
    const deleted = await api('DELETE', `/domains/${created.body.id}`);
    // Assess
    expect(listed.map((r) => [r.type, r.name.startsWith('_dmarc.')])).not.toContainEqual(['TXT', true]);
    expect(listed).toHaveLength(5);
    expect(deleted.status).toBe(200);
    expect(inZone(name)).toEqual(expect.arrayContaining(theirs));
    expect(inZone(name)).toHaveLength(2);
  });

  it('turning receiving on looks for MX records the domain has already: found, it says so and advises a subdomain; Sesame writes no MX', async () => {
    const api = await world();
    const busy = sub();
    route53.seed(ZONE.id, { name: busy, type: 'MX', ttl: 300, values: ['10 mx.other-provider.example'] });
    const quiet = sub();
    const [a, b] = [(await api('POST', '/domains', { name: busy })).body, (await api('POST', '/domains', { name: quiet })).body];
    for (const d of [a, b]) expect((await api('PATCH', `/domains/${d.id}`, { capabilities: { receiving: 'enabled' } })).status).toBe(200);
    const withMx = (await api('GET', `/domains/${a.id}`)).body;
    expect(withMx.receiving).toEqual({ existing_mx: ['10 mx.other-provider.example'], advice: expect.stringMatching(/already has MX records.*inbound\./) });
    expect((await api('GET', `/domains/${b.id}`)).body.receiving).toEqual({ existing_mx: [], advice: null });
    // The Receiving MX is for the customer to publish: moving a domain's mail is theirs to decide.
    expect(inZone(quiet).filter((r) => r.type === 'MX' && r.name === quiet)).toEqual([]);
  });

  it('leaves a record someone changed since Sesame wrote it, and still deletes the domain', async () => {
    // Prepare
    const api = await world();
    const name = sub();
    const created = await api('POST', '/domains', { name });
    const changed = { name: `send.${name}`, type: 'TXT', ttl: 300, values: ['"v=spf1 include:amazonses.com include:_spf.example.net ~all"'] };
    route53.seed(ZONE.id, changed);
    // Act
    const deleted = await api('DELETE', `/domains/${created.body.id}`);
    // Assess
    expect(deleted.status).toBe(200);
    expect(inZone(name)).toEqual([changed]);
  });

  it('writes nothing for a domain under none of the zones', async () => {
    const api = await world();
    const before = route53.changes.length;
    const created = await api('POST', '/domains', { name: `d${randomUUID().slice(0, 8)}.elsewhere.org` });
    expect(created.status).toBe(201);
    expect((await api('GET', `/domains/${created.body.id}`)).body.route53).toBeNull();
    expect(route53.changes.length).toBe(before);
  });

  it('removes what it wrote when the create fails afterwards, leaving the records it did not write', async () => {
    // Prepare: the domain's item cannot be written once the records are (DynamoDB failing)
    const api = await world({ failActivate: true });
    const name = sub();
    const theirs = { name: `_dmarc.${name}`, type: 'TXT', ttl: 300, values: ['"v=DMARC1;p=none"'] };
    route53.seed(ZONE.id, theirs);
    // Act
    const failed = await api('POST', '/domains', { name });
    // Assess
    expect(failed.status).toBe(500);
    expect(route53.changes.filter((c) => c.set.name.endsWith(name)).map((c) => c.action)).toEqual(['UPSERT', 'UPSERT', 'UPSERT', 'CREATE', 'CREATE', 'DELETE', 'DELETE', 'DELETE', 'DELETE', 'DELETE']);
    expect(inZone(name)).toEqual([theirs]);
  });
});
