/**
 * Each tenant sends through its own SES tenant (the local SES endpoint refuses as SES does): the
 * send names it, a paused tenant gets 403 while another keeps sending, and an identity that is not
 * associated with the tenant is refused by SES.
 */
import { PutSuppressedDestinationCommand } from '@aws-sdk/client-sesv2';
import { sesTenantName } from '../../lambdas/core/domain/ses-tenants';
import { call, isResendError, type Handler } from '../support/api';
import { TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { startSendHarness, type SendHarness } from './harness';

let h: SendHarness;
let handler: Handler;
let acme: { tenantId: string; key: string; domain: string };
let globex: { tenantId: string; key: string; domain: string };

beforeAll(async () => {
  h = await startSendHarness();
  handler = h.handler();
  acme = await h.tenant('acme');
  globex = await h.tenant('globex');
});
afterAll(() => h.close());

const email = (domain: string, over: Record<string, unknown> = {}) => ({ from: `App <hello@${domain}>`, to: 'user@example.org', subject: 'Hi', text: 'Hi', ...over });
const tenantName = (tenantId: string) => sesTenantName(TEST_SES_TENANT_PREFIX, tenantId);

describe('sending through SES tenants', () => {
  it("names the tenant's own SES tenant in SendEmail, and /store keeps it as received", async () => {
    const before = h.ses.sent().length;
    // One at a time: a Lambda container serves one invocation at a time.
    const a = await call(handler, 'POST', '/emails', { key: acme.key, body: email(acme.domain) });
    const b = await call(handler, 'POST', '/emails', { key: globex.key, body: email(globex.domain) });
    expect([a.status, b.status]).toEqual([200, 200]);
    const names = h.ses.sent().slice(before).map((e) => e.request.TenantName).sort();
    expect(names).toEqual([tenantName(acme.tenantId), tenantName(globex.tenantId)].sort());
    const store = await (await fetch(`${h.ses.endpoint}/store`)).json() as { emails: { request: { TenantName?: string } }[] };
    expect(store.emails.slice(-2).map((e) => e.request.TenantName).sort()).toEqual(names);
  });

  it('answers 403 in Resend\'s format, saying SES paused the tenant and why, while another tenant keeps sending', async () => {
    await h.ses.pauseTenant(tenantName(acme.tenantId), 'The complaint rate of this tenant exceeded its reputation policy.');
    try {
      const itemsBefore = (await h.items()).length;
      const paused = await call(handler, 'POST', '/emails', { key: acme.key, body: email(acme.domain) });
      expect(paused.status).toBe(403);
      expect(isResendError(paused.body)).toBe(true);
      expect(paused.body.message).toMatch(/paused .*tenant.*reputation/i);
      expect(paused.body.message).toContain('complaint rate of this tenant');
      expect((await h.items()).length).toBe(itemsBefore);

      const other = await call(handler, 'POST', '/emails', { key: globex.key, body: email(globex.domain) });
      expect(other.status).toBe(200);
    } finally {
      await h.ses.resumeTenant(tenantName(acme.tenantId));
    }
    expect((await call(handler, 'POST', '/emails', { key: acme.key, body: email(acme.domain) })).status).toBe(200);
  });

  it('is refused by SES when the sending identity is not associated with the tenant', async () => {
    // The domain is the tenant's in the table and verified in SES, but its identity was never associated.
    const loose = await h.tenant('loose');
    await h.domains.put({ ...(await h.domains.getByName(loose.domain))!, name: 'unassociated.test', id: '00000000-0000-4000-8000-0000000000aa' });
    await h.ses.seedIdentity('unassociated.test', { verified: true });
    const res = await call(handler, 'POST', '/emails', { key: loose.key, body: email('unassociated.test') });
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(/not associated with tenant/);
  });

  it("accepts a send to an address on the tenant's SES suppression list (SES suppresses it), and another tenant's list does not matter", async () => {
    await h.ses.client.send(new PutSuppressedDestinationCommand({ EmailAddress: 'Blocked@Example.org', Reason: 'BOUNCE', TenantName: tenantName(acme.tenantId) }));
    const before = h.ses.sent().length;
    const mine = await call(handler, 'POST', '/emails', { key: acme.key, body: email(acme.domain, { to: 'blocked@example.org' }) });
    const theirs = await call(handler, 'POST', '/emails', { key: globex.key, body: email(globex.domain, { to: 'blocked@example.org' }) });
    expect([mine.status, theirs.status]).toEqual([200, 200]);
    const [a, b] = h.ses.sent().slice(before);
    expect(a!.suppressed).toEqual([{ address: 'blocked@example.org', list: 'tenant' }]);
    expect(b!.suppressed).toBeUndefined();
  });
});
