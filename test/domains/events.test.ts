/**
 * Domain webhooks through the real path: the /domains handler on dynalite and the local SES v2
 * server, the webhook fan-out (endpoints from the table) onto the local SQS. Bodies validate
 * against Resend's DomainCreatedEvent / DomainUpdatedEvent / DomainDeletedEvent schemas.
 */
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createApiHandler } from '../../lambdas/core/http/api';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { deliveryIdFor } from '../../lambdas/core/adapters/fan-out';
import { DeliveryStore } from '../../lambdas/core/adapters/deliveries';
import { RebuiltPayloads } from '../../lambdas/core/adapters/delivery-payloads';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { EventStore } from '../../lambdas/core/adapters/events';
import type { DeliveryMessage } from '../../lambdas/core/domain/webhook-payload';
import { keys } from '../../lambdas/core/table';
import { domainRoutes } from '../../lambdas/domains/routes';
import { domainEventQueue, servicesForFile, tenantWithKey } from '../support/domain-fixtures';
import { call, captureLogger } from '../support/api';
import { resendSchemaErrors } from '../support/resend-schema';

const services = servicesForFile('sqs');

const DOMAIN_EVENTS = ['domain.created', 'domain.updated', 'domain.deleted'] as const;

async function world() {
  const table = await services.dynamo.freshTable();
  const db = createDb(services.dynamo.doc, table);
  const tenants = new TenantStore(db);
  const { tenant, key } = await tenantWithKey(tenants, services.ses.client, 'a');
  const { webhooks, events: publisher, failNext, queued } = await domainEventQueue(db, services.sqs);
  const store = new DomainStore(db);
  const { log, lines } = captureLogger();
  const handler = createApiHandler(
    domainRoutes({ domains: store, identities: new SesIdentities(services.ses.client, LOCAL_STACK_NAME), events: publisher, sesTenants: new SesTenants(services.ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', now: Date.now }),
    createAuthenticator(tenants),
    log,
  );
  const api = (method: string, path: string, body?: unknown) => call(handler, method, path, { key, ...(body !== undefined ? { body } : {}) });
  const item = async (name: string) => (await services.dynamo.doc.send(new GetCommand({ TableName: table, Key: keys.domainByName(name), ConsistentRead: true }))).Item!;
  return { db, tenant, webhooks, store, api, queued, failNext, item, lines };
}

const uniqueName = () => `d${randomUUID().slice(0, 8)}.com`;
const bodyOf = (m: DeliveryMessage) => JSON.parse(m.payload) as { type: string; created_at: string; data: Record<string, unknown> };

describe('domain webhooks', () => {
  it('fire domain.created, domain.updated and domain.deleted in Resend\'s shapes to the endpoints subscribed to them', async () => {
    // Prepare
    const w = await world();
    const hook = await w.webhooks.create(w.tenant.id, { endpoint: 'https://hooks.example.com/d', events: [...DOMAIN_EVENTS] });
    await w.webhooks.create(w.tenant.id, { endpoint: 'https://hooks.example.com/e', events: ['email.sent'] });
    const name = uniqueName();
    // Act
    const created = await w.api('POST', '/domains', { name });
    const afterCreate = await w.queued();
    await w.api('POST', `/domains/${created.body.id}/verify`);
    const afterVerify = await w.queued();
    await w.api('POST', `/domains/${created.body.id}/verify`);
    const afterSecondVerify = await w.queued();
    await w.api('PATCH', `/domains/${created.body.id}`, { click_tracking: true });
    await w.api('PATCH', `/domains/${created.body.id}`, { click_tracking: true });
    const afterPatches = await w.queued();
    await w.api('DELETE', `/domains/${created.body.id}`);
    const afterDelete = await w.queued();
    // Assess: one message per change, to the subscribed endpoint only
    expect([afterCreate, afterVerify, afterSecondVerify, afterPatches, afterDelete].map((ms) => ms.map((m) => m.event_type))).toEqual([
      ['domain.created'], ['domain.updated'], [], ['domain.updated'], ['domain.deleted'],
    ]);
    const all = [...afterCreate, ...afterVerify, ...afterPatches, ...afterDelete];
    for (const m of all) {
      expect(m).toMatchObject({ webhook_id: hook.webhook.id, tenant_id: w.tenant.id, generation: 0 });
      expect(m.email_id).toBeUndefined();
      expect(m.delivery_id).toBe(deliveryIdFor(m.event_id, hook.webhook.id, bodyOf(m).created_at));
    }
    const schema = { 'domain.created': 'DomainCreatedEvent', 'domain.updated': 'DomainUpdatedEvent', 'domain.deleted': 'DomainDeletedEvent' } as const;
    for (const m of all) expect(resendSchemaErrors(schema[m.event_type as keyof typeof schema], bodyOf(m))).toEqual([]);
    expect(bodyOf(afterCreate[0]!)).toMatchObject({ type: 'domain.created', created_at: created.body.created_at, data: { id: created.body.id, name, status: 'pending', region: 'us-east-1' } });
    expect(bodyOf(afterCreate[0]!).data.records).toEqual(created.body.records);
    expect(bodyOf(afterVerify[0]!).data).toMatchObject({ status: 'verified' });
    expect((bodyOf(afterVerify[0]!).data.records as { status: string }[]).every((r) => r.status === 'verified')).toBe(true);
    expect(bodyOf(afterDelete[0]!).data).toMatchObject({ id: created.body.id, name });
  });

  it('queue an event the request could not queue later, from the outbox, with the same id and time', async () => {
    // Prepare
    const w = await world();
    await w.webhooks.create(w.tenant.id, { endpoint: 'https://hooks.example.com/d', events: [...DOMAIN_EVENTS] });
    const name = uniqueName();
    const created = await w.api('POST', '/domains', { name });
    await w.queued();
    w.failNext.add('domain.updated');
    // Act: the status change is stored, its event cannot be queued
    const verified = await w.api('POST', `/domains/${created.body.id}/verify`);
    const meanwhile = await w.queued();
    const waiting = await w.item(name);
    // ... then the next change queues the waiting event first
    await w.api('PATCH', `/domains/${created.body.id}`, { open_tracking: true });
    const later = await w.queued();
    // Assess
    expect(verified.status).toBe(200);
    expect(meanwhile).toEqual([]);
    expect(waiting).toMatchObject({ status: 'verified', outbox: { type: 'domain.updated' }, gsi2pk: 'DCHECK' });
    expect(w.lines.some((l) => l.includes('could not queue a domain event'))).toBe(true);
    expect(later.map((m) => m.event_type)).toEqual(['domain.updated', 'domain.updated']);
    expect(later[0]!.event_id).toBe(waiting.outbox.event_id);
    expect(bodyOf(later[0]!).created_at).toBe(waiting.outbox.created_at);
    expect(bodyOf(later[0]!).data).toMatchObject({ status: 'verified' });
    const after = await w.item(name);
    expect(after.outbox).toBeUndefined();
    // A verified domain has nothing left for the verifier.
    expect(after.gsi2pk).toBeUndefined();
  });

  it('a repeated delete queues domain.deleted with the same id and time, so the deliveries are the same', async () => {
    // Prepare
    const w = await world();
    const hook = await w.webhooks.create(w.tenant.id, { endpoint: 'https://hooks.example.com/d', events: ['domain.deleted'] });
    const created = await w.api('POST', '/domains', { name: uniqueName() });
    w.failNext.add('domain.deleted');
    // Act
    const failed = await w.api('DELETE', `/domains/${created.body.id}`);
    const retried = await w.api('DELETE', `/domains/${created.body.id}`);
    const messages = await w.queued();
    // Assess
    expect([failed.status, retried.status]).toEqual([500, 200]);
    expect(messages).toHaveLength(1);
    expect(messages[0]!.delivery_id).toBe(deliveryIdFor(messages[0]!.event_id, hook.webhook.id, bodyOf(messages[0]!).created_at));
    expect(Date.parse(bodyOf(messages[0]!).created_at)).toBeLessThan(Date.now());
  });

  it('keeps a domain event\'s body on its delivery, so a replay sends it again unchanged', async () => {
    // Prepare: a domain.created delivery recorded by the deliver function
    const w = await world();
    const hook = await w.webhooks.create(w.tenant.id, { endpoint: 'https://hooks.example.com/d', events: ['domain.created'] });
    await w.api('POST', '/domains', { name: uniqueName() });
    const [m] = await w.queued();
    const deliveries = new DeliveryStore(w.db, 30);
    await deliveries.recordOutcome(
      { id: m!.delivery_id, webhookId: m!.webhook_id, tenantId: m!.tenant_id, eventId: m!.event_id, eventType: m!.event_type, payload: m!.payload, queuedAt: m!.queued_at, generation: 0 },
      { status: 'failed', attemptAt: new Date().toISOString(), attempt: { statusCode: 500, durationMs: 3, response: '', sentAt: new Date().toISOString(), n: 1 } },
    );
    // Act
    const delivery = await deliveries.get(hook.webhook.id, m!.delivery_id);
    const body = await new RebuiltPayloads(new EmailStore(w.db, 30), new EventStore(w.db)).payloadOf(delivery!);
    // Assess
    expect(body).toBe(m!.payload);
  });
});
