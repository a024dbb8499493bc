/**
 * The /domains API through the real handler path: API Gateway v2 events -> createApiHandler ->
 * auth middleware -> domain routes -> DomainStore on dynalite and the SES identity adapter on the
 * local SES v2 server (through the real SDK client).
 */
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { randomUUID } from 'node:crypto';
import { CreateEmailIdentityCommand, GetEmailIdentityCommand } from '@aws-sdk/client-sesv2';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createApiHandler } from '../../lambdas/core/http/api';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DomainStore, STALE_CLAIM_MS } from '../../lambdas/core/adapters/domains';
import { type IdentityService, SesIdentities, TAG_STACK_KEY, TAG_TENANT_KEY } from '../../lambdas/core/adapters/ses-identities';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { keys } from '../../lambdas/core/table';
import { domainRoutes } from '../../lambdas/domains/routes';
import type { DomainEvent } from '../../lambdas/core/domain/domain-events';
import { servicesForFile, tenantWithKey } from '../support/domain-fixtures';
import { type CallOptions, call, captureLogger } from '../support/api';
import { TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';

const services = servicesForFile();

/** A registrable name no other test uses (the SES server is shared by the file). */
const uniqueName = () => `d${randomUUID().slice(0, 8)}.com`;

/** Counts the adapter's calls by method, so a test can say which SES calls a request made. */
function counting(inner: IdentityService) {
  const calls: string[] = [];
  const service: IdentityService = {
    create: (...a) => (calls.push('create'), inner.create(...a)),
    configure: (...a) => (calls.push('configure'), inner.configure(...a)),
    get: (...a) => (calls.push('get'), inner.get(...a)),
    delete: (...a) => (calls.push('delete'), inner.delete(...a)),
  };
  return { service, calls };
}

async function world() {
  const table = await services.dynamo.freshTable();
  let clock = Date.now();
  const db = createDb(services.dynamo.doc, table, () => clock);
  const tenants = new TenantStore(db);
  const store = new DomainStore(db);
  const { tenant: a, key: keyA } = await tenantWithKey(tenants, services.ses.client, 'a');
  const { tenant: b, key: keyB } = await tenantWithKey(tenants, services.ses.client, 'b');
  const sendingKeyA = (await tenants.createKey(a.id, { permission: 'sending_access' })).token;
  const { service, calls } = counting(new SesIdentities(services.ses.client, LOCAL_STACK_NAME));
  const { log, lines } = captureLogger();
  // Domain events are recorded here; test/domains/events.test.ts follows them through the real fan-out.
  const events: DomainEvent[] = [];
  const publisher = { publish: async (e: DomainEvent) => void events.push(e) };
  const handler = createApiHandler(domainRoutes({
    domains: store, identities: service, events: publisher, sesTenants: new SesTenants(services.ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', now: () => clock,
  }), createAuthenticator(tenants), log);
  const api = (method: string, url: string, options: CallOptions = {}) => call(handler, method, url, options);
  const item = async (key: { pk: string; sk: string }) => (await services.dynamo.doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;
  const sesIdentity = async (name: string) => {
    try {
      return await services.ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: name }));
    } catch (e) {
      if ((e as Error).name === 'NotFoundException') return undefined;
      throw e;
    }
  };
  const create = async (key: string, body: Record<string, unknown>) => {
    const res = await api('POST', '/domains', { key, body });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as { id: string; name: string };
  };
  return { db, table, tenants, store, a, b, keyA, keyB, sendingKeyA, calls, lines, api, item, sesIdentity, create, events, advance: (ms: number) => (clock += ms) };
}

