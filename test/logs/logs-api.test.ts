/**
 * Request logs through the real handler path on dynalite: the middleware records each
 * authenticated request once its answer is known; GET /logs and GET /logs/{id} answer a tenant's
 * own logs, newest first, with secrets removed.
 */
import { createDb, type Db } from '../../lambdas/core/adapters/dynamo';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { RequestLogStore } from '../../lambdas/core/adapters/request-logs';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { apiKeyRoutes } from '../../lambdas/account/api-keys';
import { logRoutes } from '../../lambdas/account/logs';
import { call, captureLogger, isResendError, type Handler } from '../support/api';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { itemBytes } from '../../lambdas/core/adapters/dynamo';
import { loggedBody } from '../../lambdas/core/domain/request-log';
import { timeOrderedDerivedId } from '../../lambdas/core/domain/ids';
import { keys } from '../../lambdas/core/table';

let dynamo: TestDynamo;
let db: Db;
let clock: number;
let tenants: TenantStore;
let logs: RequestLogStore;
let handler: Handler;
let acme: { tenantId: string; key: string; keyId: string };
let other: { key: string };

const routesOf = (store: RequestLogStore) => ({ ...apiKeyRoutes({ tenants, domains: new DomainStore(db) }), ...logRoutes({ logs: store }) });

beforeAll(async () => {
  dynamo = await startTestDynamo();
  clock = Date.parse('2026-11-29T10:00:00Z');
  db = createDb(dynamo.doc, await dynamo.freshTable(), () => clock);
  tenants = new TenantStore(db);
  logs = new RequestLogStore(db, 7);
  handler = createApiHandler(routesOf(logs), createAuthenticator(tenants), captureLogger().log, undefined, { requestLog: logs }) as Handler;
  const t = await tenants.createTenant('acme');
  const k = await tenants.createKey(t.id, { name: 'server' });
  acme = { tenantId: t.id, key: k.token, keyId: k.id };
  const o = await tenants.createTenant('other');
  other = { key: (await tenants.createKey(o.id)).token };
});
afterAll(() => dynamo.close());

const tick = () => { clock += 1000; };

