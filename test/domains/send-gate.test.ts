/**
 * The sending gate reads what the domains API stores: POST /emails and POST /emails/batch send
 * only from a domain the tenant owns and SES has verified for sending, through the real send
 * and domains routes, on dynalite and the local SES v2 server.
 */
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { randomUUID } from 'node:crypto';
import { createApiHandler } from '../../lambdas/core/http/api';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { SendableDomainCache } from '../../lambdas/core/adapters/domain-cache';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import { EventStore } from '../../lambdas/core/adapters/events';
import { TemplateStore } from '../../lambdas/core/adapters/templates';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { IdempotencyStore } from '../../lambdas/core/adapters/idempotency';
import { SesSender } from '../../lambdas/core/adapters/ses';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { domainRoutes } from '../../lambdas/domains/routes';
import { sendRoutes } from '../../lambdas/send/routes';
import { servicesForFile, tenantWithKey } from '../support/domain-fixtures';
import { type CallOptions, call, captureLogger } from '../support/api';
import { TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';

const services = servicesForFile('s3');

const uniqueName = () => `s${randomUUID().slice(0, 8)}.com`;

async function world(options: { cachedGate?: boolean } = {}) {
  const table = await services.dynamo.freshTable();
  const db = createDb(services.dynamo.doc, table);
  const tenants = new TenantStore(db);
  const domains = new DomainStore(db);
  const { tenant: a, key: keyA } = await tenantWithKey(tenants, services.ses.client, 'a');
  const { tenant: b, key: keyB } = await tenantWithKey(tenants, services.ses.client, 'b');
  const { log } = captureLogger();
  const authenticator = createAuthenticator(tenants);
  const domainsApi = createApiHandler(domainRoutes({
    domains, identities: new SesIdentities(services.ses.client, LOCAL_STACK_NAME), events: { publish: async () => undefined },
    sesTenants: new SesTenants(services.ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', now: Date.now,
  }), authenticator, log);
  const sendApi = createApiHandler(sendRoutes({
    emails: new EmailStore(db, 30), status: new EmailStatusStore(db), retryWindowMs: 15 * 60_000, retentionDays: 30, domains: options.cachedGate ? new SendableDomainCache(domains) : domains, idempotency: new IdempotencyStore(db), sender: new SesSender(services.ses.client),
    configurationSet: 'sesame', sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', events: new EventStore(db), templates: new TemplateStore(db), now: Date.now,
    content: new ContentStore(services.s3.client, services.s3.bucket),
  }), authenticator, log);
  const api = (method: string, url: string, options: CallOptions = {}) => call(url.startsWith('/domains') ? domainsApi : sendApi, method, url, options);
  /** A domain of the tenant of `key`, verified with SES unless `verify` is false. */
  const domain = async (key: string, verify = true) => {
    const created = await api('POST', '/domains', { key, body: { name: uniqueName() } });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    if (verify) await api('POST', `/domains/${created.body.id}/verify`, { key });
    return created.body as { id: string; name: string };
  };
  const email = (from: string) => ({ from: `App <hello@${from}>`, to: 'delivered@resend.dev', subject: 'Hi', text: 'Hello' });
  /** What SES accepted during `act`. */
  const sentDuring = async (act: () => Promise<unknown>) => {
    const before = services.ses.sent().length;
    await act();
    return services.ses.sent().slice(before);
  };
  return { tenants, a, b, keyA, keyB, api, domain, email, sentDuring };
}

describe('POST /emails', () => {
  it('refuses a domain nobody registered, saying so', async () => {
    const w = await world();
    const name = uniqueName();
    let res: Awaited<ReturnType<typeof w.api>> | undefined;
    const sent = await w.sentDuring(async () => (res = await w.api('POST', '/emails', { key: w.keyA, body: w.email(name) })));
    expect(res!.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringContaining(`The ${name} domain is not registered for this account`) });
    expect(sent).toEqual([]);
  });

  it("refuses another tenant's verified domain as not registered for this account", async () => {
    const w = await world();
    const theirs = await w.domain(w.keyB);
    expect((await w.api('POST', '/emails', { key: w.keyB, body: w.email(theirs.name) })).status).toBe(200);
    let res: Awaited<ReturnType<typeof w.api>> | undefined;
    const sent = await w.sentDuring(async () => (res = await w.api('POST', '/emails', { key: w.keyA, body: w.email(theirs.name) })));
    expect(res!.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringContaining('is not registered for this account') });
    expect(sent).toEqual([]);
  });

  it('refuses an own domain until SES has verified it, then sends from it', async () => {
    // Prepare
    const w = await world();
    const mine = await w.domain(w.keyA, false);
    // Act
    const before = await w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) });
    await w.api('POST', `/domains/${mine.id}/verify`, { key: w.keyA });
    let after: Awaited<ReturnType<typeof w.api>> | undefined;
    const sent = await w.sentDuring(async () => (after = await w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) })));
    // Assess
    expect(before.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringContaining(`The ${mine.name} domain is not verified for sending (status: pending)`) });
    expect(before.body.message).toContain(`/domains/${mine.id}/verify`);
    expect(after!.status).toBe(200);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.request.FromEmailAddress).toBe(`App <hello@${mine.name}>`);
  });

  it('sends through the configuration set of the tracking stored by PATCH /domains', async () => {
    const w = await world();
    const mine = await w.domain(w.keyA);
    const plain = await w.sentDuring(() => w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) }));
    await w.api('PATCH', `/domains/${mine.id}`, { key: w.keyA, body: { open_tracking: true, click_tracking: true } });
    const tracked = await w.sentDuring(() => w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) }));
    await w.api('PATCH', `/domains/${mine.id}`, { key: w.keyA, body: { click_tracking: false } });
    const opens = await w.sentDuring(() => w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) }));
    expect([plain, tracked, opens].map((s) => s.map((e) => e.request.ConfigurationSetName))).toEqual([['sesame'], ['sesame-open-click'], ['sesame-open']]);
  });

  it('sends a domain with tls enforced through the TLS-requiring configuration set of its tracking, and back when opportunistic', async () => {
    const w = await world();
    const mine = await w.domain(w.keyA);
    const sendWith = async (settings: Record<string, unknown>) => {
      await w.api('PATCH', `/domains/${mine.id}`, { key: w.keyA, body: settings });
      return (await w.sentDuring(() => w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) }))).map((e) => e.request.ConfigurationSetName);
    };
    // Each TLS-requiring set, associated with the tenant's SES tenant as the other four are.
    const enforced = [
      await sendWith({ tls: 'enforced', open_tracking: false, click_tracking: false }),
      await sendWith({ open_tracking: true }),
      await sendWith({ click_tracking: true }),
      await sendWith({ open_tracking: false }),
    ];
    expect(enforced).toEqual([['sesame-tls'], ['sesame-open-tls'], ['sesame-open-click-tls'], ['sesame-click-tls']]);
    const opportunistic = await sendWith({ tls: 'opportunistic', open_tracking: true, click_tracking: false });
    expect(opportunistic).toEqual(['sesame-open']);
    expect((await w.api('GET', `/domains/${mine.id}`, { key: w.keyA })).body.tls).toBe('opportunistic');
  });

  it('stops sending from a deleted domain', async () => {
    const w = await world();
    const mine = await w.domain(w.keyA);
    expect((await w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) })).status).toBe(200);
    await w.api('DELETE', `/domains/${mine.id}`, { key: w.keyA });
    const res = await w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) });
    expect(res.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringContaining('is not registered for this account') });
  });

  it('with the send function\'s domain cache, a domain deleted a moment ago is still refused with 403: SES no longer has it', async () => {
    const w = await world({ cachedGate: true });
    const mine = await w.domain(w.keyA);
    expect((await w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) })).status).toBe(200);
    await w.api('DELETE', `/domains/${mine.id}`, { key: w.keyA });
    let res: Awaited<ReturnType<typeof w.api>> | undefined;
    const sent = await w.sentDuring(async () => (res = await w.api('POST', '/emails', { key: w.keyA, body: w.email(mine.name) })));
    expect(res!.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringContaining('not verified') });
    expect(sent).toEqual([]);
  });

  it('lets a key limited to one domain send from that domain only', async () => {
    // Prepare
    const w = await world();
    const allowed = await w.domain(w.keyA);
    const other = await w.domain(w.keyA);
    const limited = (await w.tenants.createKey(w.a.id, { permission: 'sending_access', domain: allowed.name })).token;
    // Act
    const ok = await w.api('POST', '/emails', { key: limited, body: w.email(allowed.name) });
    const refused = await w.api('POST', '/emails', { key: limited, body: w.email(other.name) });
    // Assess
    expect(ok.status).toBe(200);
    expect(refused.body).toEqual({ statusCode: 403, name: 'validation_error', message: `This API key can only send from ${allowed.name}, not from ${other.name}.` });
    expect((await w.api('POST', '/emails', { key: w.keyA, body: w.email(other.name) })).status).toBe(200);
  });
});