describe('POST /domains', () => {
  it('creates the SES identity and answers 201 with the records to publish', async () => {
    // Prepare
    const w = await world();
    const name = uniqueName();
    // Act
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name } });
    // Assess
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['capabilities', 'click_tracking', 'created_at', 'dmarc', 'id', 'name', 'open_tracking', 'receiving', 'records', 'region', 'route53', 'status', 'tls', 'tracking_subdomain']);
    expect(res.body.receiving).toBeNull();
    expect(res.body.tracking_subdomain).toBeNull();
    expect(res.body.dmarc).toEqual({ name: `_dmarc.${name}`, type: 'TXT', ttl: 'Auto', value: `"v=DMARC1;p=quarantine;pct=25;rua=mailto:dmarcreports@${name}"` });
    expect(res.body).toMatchObject({ name, status: 'pending', region: 'us-east-1', open_tracking: false, click_tracking: false, capabilities: { sending: 'enabled', receiving: 'disabled' } });
    expect(Number.isNaN(Date.parse(res.body.created_at))).toBe(false);
    const records = res.body.records as { record: string; name: string; type: string; value: string; status: string; ttl: string; priority?: number }[];
    expect(records.map((r) => [r.record, r.type, r.status])).toEqual([
      ['DKIM', 'CNAME', 'pending'], ['DKIM', 'CNAME', 'pending'], ['DKIM', 'CNAME', 'pending'],
      ['SPF', 'MX', 'pending'], ['SPF', 'TXT', 'pending'],
    ]);
    expect(records[3]).toEqual({ record: 'SPF', name: `send.${name}`, type: 'MX', ttl: 'Auto', status: 'pending', value: 'feedback-smtp.us-east-1.amazonses.com', priority: 10 });
    expect(records[4]).toMatchObject({ name: `send.${name}`, value: '"v=spf1 include:amazonses.com ~all"' });

    // ... and SES has the identity as the records say, configured as documented.
    const identity = await w.sesIdentity(name);
    const tokens = identity!.DkimAttributes!.Tokens!;
    expect(records.slice(0, 3).map((r) => [r.name, r.value])).toEqual(tokens.map((t) => [`${t}._domainkey.${name}`, `${t}.dkim.amazonses.com`]));
    expect(identity!.DkimAttributes!.NextSigningKeyLength).toBe('RSA_2048_BIT');
    expect(identity!.MailFromAttributes).toMatchObject({ MailFromDomain: `send.${name}`, BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' });
    expect(identity!.FeedbackForwardingStatus).toBe(false);
    expect(identity!.Tags).toEqual([{ Key: TAG_TENANT_KEY, Value: w.a.id }, { Key: TAG_STACK_KEY, Value: LOCAL_STACK_NAME }]);
    expect(w.calls).toEqual(['create', 'configure']);
  });

  it('lower-cases the name, takes a custom return path and tracking, and stores them', async () => {
    const w = await world();
    const name = uniqueName();
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name: name.toUpperCase(), custom_return_path: 'Bounce', open_tracking: true, click_tracking: true, region: 'us-east-1', tls: 'opportunistic', capabilities: { sending: 'enabled' } } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name, open_tracking: true, click_tracking: true });
    expect(res.body.records[3].name).toBe(`bounce.${name}`);
    const stored = await w.store.getByName(name);
    expect(stored).toMatchObject({ id: res.body.id, tenantId: w.a.id, openTracking: true, clickTracking: true, customReturnPath: 'bounce', verifiedForSending: false });
    expect(await w.item(keys.domainById(res.body.id))).toMatchObject({ name, tenant_id: w.a.id });
  });

  it.each([
    ['a scheme', { name: 'https://example.com' }, 422, 'validation_error', /scheme/],
    ['a path', { name: 'example.com/welcome' }, 422, 'validation_error', /path/],
    ['a port', { name: 'example.com:25' }, 422, 'validation_error', /port/],
    ['an email address', { name: 'me@example.com' }, 422, 'validation_error', /email address/],
    ['a single label', { name: 'localhost' }, 422, 'validation_error', /not a valid domain/],
    ['an empty label', { name: 'a..example.com' }, 422, 'validation_error', /not a valid domain/],
    ['no name', {}, 422, 'missing_required_field', /Missing `name`/],
    ['a name that is not a string', { name: 5 }, 422, 'validation_error', /`name`/],
    ['another region', { name: 'example.com', region: 'eu-west-1' }, 422, 'validation_error', /us-east-1 only/],
    ['a return path of two labels', { name: 'example.com', custom_return_path: 'a.b' }, 422, 'validation_error', /custom_return_path/],
    ['a return path with a leading hyphen', { name: 'example.com', custom_return_path: '-send' }, 422, 'validation_error', /custom_return_path/],
    ['an unknown TLS mode', { name: 'example.com', tls: 'required' }, 422, 'validation_error', /tls/],
    ['a tracking subdomain', { name: 'example.com', tracking_subdomain: 'links' }, 422, 'validation_error', /tracking_subdomain/],
    ['an unknown receiving capability', { name: 'example.com', capabilities: { receiving: 'on' } }, 422, 'validation_error', /capabilities\.receiving/],
    ['a tracking flag that is not a boolean', { name: 'example.com', open_tracking: 'yes' }, 422, 'validation_error', /open_tracking/],
    ['a body that is not an object', ['example.com'], 422, 'validation_error', /JSON object/],
    ['a body that is not JSON', '{"name":', 400, 'validation_error', /not valid JSON/],
  ])('refuses %s, writing nothing', async (_what, body, status, name, message) => {
    // Prepare
    const w = await world();
    // Act
    const res = await w.api('POST', '/domains', { key: w.keyA, body });
    // Assess
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ statusCode: status, name, message: expect.stringMatching(message) });
    expect(w.calls).toEqual([]);
    expect(await w.item(keys.domainByName('example.com'))).toBeUndefined();
    expect(await w.store.list(w.a.id)).toEqual([]);
  });

  it('needs a full-access key', async () => {
    const w = await world();
    const restricted = await w.api('POST', '/domains', { key: w.sendingKeyA, body: { name: uniqueName() } });
    expect([restricted.status, restricted.body.name]).toEqual([401, 'restricted_api_key']);
    const missing = await w.api('POST', '/domains', { body: { name: uniqueName() } });
    expect([missing.status, missing.body.name]).toEqual([401, 'missing_api_key']);
    expect(w.calls).toEqual([]);
  });
});

