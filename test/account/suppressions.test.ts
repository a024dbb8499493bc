/**
 * /suppressions against dynalite and the local SES endpoint through the real SES v2 client: the
 * table and the SES tenant's suppression list are both written, in the case given, and tenants
 * never see each other's entries.
 */
import { GetSuppressedDestinationCommand } from '@aws-sdk/client-sesv2';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { SuppressionStore } from '../../lambdas/core/adapters/suppressions';
import { sesTenantName } from '../../lambdas/core/domain/ses-tenants';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { suppressionRoutes } from '../../lambdas/account/suppressions';
import { call, captureLogger, isResendError, type Handler } from '../support/api';
import { startTestDynamo, startTestSes, type TestDynamo, type TestSes } from '../support/services';

const PREFIX = 'test';
let dynamo: TestDynamo;
let ses: TestSes;
let sesTenants: SesTenants;
let store: SuppressionStore;
let tenants: TenantStore;
let handler: Handler;
let acme: { tenantId: string; key: string };
let other: { tenantId: string; key: string };

/** What SES holds for the tenant: the exact-case address, or undefined. */
async function sesHolds(tenantId: string, email: string): Promise<string | undefined> {
  try {
    const res = await ses.client.send(new GetSuppressedDestinationCommand({ EmailAddress: email, TenantName: sesTenantName(PREFIX, tenantId) }));
    return res.SuppressedDestination?.EmailAddress;
  } catch (error) {
    if ((error as Error).name === 'NotFoundException') return undefined;
    throw error;
  }
}

beforeAll(async () => {
  [dynamo, ses] = await Promise.all([startTestDynamo(), startTestSes()]);
  const db = createDb(dynamo.doc, await dynamo.freshTable());
  tenants = new TenantStore(db);
  store = new SuppressionStore(db);
  sesTenants = new SesTenants(ses.client);
  handler = createApiHandler(suppressionRoutes({ suppressions: store, ses: sesTenants, sesTenantPrefix: PREFIX }), createAuthenticator(tenants), captureLogger().log) as Handler;
  const make = async (name: string) => {
    const tenant = await tenants.createTenant(name);
    await sesTenants.ensureTenant(sesTenantName(PREFIX, tenant.id));
    await sesTenants.useTenantSuppressionList(sesTenantName(PREFIX, tenant.id));
    return { tenantId: tenant.id, key: (await tenants.createKey(tenant.id)).token };
  };
  [acme, other] = await Promise.all([make('acme'), make('other')]);
});
afterAll(async () => {
  await Promise.all([dynamo.close(), ses.close()]);
});

