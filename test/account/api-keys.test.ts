import { createDb } from '../../lambdas/core/adapters/dynamo';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { hashApiKey } from '../../lambdas/core/domain/ids';
import { apiKeyRoutes } from '../../lambdas/account/api-keys';
import { call, captureLogger, isResendError, type Handler } from '../support/api';
import { startTestDynamo, type TestDynamo } from '../support/services';

let dynamo: TestDynamo;
let tenants: TenantStore;
let domains: DomainStore;
let handler: Handler;
let acme: { tenantId: string; key: string };

beforeAll(async () => {
  dynamo = await startTestDynamo();
  const db = createDb(dynamo.doc, await dynamo.freshTable());
  tenants = new TenantStore(db);
  domains = new DomainStore(db);
  handler = createApiHandler(apiKeyRoutes({ tenants, domains }), createAuthenticator(tenants), captureLogger().log) as Handler;
  const tenant = await tenants.createTenant('acme');
  acme = { tenantId: tenant.id, key: (await tenants.createKey(tenant.id)).token };
});
afterAll(() => dynamo.close());

describe('/api-keys', () => {
  it('creates a key shown once, stored only as its hash, and lists it without the token', async () => {
    const created = await call(handler, 'POST', '/api-keys', { key: acme.key, body: { name: 'ci', permission: 'sending_access' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), token: expect.stringMatching(/^re_/) });
    expect(await tenants.findKeyByHash(hashApiKey(created.body.token))).toMatchObject({ tenantId: acme.tenantId, permission: 'sending_access' });

    const listed = await call(handler, 'GET', '/api-keys', { key: acme.key });
    expect(listed.body.object).toBe('list');
    const mine = listed.body.data.find((k: { id: string }) => k.id === created.body.id);
    expect(mine).toMatchObject({ name: 'ci', permission: 'sending_access' });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
  });

  it('limits a sending key to one of the tenant\'s domains by domain_id', async () => {
    const id = '00000000-0000-4000-8000-00000000000a';
    await domains.put({ id, name: 'acme.test', tenantId: acme.tenantId, status: 'verified', verifiedForSending: true, region: 'us-east-1', openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString() });
    const created = await call(handler, 'POST', '/api-keys', { key: acme.key, body: { name: 'bound', permission: 'sending_access', domain_id: id } });
    expect(created.status).toBe(201);
    expect(await tenants.findKeyByHash(hashApiKey(created.body.token))).toMatchObject({ domain: 'acme.test' });
  });

  it.each([
    [{}, 422],
    [{ name: '' }, 422],
    [{ name: 'x', permission: 'root' }, 422],
    [{ name: 'x', domain_id: '00000000-0000-4000-8000-00000000000a' }, 422],
    [{ name: 'x', permission: 'sending_access', domain_id: '00000000-0000-4000-8000-0000000000ff' }, 404],
  ])('refuses %j in Resend\'s format', async (body, status) => {
    const before = (await tenants.listKeys(acme.tenantId)).length;
    const res = await call(handler, 'POST', '/api-keys', { key: acme.key, body });
    expect(res.status).toBe(status);
    expect(isResendError(res.body)).toBe(true);
    expect(await tenants.listKeys(acme.tenantId)).toHaveLength(before);
  });

  it('revokes a key of the tenant; another tenant gets 404 and cannot list it', async () => {
    const created = await call(handler, 'POST', '/api-keys', { key: acme.key, body: { name: 'temp' } });
    const other = await tenants.createTenant('other');
    const otherKey = (await tenants.createKey(other.id)).token;

    const foreign = await call(handler, 'DELETE', `/api-keys/${created.body.id}`, { key: otherKey });
    expect([foreign.status, foreign.body.name]).toEqual([404, 'not_found']);
    const theirs = await call(handler, 'GET', '/api-keys', { key: otherKey });
    expect(theirs.body.data.map((k: { id: string }) => k.id)).not.toContain(created.body.id);

    const removed = await call(handler, 'DELETE', `/api-keys/${created.body.id}`, { key: acme.key });
    expect(removed.body).toEqual({ object: 'api_key', id: created.body.id, deleted: true });
    expect(await tenants.findKeyByHash(hashApiKey(created.body.token))).toBeUndefined();
  });

  it('renames a key of the tenant (PATCH, as apiKeys.update calls it); another tenant gets 404 and changes nothing', async () => {
    const created = await call(handler, 'POST', '/api-keys', { key: acme.key, body: { name: 'old' } });
    const other = await tenants.createTenant('renamer');
    const otherKey = (await tenants.createKey(other.id)).token;

    const foreign = await call(handler, 'PATCH', `/api-keys/${created.body.id}`, { key: otherKey, body: { name: 'stolen' } });
    expect([foreign.status, foreign.body.name]).toEqual([404, 'not_found']);
    const invalid = await call(handler, 'PATCH', `/api-keys/${created.body.id}`, { key: acme.key, body: { name: '' } });
    expect([invalid.status, isResendError(invalid.body)]).toEqual([422, true]);
    const missing = await call(handler, 'PATCH', `/api-keys/${created.body.id}`, { key: acme.key, body: {} });
    expect([missing.status, missing.body.name]).toEqual([422, 'missing_required_field']);
    expect((await tenants.listKeys(acme.tenantId)).find((k) => k.id === created.body.id)?.name).toBe('old');

    const renamed = await call(handler, 'PATCH', `/api-keys/${created.body.id}`, { key: acme.key, body: { name: ' deploy ' } });
    expect([renamed.status, renamed.body]).toEqual([200, { object: 'api_key', id: created.body.id }]);
    expect((await tenants.listKeys(acme.tenantId)).find((k) => k.id === created.body.id)?.name).toBe('deploy');
    expect(await tenants.findKeyByHash(hashApiKey(created.body.token))).toMatchObject({ keyId: created.body.id });
  });

  it('is closed to sending keys', async () => {
    const sending = await tenants.createKey(acme.tenantId, { permission: 'sending_access' });
    const res = await call(handler, 'GET', '/api-keys', { key: sending.token });
    expect([res.status, res.body.name]).toEqual([401, 'restricted_api_key']);
  });
});

describe('key management skips the key cache', () => {
  it('refuses a key revoked a moment ago on every /api-keys route, though the cache still holds it', async () => {
    const tenant = await tenants.createTenant('revoked');
    const doomed = await tenants.createKey(tenant.id);
    // Warm the cache with the key, then revoke it.
    expect((await call(handler, 'GET', '/api-keys', { key: doomed.token })).status).toBe(200);
    expect(await tenants.revokeKey(doomed.id)).toBe(true);

    for (const [method, path, body] of [['GET', '/api-keys'], ['POST', '/api-keys', { name: 'heir' }], ['DELETE', `/api-keys/${doomed.id}`]] as const) {
      const res = await call(handler, method, path, { key: doomed.token, ...(body ? { body } : {}) });
      expect([res.status, res.body.name]).toEqual([403, 'invalid_api_key']);
    }
    // ... and above all, it made no key that would outlive it.
    expect(await tenants.listKeys(tenant.id)).toEqual([]);
  });
});