describe('one tenant per domain', () => {
  it("refuses another tenant's create of the same name with 403, leaving the owner's domain as it was", async () => {
    // Prepare
    const w = await world();
    const name = uniqueName();
    const owned = await w.create(w.keyA, { name });
    w.calls.length = 0;
    // Act
    const res = await w.api('POST', '/domains', { key: w.keyB, body: { name } });
    // Assess
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ statusCode: 403, name: 'validation_error', message: `The ${name} domain has been registered already.` });
    expect(w.calls).toEqual([]);
    expect(await w.store.getByName(name)).toMatchObject({ id: owned.id, tenantId: w.a.id });
    expect(await w.store.list(w.b.id)).toEqual([]);
  });

  it('refuses the same tenant registering a name twice', async () => {
    const w = await world();
    const name = uniqueName();
    await w.create(w.keyA, { name });
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name } });
    expect([res.status, res.body.name]).toEqual([403, 'validation_error']);
    expect(res.body.message).toMatch(/has been registered already/);
    expect(await w.store.list(w.a.id)).toHaveLength(1);
  });

  it("refuses a parent of another tenant's domain, and releases the refused claim", async () => {
    // Prepare
    const w = await world();
    const parent = uniqueName();
    await w.create(w.keyA, { name: `mail.${parent}` });
    w.calls.length = 0;
    // Act
    const res = await w.api('POST', '/domains', { key: w.keyB, body: { name: parent } });
    // Assess
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringMatching(/subdomain of .* is registered by another account/) });
    expect(res.body.message).not.toContain(`mail.${parent}`);
    expect(w.calls).toEqual([]);
    expect(await w.item(keys.domainByName(parent))).toBeUndefined();
    expect(await w.item(keys.domainZone(parent))).toBeUndefined();
    expect(await w.sesIdentity(parent)).toBeUndefined();
  });

  it("refuses a subdomain, at any depth, of another tenant's domain", async () => {
    const w = await world();
    const parent = uniqueName();
    await w.create(w.keyA, { name: parent });
    for (const name of [`a.${parent}`, `x.y.${parent}`]) {
      const res = await w.api('POST', '/domains', { key: w.keyB, body: { name } });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringMatching(/parent domain of .* is registered by another account/) });
      expect(await w.item(keys.domainByName(name))).toBeUndefined();
    }
  });

  it('lets a tenant register subdomains and parents of its own domains, and unrelated look-alikes stay free', async () => {
    const w = await world();
    const base = uniqueName();
    await w.create(w.keyA, { name: `mail.${base}` });
    await w.create(w.keyA, { name: base });
    await w.create(w.keyA, { name: `eu.mail.${base}` });
    await w.create(w.keyB, { name: `x${base}` });
    expect((await w.store.list(w.a.id)).map((d) => d.name).sort()).toEqual([base, `eu.mail.${base}`, `mail.${base}`].sort());
  });

  it("hides a domain from every other tenant: read, verify, update and delete answer 404", async () => {
    // Prepare
    const w = await world();
    const owned = await w.create(w.keyA, { name: uniqueName() });
    w.calls.length = 0;
    // Act
    const answers = [
      await w.api('GET', `/domains/${owned.id}`, { key: w.keyB }),
      await w.api('POST', `/domains/${owned.id}/verify`, { key: w.keyB }),
      await w.api('PATCH', `/domains/${owned.id}`, { key: w.keyB, body: { open_tracking: true } }),
      await w.api('DELETE', `/domains/${owned.id}`, { key: w.keyB }),
    ];
    const list = await w.api('GET', '/domains', { key: w.keyB });
    // Assess
    for (const res of answers) expect(res).toMatchObject({ status: 404, body: { statusCode: 404, name: 'not_found', message: 'Domain not found' } });
    expect(list.body).toEqual({ object: 'list', has_more: false, data: [] });
    expect(w.calls).toEqual([]);
    expect(await w.store.getByName(owned.name)).toMatchObject({ id: owned.id, openTracking: false, status: 'pending' });
    expect(await w.sesIdentity(owned.name)).toBeDefined();
  });

  it('lets exactly one of two concurrent creates of the same name win', async () => {
    for (let round = 0; round < 5; round++) {
      const w = await world();
      const name = uniqueName();
      const results = await Promise.all([w.keyA, w.keyB].map((key) => w.api('POST', '/domains', { key, body: { name } })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 403]);
      const winner = results.find((r) => r.status === 201)!;
      expect(await w.store.getByName(name)).toMatchObject({ id: winner.body.id });
    }
  });

  it('never lets two tenants win a domain and its subdomain created at the same time', async () => {
    for (let round = 0; round < 5; round++) {
      const w = await world();
      const parent = uniqueName();
      const results = await Promise.all([
        w.api('POST', '/domains', { key: w.keyA, body: { name: parent } }),
        w.api('POST', '/domains', { key: w.keyB, body: { name: `mail.${parent}` } }),
      ]);
      expect(results.filter((r) => r.status === 201).length).toBeLessThanOrEqual(1);
      for (const r of results.filter((r) => r.status !== 201)) expect([r.status, r.body.name]).toEqual([403, 'validation_error']);
    }
  });

  it('ignores a claim abandoned by a crashed create once it is stale', async () => {
    // Prepare: tenant B's create crashed right after claiming the name
    const w = await world();
    const name = uniqueName();
    await w.store.claim({ id: randomUUID(), name, tenantId: w.b.id, status: 'not_started', verifiedForSending: false, region: 'us-east-1', openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString() });
    // Act / Assess
    const early = await w.api('POST', '/domains', { key: w.keyA, body: { name: `sub.${name}` } });
    expect(early.status).toBe(403);
    w.advance(STALE_CLAIM_MS + 1000);
    const late = await w.api('POST', '/domains', { key: w.keyA, body: { name: `sub.${name}` } });
    expect(late.status).toBe(201);
    const takeover = await w.api('POST', '/domains', { key: w.keyA, body: { name } });
    expect(takeover.status).toBe(201);
    expect(await w.store.getByName(name)).toMatchObject({ tenantId: w.a.id, id: takeover.body.id });
  });

  it('frees the name, its parents and subdomains for another tenant once deleted', async () => {
    const w = await world();
    const name = uniqueName();
    const owned = await w.create(w.keyA, { name });
    expect((await w.api('DELETE', `/domains/${owned.id}`, { key: w.keyA })).status).toBe(200);
    expect((await w.api('POST', '/domains', { key: w.keyB, body: { name: `mail.${name}` } })).status).toBe(201);
  });
});

