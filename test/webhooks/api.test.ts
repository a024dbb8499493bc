import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { silentLogger } from '../../lambdas/core/log';
import { createApiHandler } from '../../lambdas/core/http/api';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { SqsDeliveryQueue } from '../../lambdas/core/adapters/fan-out';
import { ROTATION_OVERLAP_MS, signingSecrets, webhookHeaders } from '../../lambdas/core/domain/webhook-signing';
import { parseDeliveryMessage } from '../../lambdas/core/domain/webhook-payload';
import { webhookRoutes } from '../../lambdas/account/webhooks';
import { type ApiLambda, startApiServer } from '../../lambdas/local/api-server';
import { Resend } from 'resend';

import { deliveryMessage, KnownPayloads, localServices, stores, type Stores } from './helpers';

const silent = silentLogger;

type Api = (method: string, path: string, body?: unknown, key?: string) => Promise<{ status: number; body: any }>;

/** An API Gateway v2 event for `METHOD /path`, matched against the route keys as API Gateway does. */
function apiEvent(routeKeys: string[], method: string, path: string, body: unknown, key: string): APIGatewayProxyEventV2 {
  const [rawPath, rawQuery = ''] = path.split('?') as [string, string?];
  const segments = rawPath.split('/').filter(Boolean);
  let routeKey = `${method} ${rawPath}`;
  const pathParameters: Record<string, string> = {};
  for (const candidate of routeKeys) {
    const [m, pattern] = candidate.split(' ') as [string, string];
    const parts = pattern.split('/').filter(Boolean);
    if (m !== method || parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    if (parts.every((p, i) => (p.startsWith('{') ? ((params[p.slice(1, -1)] = segments[i]!), true) : p === segments[i]))) {
      routeKey = candidate;
      Object.assign(pathParameters, params);
      break;
    }
  }
  const query = Object.fromEntries(new URLSearchParams(rawQuery));
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: rawQuery,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters,
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method, path: rawPath }, requestId: `req-${Math.random()}` },
  } as unknown as APIGatewayProxyEventV2;
}