describe('request logs', () => {
  it('records a request with its key, user agent and redacted bodies, and answers it by id', async () => {
    tick();
    const created = await call(handler, 'POST', '/api-keys', { key: acme.key, body: { name: 'ci' }, headers: { 'user-agent': 'resend-node:6.38.0' } });
    expect(created.status).toBe(201);
    tick();
    const listed = await call(handler, 'GET', '/logs?limit=1', { key: acme.key });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      object: 'list',
      has_more: false,
      data: [{
        id: expect.any(String), created_at: new Date(clock - 1000).toISOString(), endpoint: '/api-keys', method: 'POST',
        response_status: 201, user_agent: 'resend-node:6.38.0', api_key_id: acme.keyId, api_key_name: 'server',
      }],
    });
    tick();
    const one = await call(handler, 'GET', `/logs/${listed.body.data[0].id}`, { key: acme.key });
    expect(one.body).toMatchObject({ object: 'log', id: listed.body.data[0].id, request_body: { name: 'ci' }, response_body: { id: created.body.id, token: '[redacted]' } });
    expect(JSON.stringify(one.body)).not.toContain(created.body.token);
  });

  it('records refused requests with the error answered, and only authenticated ones', async () => {
    tick();
    const refused = await call(handler, 'POST', '/api-keys', { key: acme.key, body: { name: '' } });
    expect(refused.status).toBe(422);
    tick();
    expect((await call(handler, 'GET', '/logs', { key: 're_not_a_real_key_at_all' })).status).toBe(403);
    tick();
    const listed = await call(handler, 'GET', '/logs?limit=2', { key: acme.key });
    // Newest first: the 422, then the previous test's GET /logs/{id}; the 403 (no tenant) is not recorded.
    expect(listed.body.data.map((l: { method: string; endpoint: string; response_status: number }) => [l.method, l.endpoint.replace(/[0-9a-f-]{36}$/, '{id}'), l.response_status]))
      .toEqual([['POST', '/api-keys', 422], ['GET', '/logs/{id}', 200]]);
    const one = await call(handler, 'GET', `/logs/${listed.body.data[0].id}`, { key: acme.key });
    expect(one.body.response_body).toMatchObject({ statusCode: 422, name: 'validation_error' });
  });

  it('pages newest first with after and before', async () => {
    for (let i = 0; i < 5; i++) {
      tick();
      await call(handler, 'GET', `/api-keys?n=${i}`, { key: acme.key });
    }
    const all: string[] = [];
    let after: string | undefined;
    let hasMore = true;
    while (hasMore) {
      tick();
      const page = await call(handler, 'GET', `/logs?limit=3${after ? `&after=${after}` : ''}`, { key: acme.key });
      all.push(...page.body.data.map((l: { id: string }) => l.id));
      hasMore = page.body.has_more;
      after = page.body.data.at(-1).id;
    }
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort().reverse()).toEqual(all);
    const back = await call(handler, 'GET', `/logs?limit=2&before=${all[4]}`, { key: acme.key });
    expect(back.body.data.map((l: { id: string }) => l.id)).toEqual([all[2], all[3]]);
  });

  it('shows a tenant only its own logs', async () => {
    tick();
    const mine = await call(handler, 'GET', '/logs?limit=1', { key: acme.key });
    const theirs = await call(handler, 'GET', '/logs', { key: other.key });
    // The only log of the other tenant is the GET /logs it is making now (recorded after it answers).
    expect(theirs.body.data).toEqual([]);
    const stolen = await call(handler, 'GET', `/logs/${mine.body.data[0].id}`, { key: other.key });
    expect(stolen.status).toBe(404);
    expect(isResendError(stolen.body)).toBe(true);
    expect((await call(handler, 'GET', '/logs/not-an-id', { key: acme.key })).status).toBe(404);
    expect((await call(handler, 'GET', '/logs?limit=0', { key: acme.key })).status).toBe(422);
  });

  it('stops showing logs past the retention', async () => {
    const id = (await call(handler, 'GET', '/logs?limit=1', { key: acme.key })).body.data[0].id;
    clock += 8 * 86_400_000;
    expect((await call(handler, 'GET', '/logs', { key: acme.key })).body.data).toEqual([]);
    expect((await call(handler, 'GET', `/logs/${id}`, { key: acme.key })).status).toBe(404);
  });

  it('keeps a typical POST /emails in one write unit (under 1 KB), the id and time in the key only', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `<tr><td>Item ${i + 1}</td><td>1</td><td>$${(9.99 + i).toFixed(2)}</td></tr>`).join('');
    const body = JSON.stringify({
      from: 'Acme <receipts@acme.test>', to: 'customer@example.com', subject: 'Your receipt #100000',
      html: `<html><body><h1>Thanks for your order</h1><p>Order #100000 is confirmed.</p><table>${rows}</table><p>Questions? Reply to this email.</p></body></html>`,
      text: 'Thanks for your order. Order #100000 is confirmed. Questions? Reply to this email.', tags: [{ name: 'kind', value: 'receipt' }],
    });
    const id = await logs.record({
      tenantId: acme.tenantId, keyId: acme.keyId, keyName: 'server', method: 'POST', endpoint: '/emails', status: 200,
      userAgent: 'resend-node:6.38.0', requestBody: loggedBody(body), responseBody: loggedBody('{"id":"4ef9a417-02e9-4d39-ad75-9611e0fcc33c"}'),
    });
    const { Item } = await db.doc.send(new GetCommand({ TableName: db.table, Key: keys.requestLog(acme.tenantId, id) }));
    expect(itemBytes(Item!)).toBeLessThanOrEqual(1024);
    expect(Item).not.toHaveProperty('log_id');
    expect(Item).not.toHaveProperty('created_at');
    expect(await logs.get(acme.tenantId, id)).toMatchObject({ id, createdAt: new Date(clock).toISOString(), endpoint: '/emails', keyName: 'server' });
  });

  it('still reads logs written with their id and time as attributes', async () => {
    tick();
    const id = timeOrderedDerivedId(clock, 'earlier layout');
    await db.doc.send(new PutCommand({
      TableName: db.table,
      Item: {
        ...keys.requestLog(acme.tenantId, id), kind: 'request_log', log_id: id, created_at: new Date(clock).toISOString(), method: 'GET', endpoint: '/domains',
        status: 200, key_id: acme.keyId, key_name: 'server', response_body: '{"data":[]}', expires_at: Math.floor(clock / 1000) + 86_400,
      },
    }));
    const listed = await call(handler, 'GET', '/logs?limit=1', { key: acme.key });
    expect(listed.body.data[0]).toMatchObject({ id, created_at: new Date(clock).toISOString(), endpoint: '/domains', method: 'GET', response_status: 200 });
    expect((await call(handler, 'GET', `/logs/${id}`, { key: acme.key })).body).toMatchObject({ id, response_body: { data: [] } });
  });

  it('answers the request when the log write fails, and logs the failure', async () => {
    const captured = captureLogger();
    const failing = { record: async () => { throw new Error('throttled'); } };
    const h = createApiHandler(routesOf(logs), createAuthenticator(tenants), captured.log, undefined, { requestLog: failing }) as Handler;
    const res = await call(h, 'GET', '/api-keys', { key: acme.key });
    expect(res.status).toBe(200);
    expect(captured.lines.some((l) => l.includes('request log not written'))).toBe(true);
  });

  it('records nothing when request logging is off', async () => {
    const fresh = createDb(dynamo.doc, await dynamo.freshTable(), () => clock);
    tenants = new TenantStore(fresh);
    const t = await tenants.createTenant('quiet');
    const key = (await tenants.createKey(t.id)).token;
    const store = new RequestLogStore(fresh, 7);
    const off = createApiHandler(routesOf(store), createAuthenticator(tenants), captureLogger().log) as Handler;
    await call(off, 'GET', '/api-keys', { key });
    expect((await store.list(t.id, { limit: 10 })).data).toEqual([]);
  });
});