describe('reading, verifying, updating and deleting', () => {
  it('serves GET from DynamoDB without calling SES', async () => {
    // Prepare
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName() });
    w.calls.length = 0;
    // Act
    const res = await w.api('GET', `/domains/${created.id}`, { key: w.keyA });
    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'domain', id: created.id, name: created.name, status: 'pending', created_at: expect.any(String), region: 'us-east-1',
      open_tracking: false, click_tracking: false, capabilities: { sending: 'enabled', receiving: 'disabled' },
      records: (created as unknown as { records: unknown[] }).records, tls: 'opportunistic', tracking_subdomain: null, route53: null, dmarc: (created as unknown as { dmarc: unknown }).dmarc,
      receiving: null,
    });
    expect(w.calls).toEqual([]);
  });

  it('verify re-reads SES and stores what it says', async () => {
    // Prepare: the local SES finds the records published at the first read after creation
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName() });
    w.calls.length = 0;
    // Act
    const res = await w.api('POST', `/domains/${created.id}/verify`, { key: w.keyA });
    // Assess
    expect(res).toMatchObject({ status: 200, body: { object: 'domain', id: created.id } });
    expect(Object.keys(res.body).sort()).toEqual(['id', 'object']);
    expect(w.calls).toEqual(['get']);
    const after = await w.api('GET', `/domains/${created.id}`, { key: w.keyA });
    expect(after.body.status).toBe('verified');
    expect(after.body.records.map((r: { record: string; status: string }) => [r.record, r.status])).toEqual([
      ['DKIM', 'verified'], ['DKIM', 'verified'], ['DKIM', 'verified'], ['SPF', 'verified'], ['SPF', 'verified'],
    ]);
    expect(await w.store.getByName(created.name)).toMatchObject({ verifiedForSending: true, status: 'verified' });
  });

  it('keeps a domain whose records are not published pending, and not sending', async () => {
    const w = await world();
    const name = uniqueName();
    const created = await w.create(w.keyA, { name });
    await services.ses.seedIdentity(name, { verified: false, dnsPublished: false });
    await w.api('POST', `/domains/${created.id}/verify`, { key: w.keyA });
    expect(await w.store.getByName(name)).toMatchObject({ status: 'pending', verifiedForSending: false });
  });

  it('answers 404 to verify when SES no longer has the identity, and stops sends from the domain', async () => {
    const w = await world();
    const name = uniqueName();
    const created = await w.create(w.keyA, { name });
    await w.api('POST', `/domains/${created.id}/verify`, { key: w.keyA });
    await new SesIdentities(services.ses.client, LOCAL_STACK_NAME).delete(name);
    const res = await w.api('POST', `/domains/${created.id}/verify`, { key: w.keyA });
    expect([res.status, res.body.name]).toEqual([404, 'not_found']);
    expect(await w.store.getByName(name)).toMatchObject({ status: 'failed', verifiedForSending: false });
  });

  it('lists the tenant\'s domains newest first, without records, with cursors', async () => {
    // Prepare
    const w = await world();
    const first = await w.create(w.keyA, { name: uniqueName() });
    w.advance(1000);
    const second = await w.create(w.keyA, { name: uniqueName() });
    await w.create(w.keyB, { name: uniqueName() });
    // Act
    const all = await w.api('GET', '/domains', { key: w.keyA });
    const one = await w.api('GET', '/domains?limit=1', { key: w.keyA });
    const next = await w.api('GET', `/domains?limit=1&after=${second.id}`, { key: w.keyA });
    const bad = await w.api('GET', '/domains?limit=0', { key: w.keyA });
    // Assess
    expect(all.status).toBe(200);
    expect(all.body.object).toBe('list');
    expect(all.body.has_more).toBe(false);
    expect(all.body.data.map((d: { id: string }) => d.id)).toEqual([second.id, first.id]);
    expect(Object.keys(all.body.data[0]).sort()).toEqual(['capabilities', 'click_tracking', 'created_at', 'id', 'name', 'open_tracking', 'region', 'status']);
    expect([one.body.has_more, one.body.data.map((d: { id: string }) => d.id)]).toEqual([true, [second.id]]);
    expect([next.body.has_more, next.body.data.map((d: { id: string }) => d.id)]).toEqual([false, [first.id]]);
    expect([bad.status, bad.body.name]).toEqual([422, 'validation_error']);
  });

  it('PATCH changes tracking and answers { object, id }', async () => {
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName() });
    const res = await w.api('PATCH', `/domains/${created.id}`, { key: w.keyA, body: { open_tracking: true, tls: 'opportunistic' } });
    expect(res).toMatchObject({ status: 200, body: { object: 'domain', id: created.id } });
    expect(await w.store.getByName(created.name)).toMatchObject({ openTracking: true, clickTracking: false });
    const again = await w.api('PATCH', `/domains/${created.id}`, { key: w.keyA, body: { click_tracking: true } });
    expect(again.status).toBe(200);
    const got = await w.api('GET', `/domains/${created.id}`, { key: w.keyA });
    expect(got.body).toMatchObject({ open_tracking: true, click_tracking: true });
  });

  it('PATCH capabilities.receiving turns receiving on and off: the Receiving MX joins the records, domain.updated says so', async () => {
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName() });
    const on = await w.api('PATCH', `/domains/${created.id}`, { key: w.keyA, body: { capabilities: { receiving: 'enabled' } } });
    expect(on).toMatchObject({ status: 200, body: { object: 'domain', id: created.id } });
    const got = await w.api('GET', `/domains/${created.id}`, { key: w.keyA });
    expect(got.body.capabilities).toEqual({ sending: 'enabled', receiving: 'enabled' });
    expect(got.body.records.filter((r: { record: string }) => r.record === 'Receiving')).toEqual([
      { record: 'Receiving', name: created.name, type: 'MX', ttl: 'Auto', status: 'pending', value: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 },
    ]);
    // No Route 53 zone is known for the domain: Sesame cannot look for an MX it has already, and says what to do if it has one.
    expect(got.body.receiving).toEqual({ existing_mx: null, advice: expect.stringContaining(`inbound.${created.name}`) });
    const updated = w.events.filter((e) => e.type === 'domain.updated').map((e) => JSON.parse(e.payload) as { data: { records: { record: string }[] } });
    expect(updated.at(-1)!.data.records.some((r) => r.record === 'Receiving')).toBe(true);
    expect((await w.store.getByName(created.name))!.receiving).toBe(true);

    const off = await w.api('PATCH', `/domains/${created.id}`, { key: w.keyA, body: { capabilities: { receiving: 'disabled' } } });
    expect(off.status).toBe(200);
    const after = await w.api('GET', `/domains/${created.id}`, { key: w.keyA });
    expect(after.body.capabilities.receiving).toBe('disabled');
    expect(after.body.records.some((r: { record: string }) => r.record === 'Receiving')).toBe(false);
    expect(after.body.receiving).toBeNull();
  });

  it('POST /domains with capabilities.receiving enabled creates a receiving domain', async () => {
    const w = await world();
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name: uniqueName(), capabilities: { receiving: 'enabled' } } });
    expect(res.status).toBe(201);
    expect(res.body.capabilities).toEqual({ sending: 'enabled', receiving: 'enabled' });
    expect(res.body.records.map((r: { record: string }) => r.record)).toContain('Receiving');
  });

  it.each([
    [{ open_tracking: 'yes' }, /open_tracking/],
    [{ tls: 'always' }, /tls/],
    [{ tracking_subdomain: 'links' }, /tracking_subdomain/],
  ])('PATCH refuses %j with 422 and changes nothing', async (body, message) => {
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName(), open_tracking: false });
    const res = await w.api('PATCH', `/domains/${created.id}`, { key: w.keyA, body });
    expect(res.body).toEqual({ statusCode: 422, name: 'validation_error', message: expect.stringMatching(message) });
    expect(await w.store.getByName(created.name)).toMatchObject({ openTracking: false, clickTracking: false });
  });

  it('DELETE removes the SES identity and the items, and answers { object, id, deleted }', async () => {
    // Prepare
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName() });
    w.calls.length = 0;
    // Act
    const res = await w.api('DELETE', `/domains/${created.id}`, { key: w.keyA });
    // Assess
    expect(res).toMatchObject({ status: 200, body: { object: 'domain', id: created.id, deleted: true } });
    expect(w.calls).toEqual(['delete']);
    expect(await w.sesIdentity(created.name)).toBeUndefined();
    for (const key of [keys.domainByName(created.name), keys.domainById(created.id), keys.domainZone(created.name)]) expect(await w.item(key)).toBeUndefined();
    expect((await w.api('GET', `/domains/${created.id}`, { key: w.keyA })).status).toBe(404);
    expect((await w.api('DELETE', `/domains/${created.id}`, { key: w.keyA })).status).toBe(404);
    expect((await w.api('GET', '/domains', { key: w.keyA })).body.data).toEqual([]);
  });

  it('a delete that failed after stopping sends can be repeated', async () => {
    // Prepare: SES fails the first delete
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName() });
    services.ses.failNext('DeleteEmailIdentity', 'TooManyRequestsException');
    const failed = await w.api('DELETE', `/domains/${created.id}`, { key: w.keyA });
    expect([failed.status, failed.body.name]).toEqual([429, 'rate_limit_exceeded']);
    // The domain no longer sends, nor appears, but its name is still held
    expect(await w.store.getByName(created.name)).toBeUndefined();
    expect((await w.api('GET', '/domains', { key: w.keyA })).body.data).toEqual([]);
    expect((await w.api('POST', '/domains', { key: w.keyB, body: { name: created.name } })).status).toBe(403);
    // Act
    const retried = await w.api('DELETE', `/domains/${created.id}`, { key: w.keyA });
    // Assess
    expect(retried.status).toBe(200);
    expect(await w.sesIdentity(created.name)).toBeUndefined();
    expect(await w.item(keys.domainByName(created.name))).toBeUndefined();
  });

  it('answers 404 for an id that is not one', async () => {
    const w = await world();
    for (const [method, url] of [['GET', '/domains/nope'], ['POST', '/domains/nope/verify'], ['PATCH', '/domains/nope'], ['DELETE', '/domains/nope']] as const) {
      expect((await w.api(method, url, { key: w.keyA, body: {} })).status).toBe(404);
    }
  });
});