describe('/suppressions', () => {
  it("adds an address to the table and to the SES tenant's list in the case given, and reads it by id or any case of it", async () => {
    const added = await call(handler, 'POST', '/suppressions', { key: acme.key, body: { email: 'Steve.Wozniak@Example.com' } });
    expect([added.status, added.body]).toEqual([201, { object: 'suppression', id: expect.any(String) }]);
    expect(await sesHolds(acme.tenantId, 'Steve.Wozniak@Example.com')).toBe('Steve.Wozniak@Example.com');

    const byId = await call(handler, 'GET', `/suppressions/${added.body.id}`, { key: acme.key });
    expect(byId.body).toEqual({
      object: 'suppression', id: added.body.id, email: 'Steve.Wozniak@Example.com', origin: 'manual', source_id: null, created_at: expect.any(String),
    });
    const byEmail = await call(handler, 'GET', `/suppressions/${encodeURIComponent('steve.wozniak@example.com')}`, { key: acme.key });
    expect(byEmail.body.id).toBe(added.body.id);

    // Adding any case of it again is the same entry; SES keeps the first case.
    const again = await call(handler, 'POST', '/suppressions', { key: acme.key, body: { email: 'STEVE.WOZNIAK@example.com' } });
    expect(again.body.id).toBe(added.body.id);
    expect(await sesHolds(acme.tenantId, 'STEVE.WOZNIAK@example.com')).toBeUndefined();
  });

  it("keeps tenants apart: another tenant neither sees, removes nor suppresses the entry in its own SES tenant", async () => {
    const added = await call(handler, 'POST', '/suppressions', { key: acme.key, body: { email: 'private@example.org' } });
    for (const target of [added.body.id, 'private@example.org']) {
      const read = await call(handler, 'GET', `/suppressions/${encodeURIComponent(target)}`, { key: other.key });
      expect([read.status, read.body.name]).toEqual([404, 'not_found']);
      const removed = await call(handler, 'DELETE', `/suppressions/${encodeURIComponent(target)}`, { key: other.key });
      expect(removed.status).toBe(404);
    }
    const list = await call(handler, 'GET', '/suppressions', { key: other.key });
    expect(list.body.data.map((s: { email: string }) => s.email)).not.toContain('private@example.org');
    expect(await sesHolds(other.tenantId, 'private@example.org')).toBeUndefined();
    expect(await sesHolds(acme.tenantId, 'private@example.org')).toBe('private@example.org');
  });

  it('removes an entry by email or id from SES (exact stored case) and the table', async () => {
    const added = await call(handler, 'POST', '/suppressions', { key: acme.key, body: { email: 'Gone@Example.net' } });
    const removed = await call(handler, 'DELETE', `/suppressions/${encodeURIComponent('gone@example.net')}`, { key: acme.key });
    expect(removed.body).toEqual({ object: 'suppression', id: added.body.id, deleted: true });
    expect(await sesHolds(acme.tenantId, 'Gone@Example.net')).toBeUndefined();
    expect((await call(handler, 'GET', `/suppressions/${added.body.id}`, { key: acme.key })).status).toBe(404);
  });

  it('lists newest first with cursors and filters by origin', async () => {
    const t = await (async () => {
      const tenant = await tenants.createTenant('lister');
      await sesTenants.ensureTenant(sesTenantName(PREFIX, tenant.id));
      return { tenantId: tenant.id, key: (await tenants.createKey(tenant.id)).token };
    })();
    const emails = ['a@example.com', 'b@example.com', 'c@example.com'];
    const ids: string[] = [];
    for (const email of emails) {
      ids.push((await call(handler, 'POST', '/suppressions', { key: t.key, body: { email } })).body.id);
      await new Promise((r) => setTimeout(r, 5));
    }
    // An entry from a bounce, as ingest records it (SES already holds the address).
    const { suppression } = await store.claim({ tenantId: t.tenantId, email: 'Bounced@example.com', origin: 'bounce', sourceId: '00000000-0000-4000-8000-000000000001' });
    await store.complete(suppression);

    const first = await call(handler, 'GET', '/suppressions?limit=2', { key: t.key });
    expect(first.body).toMatchObject({ object: 'list', has_more: true });
    expect(first.body.data.map((s: { email: string }) => s.email)).toEqual(['Bounced@example.com', 'c@example.com']);
    const next = await call(handler, 'GET', `/suppressions?limit=2&after=${first.body.data[1].id}`, { key: t.key });
    expect([next.body.has_more, next.body.data.map((s: { email: string }) => s.email)]).toEqual([false, ['b@example.com', 'a@example.com']]);
    const back = await call(handler, 'GET', `/suppressions?limit=1&before=${ids[0]}`, { key: t.key });
    expect(back.body.data.map((s: { email: string }) => s.email)).toEqual(['b@example.com']);

    const bounces = await call(handler, 'GET', '/suppressions?origin=bounce', { key: t.key });
    expect(bounces.body.data).toEqual([{ id: suppression.id, email: 'Bounced@example.com', origin: 'bounce', source_id: '00000000-0000-4000-8000-000000000001', created_at: suppression.createdAt }]);
    const manual = await call(handler, 'GET', '/suppressions?origin=manual', { key: t.key });
    expect(manual.body.data).toHaveLength(3);
  });

  it('adds and removes up to 100 at once, checking every address before writing anything', async () => {
    const bad = await call(handler, 'POST', '/suppressions/batch/add', { key: acme.key, body: { emails: ['ok1@example.com', 'not an address'] } });
    expect([bad.status, isResendError(bad.body)]).toEqual([422, true]);
    expect(await store.byAddress(acme.tenantId, 'ok1@example.com')).toBeUndefined();
    const tooMany = await call(handler, 'POST', '/suppressions/batch/add', { key: acme.key, body: { emails: Array.from({ length: 101 }, (_, i) => `x${i}@example.com`) } });
    expect(tooMany.status).toBe(422);

    const added = await call(handler, 'POST', '/suppressions/batch/add', { key: acme.key, body: { emails: ['ok1@example.com', 'ok2@example.com'] } });
    expect(added.status).toBe(201);
    expect(added.body.data).toEqual([{ object: 'suppression', id: expect.any(String) }, { object: 'suppression', id: expect.any(String) }]);
    expect(await sesHolds(acme.tenantId, 'ok2@example.com')).toBe('ok2@example.com');

    const both = await call(handler, 'POST', '/suppressions/batch/remove', { key: acme.key, body: { emails: ['ok1@example.com'], ids: [added.body.data[1].id] } });
    expect(both.status).toBe(422);
    const removed = await call(handler, 'POST', '/suppressions/batch/remove', { key: acme.key, body: { ids: [added.body.data[0].id, added.body.data[1].id, '00000000-0000-4000-8000-0000000000ff'] } });
    expect(removed.body.data).toEqual([
      { object: 'suppression', id: added.body.data[0].id, deleted: true },
      { object: 'suppression', id: added.body.data[1].id, deleted: true },
      { object: 'suppression', id: '00000000-0000-4000-8000-0000000000ff', deleted: false },
    ]);
    expect(await sesHolds(acme.tenantId, 'ok1@example.com')).toBeUndefined();
  });

  it('refuses bad input in Resend\'s format and writes nothing', async () => {
    for (const [body, name] of [[{}, 'missing_required_field'], [{ email: 'nope' }, 'validation_error']] as const) {
      const res = await call(handler, 'POST', '/suppressions', { key: acme.key, body });
      expect([res.status, res.body.name, isResendError(res.body)]).toEqual([422, name, true]);
    }
    expect((await call(handler, 'GET', '/suppressions?origin=spam', { key: acme.key })).status).toBe(422);
    expect((await call(handler, 'GET', '/suppressions?after=nope', { key: acme.key })).status).toBe(422);
    // Neither an id nor an address (a long one would exceed DynamoDB's key size): 404, not 500.
    for (const target of ['not-an-id', `${'x'.repeat(3000)}@example.com`]) {
      const res = await call(handler, 'GET', `/suppressions/${encodeURIComponent(target)}`, { key: acme.key });
      expect([res.status, res.body.name]).toEqual([404, 'not_found']);
    }
  });

  it('completes an entry whose add failed at SES when it is added again; nothing is listed meanwhile', async () => {
    ses.failNext('PutSuppressedDestination', 'InternalServiceErrorException');
    const failed = await call(handler, 'POST', '/suppressions', { key: acme.key, body: { email: 'Retry@example.com' } });
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ statusCode: 500, name: expect.any(String), message: expect.not.stringContaining('Internal') });
    expect((await call(handler, 'GET', '/suppressions/retry@example.com', { key: acme.key })).status).toBe(404);

    const retried = await call(handler, 'POST', '/suppressions', { key: acme.key, body: { email: 'retry@example.com' } });
    expect(retried.status).toBe(201);
    expect(await sesHolds(acme.tenantId, 'Retry@example.com')).toBe('Retry@example.com');
    expect((await call(handler, 'GET', `/suppressions/${retried.body.id}`, { key: acme.key })).body.email).toBe('Retry@example.com');
  });
});