describe('/webhooks API', () => {
  const services = localServices();
  let s: Stores;
  let queueUrl: string;
  let api: Api;
  let keyA: string;
  let keyB: string;
  let payloads: KnownPayloads;

  beforeEach(async () => {
    payloads = new KnownPayloads();
    s = await stores(services.dynamo);
    queueUrl = (await services.sqs.freshQueue()).url;
    const tenants = new TenantStore(s.db);
    await tenants.createTenant('Tenant A', 'ta');
    await tenants.createTenant('Tenant B', 'tb');
    keyA = (await tenants.createKey('ta')).token;
    keyB = (await tenants.createKey('tb')).token;
    const routes = webhookRoutes({
      webhooks: s.webhooks, deliveries: s.deliveries, payloads, queue: new SqsDeliveryQueue(services.sqs.client, queueUrl),
      endpointPolicy: { allowLoopback: false, allowHttp: false }, now: s.clock.now,
    });
    const handler = createApiHandler(routes, createAuthenticator(tenants), silent);
    api = async (method, path, body, key = keyA) => {
      const res = (await handler(apiEvent(Object.keys(routes), method, path, body, key), { awsRequestId: 'test' } as Context)) as APIGatewayProxyStructuredResultV2;
      return { status: res.statusCode!, body: res.body ? JSON.parse(res.body) : undefined };
    };
  });

  async function queued(expected: number) {
    const { Messages } = await services.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    expect(Messages ?? []).toHaveLength(expected);
    return (Messages ?? []).map((m) => parseDeliveryMessage(m.Body!));
  }

  it('creates, lists, gets, updates and deletes a webhook in Resend\'s format', async () => {
    const created = await api('POST', '/webhooks', { endpoint: 'https://hooks.example.com/sesame', events: ['email.delivered', 'email.bounced'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ object: 'webhook', id: expect.any(String), signing_secret: expect.stringMatching(/^whsec_/) });
    const id = created.body.id as string;

    const got = await api('GET', `/webhooks/${id}`);
    expect(got).toEqual({
      status: 200,
      body: {
        object: 'webhook', id, endpoint: 'https://hooks.example.com/sesame', events: ['email.delivered', 'email.bounced'],
        status: 'enabled', created_at: expect.any(String), signing_secret: created.body.signing_secret,
      },
    });

    s.clock.set(Date.now() + 1000); // created strictly later, so the list order is certain
    const second = await api('POST', '/webhooks', { endpoint: 'https://other.example.com/x', events: ['email.sent'] });
    const list = await api('GET', '/webhooks');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ object: 'list', has_more: false });
    expect(list.body.data.map((w: { id: string }) => w.id)).toEqual([second.body.id, id]);
    expect(list.body.data[0]).not.toHaveProperty('signing_secret');
    const paged = await api('GET', '/webhooks?limit=1');
    expect(paged.body).toMatchObject({ has_more: true, data: [{ id: second.body.id }] });
    const next = await api('GET', `/webhooks?limit=1&after=${second.body.id}`);
    expect(next.body).toMatchObject({ has_more: false, data: [{ id }] });

    const updated = await api('PATCH', `/webhooks/${id}`, { events: ['email.opened'], status: 'disabled', endpoint: 'https://hooks.example.com/v2' });
    expect(updated).toEqual({ status: 200, body: { object: 'webhook', id } });
    expect((await api('GET', `/webhooks/${id}`)).body).toMatchObject({ events: ['email.opened'], status: 'disabled', endpoint: 'https://hooks.example.com/v2' });

    expect(await api('DELETE', `/webhooks/${id}`)).toEqual({ status: 200, body: { object: 'webhook', id, deleted: true } });
    expect((await api('GET', `/webhooks/${id}`)).status).toBe(404);
  });

  it("subscribes to Resend's domain events as well as email events", async () => {
    const created = await api('POST', '/webhooks', { endpoint: 'https://hooks.example.com/domains', events: ['domain.created', 'domain.updated', 'domain.deleted', 'email.sent'] });
    expect(created.status).toBe(201);
    expect((await api('GET', `/webhooks/${created.body.id}`)).body.events).toEqual(['domain.created', 'domain.updated', 'domain.deleted', 'email.sent']);
    expect((await api('POST', '/webhooks', { endpoint: 'https://hooks.example.com/d', events: ['domain.verified'] })).body.name).toBe('validation_error');
  });

  it('refuses bad endpoints and unknown event types with 422', async () => {
    const cases: [unknown, string][] = [
      [{ endpoint: 'https://10.1.2.3/hook', events: ['email.sent'] }, 'validation_error'],
      [{ endpoint: 'https://169.254.169.254/latest', events: ['email.sent'] }, 'validation_error'],
      [{ endpoint: 'https://[::1]/hook', events: ['email.sent'] }, 'validation_error'],
      [{ endpoint: 'http://hooks.example.com/hook', events: ['email.sent'] }, 'validation_error'],
      [{ endpoint: 'https://u:p@hooks.example.com/hook', events: ['email.sent'] }, 'validation_error'],
      [{ endpoint: 'ftp://hooks.example.com/hook', events: ['email.sent'] }, 'validation_error'],
      [{ endpoint: 'https://hooks.example.com/hook', events: ['email.exploded'] }, 'validation_error'],
      [{ endpoint: 'https://hooks.example.com/hook', events: [] }, 'validation_error'],
      [{ events: ['email.sent'] }, 'missing_required_field'],
    ];
    for (const [body, name] of cases) {
      const res = await api('POST', '/webhooks', body);
      expect([res.status, res.body.name, JSON.stringify(body)]).toEqual([422, name, JSON.stringify(body)]);
    }
    const { body } = await api('POST', '/webhooks', { endpoint: 'https://hooks.example.com/hook', events: ['email.sent'] });
    expect((await api('PATCH', `/webhooks/${body.id}`, { endpoint: 'https://192.168.0.10/' })).status).toBe(422);
    expect((await api('PATCH', `/webhooks/${body.id}`, { status: 'paused' })).status).toBe(422);
    expect((await api('PATCH', `/webhooks/${body.id}`, {})).status).toBe(422);
  });

  it("answers 404 for another tenant's webhook on every route", async () => {
    const { body } = await api('POST', '/webhooks', { endpoint: 'https://hooks.example.com/a', events: ['email.sent'] });
    const id = body.id as string;
    const msg = deliveryMessage({ webhook_id: id, tenant_id: 'ta' });
    payloads.remember(msg);
    await s.deliveries.recordOutcome(
      { id: msg.delivery_id, webhookId: id, tenantId: 'ta', eventId: msg.event_id, eventType: msg.event_type, payload: msg.payload, queuedAt: msg.queued_at, generation: 0 },
      { status: 'failed', attemptAt: new Date().toISOString(), attempt: { statusCode: 500, durationMs: 3, response: 'x', sentAt: new Date().toISOString(), n: 1 } },
    );
    const routes: [string, string, unknown?][] = [
      ['GET', `/webhooks/${id}`], ['PATCH', `/webhooks/${id}`, { status: 'disabled' }], ['DELETE', `/webhooks/${id}`],
      ['GET', `/webhooks/${id}/events`], ['GET', `/webhooks/${id}/events/${msg.delivery_id}`],
      ['GET', `/webhooks/${id}/events/${msg.delivery_id}/attempts`], ['POST', `/webhooks/${id}/events/${msg.delivery_id}/replay`],
      ['POST', `/webhooks/${id}/signing-secret/rotate`], ['POST', `/webhooks/${id}/recover`, { since: '2000-01-01T00:00:00Z' }],
    ];
    for (const [method, path, payload] of routes) {
      const res = await api(method, path, payload, keyB);
      expect([method, path, res.status, res.body.name]).toEqual([method, path, 404, 'not_found']);
    }
    expect((await api('GET', '/webhooks', undefined, keyB)).body.data).toEqual([]);
    expect((await api('GET', `/webhooks/${id}`)).body.status).toBe('enabled');
    await queued(0);
  });

  it('lists deliveries and attempts, replays one delivery and recovers the failed ones since a time', async () => {
    const { body } = await api('POST', '/webhooks', { endpoint: 'https://hooks.example.com/a', events: ['email.delivered'] });
    const id = body.id as string;
    const record = async (queuedAt: string, status: 'failed' | 'success') => {
      const msg = deliveryMessage({ webhook_id: id, tenant_id: 'ta', queued_at: queuedAt });
      payloads.remember(msg);
      await s.deliveries.recordOutcome(
        { id: msg.delivery_id, webhookId: id, tenantId: 'ta', eventId: msg.event_id, eventType: msg.event_type, payload: msg.payload, queuedAt, generation: 0 },
        { status, attemptAt: queuedAt, attempt: { statusCode: status === 'failed' ? 500 : 200, durationMs: 12, response: 'oops', sentAt: queuedAt, n: 1 } },
      );
      return msg;
    };
    const old = await record('2026-11-01T00:00:00.000Z', 'failed');
    const recent1 = await record('2026-11-10T00:00:00.000Z', 'failed');
    const recent2 = await record('2026-11-11T00:00:00.000Z', 'failed');
    const ok = await record('2026-11-12T00:00:00.000Z', 'success');

    const list = await api('GET', `/webhooks/${id}/events`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((d: { id: string }) => d.id)).toEqual([ok.delivery_id, recent2.delivery_id, recent1.delivery_id, old.delivery_id]);
    expect(list.body.data[0]).toEqual({ id: ok.delivery_id, type: 'email.delivered', created_at: '2026-11-12T00:00:00.000Z', status: 'success', attempts: 1 });
    const page2 = await api('GET', `/webhooks/${id}/events?limit=2&after=${recent2.delivery_id}`);
    expect(page2.body).toMatchObject({ has_more: false, data: [{ id: recent1.delivery_id }, { id: old.delivery_id }] });

    const one = await api('GET', `/webhooks/${id}/events/${old.delivery_id}`);
    expect(one.body).toMatchObject({ object: 'webhook_event', id: old.delivery_id, status: 'failed', next_attempt_at: null, payload: JSON.parse(old.payload) });
    const attempts = await api('GET', `/webhooks/${id}/events/${old.delivery_id}/attempts`);
    expect(attempts.body).toEqual({
      object: 'list', has_more: false,
      data: [{ id: expect.any(String), http_status_code: 500, response: 'oops', sent_at: '2026-11-01T00:00:00.000Z', duration_ms: 12 }],
    });

    const replay = await api('POST', `/webhooks/${id}/events/${ok.delivery_id}/replay`);
    expect(replay.body).toEqual({ object: 'webhook_event', id: ok.delivery_id });
    const [replayed] = await queued(1);
    expect(replayed).toMatchObject({ delivery_id: ok.delivery_id, webhook_id: id, generation: 1, payload: ok.payload });
    expect((await api('GET', `/webhooks/${id}/events/${ok.delivery_id}`)).body.status).toBe('pending');

    const recover = await api('POST', `/webhooks/${id}/recover`, { since: '2026-11-05T00:00:00Z' });
    expect(recover.body).toEqual({ object: 'webhook', id, replayed: 2, has_more: false });
    const recovered = await queued(2);
    expect(recovered.map((m) => m.delivery_id).sort()).toEqual([recent1.delivery_id, recent2.delivery_id].sort());
    expect(recovered.every((m) => m.generation === 1)).toBe(true);
    // Recovered deliveries left the failed set: a second recover finds nothing.
    expect((await api('POST', `/webhooks/${id}/recover`, { since: '2026-11-05T00:00:00Z' })).body.replayed).toBe(0);
    expect((await api('POST', `/webhooks/${id}/recover`, { since: 'yesterday' })).status).toBe(422);
  });

  it('rotates the signing secret, and the old one keeps signing beside it for 24 hours', async () => {
    const created = await api('POST', '/webhooks', { endpoint: 'https://hooks.example.com/a', events: ['email.sent'] });
    const id = created.body.id as string;
    const oldSecret = created.body.signing_secret as string;
    const rotated = await api('POST', `/webhooks/${id}/signing-secret/rotate`);
    expect(rotated.body).toEqual({ object: 'webhook', id, signing_secret: expect.stringMatching(/^whsec_/) });
    const newSecret = rotated.body.signing_secret as string;
    expect(newSecret).not.toBe(oldSecret);
    expect((await api('GET', `/webhooks/${id}`)).body.signing_secret).toBe(newSecret);

    // What the deliver function signs with now: both secrets verify.
    const now = Date.now();
    const stored = (await s.webhooks.getWithSecrets(id))!.secrets;
    const body = '{"type":"email.sent"}';
    const headers = webhookHeaders({ id: 'msg-1', timestampSeconds: Math.floor(now / 1000), body, secrets: signingSecrets(stored, now) });
    expect(new StandardWebhook(oldSecret).verify(body, headers)).toBeTruthy();
    expect(new StandardWebhook(newSecret).verify(body, headers)).toBeTruthy();

    // A day later only the new one signs.
    s.clock.set(now + ROTATION_OVERLAP_MS + 1000);
    const later = (await s.webhooks.getWithSecrets(id))!.secrets;
    expect(signingSecrets(later, now + ROTATION_OVERLAP_MS + 1000)).toEqual([newSecret]);
  });

  it('needs a full-access key', async () => {
    const tenants = new TenantStore(s.db);
    const sending = (await tenants.createKey('ta', { permission: 'sending_access' })).token;
    const res = await api('GET', '/webhooks', undefined, sending);
    expect([res.status, res.body.name]).toEqual([401, 'restricted_api_key']);
  });
});