describe('SES errors', () => {
  it('maps a full identity quota to 429 and leaves no claim behind', async () => {
    const w = await world();
    const name = uniqueName();
    services.ses.failNext('CreateEmailIdentity', 'LimitExceededException');
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name } });
    expect(res.body).toEqual({ statusCode: 429, name: 'rate_limit_exceeded', message: expect.stringMatching(/limit/) });
    expect(await w.item(keys.domainByName(name))).toBeUndefined();
    expect((await w.api('POST', '/domains', { key: w.keyA, body: { name } })).status).toBe(201);
  });

  it('undoes the SES identity when configuring it fails', async () => {
    const w = await world();
    const name = uniqueName();
    services.ses.failNext('PutEmailIdentityMailFromAttributes', 'BadRequestException');
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name } });
    expect([res.status, res.body.name]).toEqual([422, 'validation_error']);
    expect(await w.sesIdentity(name)).toBeUndefined();
    expect(await w.item(keys.domainByName(name))).toBeUndefined();
    expect(await w.item(keys.domainZone(name))).toBeUndefined();
  });

  it('maps throttling on verify to 429 rate_limit_exceeded', async () => {
    const w = await world();
    const created = await w.create(w.keyA, { name: uniqueName() });
    services.ses.failNext('GetEmailIdentity', 'TooManyRequestsException');
    const res = await w.api('POST', `/domains/${created.id}/verify`, { key: w.keyA });
    expect(res).toMatchObject({ status: 429, body: { statusCode: 429, name: 'rate_limit_exceeded' } });
    expect(res.headers['retry-after']).toBe('1');
  });

  it('refuses an identity SES has from outside Sesame with 403, and leaves it alone', async () => {
    const w = await world();
    const name = uniqueName();
    await services.ses.seedIdentity(name, { verified: true });
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name } });
    expect(res.body).toEqual({ statusCode: 403, name: 'validation_error', message: `The ${name} domain has been registered already.` });
    expect(await w.sesIdentity(name)).toBeDefined();
    expect(await w.item(keys.domainByName(name))).toBeUndefined();
  });

  it('adopts the identity a crashed create of the same tenant left in SES', async () => {
    // Prepare: SES has the identity, tagged with tenant A, and Sesame has nothing
    const w = await world();
    const name = uniqueName();
    await services.ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: name, Tags: [{ Key: TAG_TENANT_KEY, Value: w.a.id }] }));
    // Act
    const forB = await w.api('POST', '/domains', { key: w.keyB, body: { name } });
    const forA = await w.api('POST', '/domains', { key: w.keyA, body: { name } });
    // Assess
    expect(forB.status).toBe(403);
    expect(forA.status).toBe(201);
    const identity = await w.sesIdentity(name);
    expect(forA.body.records.slice(0, 3).map((r: { name: string }) => r.name)).toEqual(identity!.DkimAttributes!.Tokens!.map((t) => `${t}._domainkey.${name}`));
    expect(identity!.MailFromAttributes!.MailFromDomain).toBe(`send.${name}`);
  });

  it('answers an unexpected failure with a generic 500 that carries no internals', async () => {
    const w = await world();
    services.ses.failNext('CreateEmailIdentity', 'InternalServiceErrorException');
    const res = await w.api('POST', '/domains', { key: w.keyA, body: { name: uniqueName() } });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, name: 'internal_server_error', message: 'An unexpected error occurred.' });
    expect(w.lines.some((l) => l.includes('"level":"ERROR"'))).toBe(true);
  });
});
