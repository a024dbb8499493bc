/**
 * Automatic verification: the backing-off schedule (pure), and the verifier against dynalite, the
 * local SES v2 server and the local SQS through the real fan-out: due domains are found through
 * their sparse gsi2 entries, re-read from SES, changed with a domain.updated, and rescheduled.
 */
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { provisionTestSesTenant, TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { derivedId } from '../../lambdas/core/domain/ids';
import { CHECK_WINDOW_MS, needsChecks, nextCheckAt } from '../../lambdas/core/domain/verification-schedule';
import { keys } from '../../lambdas/core/table';
import { type DomainsDeps, type SesTenantDeps, createDomain } from '../../lambdas/domains/core';
import { runDomainChecks } from '../../lambdas/verify-domains/core';
import { domainEventQueue, servicesForFile } from '../support/domain-fixtures';
import { captureLogger } from '../support/api';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('the check schedule', () => {
  it('checks every minute for the first ten minutes, then every 5, 15, 30 minutes, then hourly', () => {
    const created = Date.parse('2026-01-01T00:00:00Z');
    const gapAt = (ageMs: number) => nextCheckAt(created, created + ageMs, MIN)! - (created + ageMs);
    expect([0, 9 * MIN, 10 * MIN, 59 * MIN, HOUR, 5 * HOUR, 6 * HOUR, 23 * HOUR, 24 * HOUR, 70 * HOUR].map(gapAt)).toEqual([
      MIN, MIN, 5 * MIN, 5 * MIN, 15 * MIN, 15 * MIN, 30 * MIN, 30 * MIN, HOUR, HOUR,
    ]);
  });

  it('ends with a check at 72 hours, and none after', () => {
    const created = 0;
    expect(nextCheckAt(created, CHECK_WINDOW_MS - 10 * MIN, MIN)).toBe(CHECK_WINDOW_MS);
    expect(nextCheckAt(created, CHECK_WINDOW_MS, MIN)).toBeUndefined();
    expect(CHECK_WINDOW_MS).toBe(72 * HOUR);
  });

  it('scales with the base (local mode checks in seconds)', () => {
    expect(nextCheckAt(0, 0, 2000)).toBe(2000);
  });

  it('checks domains that may still verify on their own only', () => {
    expect((['not_started', 'pending', 'temporary_failure', 'partially_verified', 'verified', 'failed'] as const).filter(needsChecks)).toEqual([
      'not_started', 'pending', 'temporary_failure', 'partially_verified',
    ]);
  });
});

describe('the domain verifier', () => {
  const services = servicesForFile('sqs');

  async function world() {
    const table = await services.dynamo.freshTable();
    let clock = Date.now();
    const db = createDb(services.dynamo.doc, table, () => clock);
    const { webhooks, events, failNext, queued } = await domainEventQueue(db, services.sqs);
    const deps: DomainsDeps & SesTenantDeps = {
      domains: new DomainStore(db),
      identities: new SesIdentities(services.ses.client, LOCAL_STACK_NAME),
      events,
      sesTenants: new SesTenants(services.ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX,
      region: 'us-east-1',
      now: () => clock,
    };
    const tenantId = randomUUID();
    await provisionTestSesTenant(services.ses.client, tenantId);
    await webhooks.create(tenantId, { endpoint: 'https://hooks.example.com/d', events: ['domain.created', 'domain.updated'] });
    const { log, lines } = captureLogger();
    const auth = { keyId: 'k', tenantId, permission: 'full_access' as const };
    /** A domain whose records SES does not find until `publish()`. */
    const pendingDomain = async () => {
      const name = `d${randomUUID().slice(0, 8)}.com`;
      const domain = await createDomain(deps, auth, { name, customReturnPath: 'send', openTracking: false, clickTracking: false, tls: 'opportunistic' }, log);
      await services.ses.seedIdentity(name, { verified: false, dnsPublished: false });
      return { domain, publish: () => services.ses.seedIdentity(name, { verified: true }) };
    };
    const item = async (name: string) => (await services.dynamo.doc.send(new GetCommand({ TableName: table, Key: keys.domainByName(name), ConsistentRead: true }))).Item!;
    const run = () => runDomainChecks(deps, log, { budgetMs: 30_000 });
    return { deps, failNext, pendingDomain, queued, item, run, lines, advance: (ms: number) => void (clock += ms), now: () => clock };
  }

  it('leaves a new domain until its first check is due, then re-reads it and schedules the next', async () => {
    // Prepare
    const w = await world();
    const { domain } = await w.pendingDomain();
    await w.queued();
    // Act
    const early = await w.run();
    w.advance(MIN + 1000);
    const due = await w.run();
    // Assess
    expect(early.checked).toBe(0);
    expect(due).toEqual({ checked: 1, changed: 0, failed: 0 });
    const stored = await w.item(domain.name);
    expect(stored).toMatchObject({ status: 'pending', gsi2pk: 'DCHECK' });
    expect(stored.gsi2sk).toBe(`${new Date(w.now() + MIN).toISOString()}#${domain.name}`);
    expect(await w.queued()).toEqual([]);
  });

  it('stores the change, fires domain.updated and stops checking once SES finds the records', async () => {
    // Prepare
    const w = await world();
    const { domain, publish } = await w.pendingDomain();
    await w.queued();
    await publish();
    w.advance(MIN + 1000);
    // Act
    const result = await w.run();
    // Assess
    expect(result).toEqual({ checked: 1, changed: 1, failed: 0 });
    const stored = await w.item(domain.name);
    expect(stored).toMatchObject({ status: 'verified', verified_for_sending: true });
    expect(stored.gsi2pk).toBeUndefined();
    expect(stored.outbox).toBeUndefined();
    const messages = await w.queued();
    expect(messages.map((m) => m.event_type)).toEqual(['domain.updated']);
    expect(JSON.parse(messages[0]!.payload).data).toMatchObject({ id: domain.id, status: 'verified' });
    w.advance(HOUR);
    expect((await w.run()).checked).toBe(0);
  });

  it('queues an event a request left in the outbox, with its own id', async () => {
    // Prepare: domain.created could not be queued by the create
    const w = await world();
    w.failNext.add('domain.created');
    const { domain } = await w.pendingDomain();
    expect(await w.queued()).toEqual([]);
    expect((await w.item(domain.name)).outbox).toMatchObject({ type: 'domain.created' });
    w.advance(MIN + 1000);
    // Act
    await w.run();
    // Assess
    const messages = await w.queued();
    expect(messages.map((m) => [m.event_type, m.event_id])).toEqual([['domain.created', derivedId('domain.created', domain.id)]]);
    expect((await w.item(domain.name)).outbox).toBeUndefined();
  });

  it('stops after the 72-hour window with what SES says then', async () => {
    // Prepare
    const w = await world();
    const { domain } = await w.pendingDomain();
    w.advance(CHECK_WINDOW_MS + 1000);
    // Act
    const last = await w.run();
    w.advance(HOUR);
    const after = await w.run();
    // Assess
    expect([last.checked, after.checked]).toEqual([1, 0]);
    expect((await w.item(domain.name)).gsi2pk).toBeUndefined();
  });

  it('logs a domain SES fails to answer for and keeps it due for the next run', async () => {
    // Prepare
    const w = await world();
    const { domain } = await w.pendingDomain();
    w.advance(MIN + 1000);
    services.ses.failNext('GetEmailIdentity', 'BadRequestException');
    // Act
    const failing = await w.run();
    const next = await w.run();
    // Assess
    expect(failing).toEqual({ checked: 0, changed: 0, failed: 1 });
    expect(w.lines.some((l) => l.includes('could not check a domain') && l.includes(domain.id))).toBe(true);
    expect(next.checked).toBe(1);
  });
});