describe('/webhooks through the resend SDK', () => {
  const services = localServices();


  it('works unchanged against Sesame for every webhooks call', async () => {
    const s = await stores(services.dynamo);
    const tenants = new TenantStore(s.db);
    await tenants.createTenant('SDK', 'tsdk');
    const key = (await tenants.createKey('tsdk')).token;
    const payloads = new KnownPayloads();
    const routes = webhookRoutes({
      webhooks: s.webhooks, deliveries: s.deliveries, payloads, queue: new SqsDeliveryQueue(services.sqs.client, (await services.sqs.freshQueue()).url),
      endpointPolicy: { allowLoopback: false, allowHttp: false },
    });
    const account = createApiHandler(routes, createAuthenticator(tenants), silent) as unknown as ApiLambda;
    const unused: ApiLambda = async () => ({ statusCode: 500 });
    const server = await startApiServer({ port: 0, handlers: { account, send: unused, domains: unused, snsHttps: unused, console: unused } });
    try {
      const resend = new Resend(key, { baseUrl: server.url });
      const created = await resend.webhooks.create({ endpoint: 'https://hooks.example.com/sdk', events: ['email.delivered'] });
      expect(created.error).toBeNull();
      const id = created.data!.id;
      expect(created.data!.signing_secret).toMatch(/^whsec_/);

      const got = await resend.webhooks.get(id);
      expect(got.data).toMatchObject({ id, endpoint: 'https://hooks.example.com/sdk', status: 'enabled', events: ['email.delivered'] });
      expect((await resend.webhooks.list()).data!.data.map((w) => w.id)).toEqual([id]);
      expect((await resend.webhooks.update(id, { status: 'disabled' })).data).toEqual({ object: 'webhook', id });

      const msg = deliveryMessage({ webhook_id: id, tenant_id: 'tsdk' });
      payloads.remember(msg);
      await s.deliveries.recordOutcome(
        { id: msg.delivery_id, webhookId: id, tenantId: 'tsdk', eventId: msg.event_id, eventType: msg.event_type, payload: msg.payload, queuedAt: msg.queued_at, generation: 0 },
        { status: 'failed', attemptAt: msg.queued_at, attempt: { statusCode: 502, durationMs: 5, response: 'bad gateway', sentAt: msg.queued_at, n: 1 } },
      );
      const events = await resend.webhooks.events.list({ webhookId: id, limit: 10 });
      expect(events.data!.data).toMatchObject([{ id: msg.delivery_id, type: 'email.delivered', status: 'failed' }]);
      const event = await resend.webhooks.events.get({ webhookId: id, eventId: msg.delivery_id });
      expect(event.data).toMatchObject({ object: 'webhook_event', id: msg.delivery_id, payload: JSON.parse(msg.payload) });
      const attempts = await resend.webhooks.events.attempts.list({ webhookId: id, eventId: msg.delivery_id });
      expect(attempts.data!.data).toMatchObject([{ http_status_code: 502, response: 'bad gateway' }]);
      expect((await resend.webhooks.events.replay({ webhookId: id, eventId: msg.delivery_id })).data).toEqual({ object: 'webhook_event', id: msg.delivery_id });

      const rotated = await resend.webhooks.rotateSigningSecret(id);
      expect(rotated.data!.signing_secret).not.toBe(created.data!.signing_secret);
      expect((await resend.webhooks.remove(id)).data).toEqual({ object: 'webhook', id, deleted: true });
      const missing = await resend.webhooks.get(id);
      expect(missing.error).toMatchObject({ statusCode: 404, name: 'not_found' });
    } finally {
      await server.close();
    }
  });
});