describe('POST /emails/batch', () => {
  it('strict: refuses the whole batch when one email is from a domain that is not verified, sending nothing', async () => {
    const w = await world();
    const verified = await w.domain(w.keyA);
    const pending = await w.domain(w.keyA, false);
    let res: Awaited<ReturnType<typeof w.api>> | undefined;
    const sent = await w.sentDuring(async () => (res = await w.api('POST', '/emails/batch', { key: w.keyA, body: [w.email(verified.name), w.email(pending.name)] })));
    expect(res!.body).toEqual({ statusCode: 403, name: 'validation_error', message: expect.stringContaining(`The ${pending.name} domain is not verified for sending`) });
    expect(sent).toEqual([]);
  });

  it('permissive: sends what it may and names the refused emails and why', async () => {
    const w = await world();
    const verified = await w.domain(w.keyA);
    const theirs = await w.domain(w.keyB);
    let res: Awaited<ReturnType<typeof w.api>> | undefined;
    const sent = await w.sentDuring(async () => (res = await w.api('POST', '/emails/batch', {
      key: w.keyA, headers: { 'x-batch-validation': 'permissive' }, body: [w.email(theirs.name), w.email(verified.name)],
    })));
    expect(res!.status).toBe(200);
    expect(res!.body.data).toHaveLength(1);
    expect(res!.body.errors).toEqual([{ index: 0, message: expect.stringContaining(`The ${theirs.name} domain is not registered for this account`) }]);
    expect(sent.map((e) => e.request.FromEmailAddress)).toEqual([`App <hello@${verified.name}>`]);
  });
});
