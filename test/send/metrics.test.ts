/** The send function's business metrics, as EMF lines on stdout, through the real handler on local services. */
import { call } from '../support/api';
import { emfLines, metricValue, testMetrics } from '../support/emf';
import { startSendHarness, type SendHarness } from './harness';

let h: SendHarness;
beforeAll(async () => {
  h = await startSendHarness();
});
afterAll(() => h.close());

const email = (from: string, to = 'delivered@resend.dev') => ({ from, to, subject: 'Hi', text: 'Hello' });

describe('send metrics', () => {
  it('counts accepted emails, and refused ones by reason, once per request', async () => {
    const metrics = testMetrics({ tenants: new Set() });
    const handler = h.handler({ metrics });
    const { key, domain } = await h.tenant('metrics-a');

    const lines = await emfLines(async () => {
      expect((await call(handler, 'POST', '/emails', { key, body: email(`a@${domain}`), headers: { 'Idempotency-Key': 'm-1' } })).status).toBe(200);
      // The same request again replays the first answer: not a second email.
      expect((await call(handler, 'POST', '/emails', { key, body: email(`a@${domain}`), headers: { 'Idempotency-Key': 'm-1' } })).status).toBe(200);
      expect((await call(handler, 'POST', '/emails', { key, body: email('a@not-theirs.test') })).status).toBe(403);
      expect((await call(handler, 'POST', '/emails', { key, body: { ...email(`a@${domain}`), to: 'not an address' } })).status).toBe(422);
      const batch = await call(handler, 'POST', '/emails/batch', {
        key, headers: { 'x-batch-validation': 'permissive' }, body: [email(`b@${domain}`), email(`c@${domain}`), { ...email(`d@${domain}`), to: 'bad' }],
      });
      expect(batch.body.data).toHaveLength(2);
    });

    // One line per invocation (per set of dimensions), each in the function's service.
    const sum = (name: string, dims: Record<string, string>) =>
      lines.filter((l) => l[name] !== undefined && Object.entries(dims).every(([k, v]) => l[k] === v) && !('tenant' in l)).reduce((s, l) => s + (l[name] as number), 0);
    expect(sum('EmailsAccepted', { service: 'test' })).toBe(3);
    expect(sum('EmailsRefused', { reason: 'validation_error' })).toBe(3);
    expect(lines.some((l) => 'tenant' in l)).toBe(false);
  });

  it('adds a tenant dimension only for the tenants the setting lists', async () => {
    const listed = await h.tenant('metrics-listed');
    const other = await h.tenant('metrics-other');
    const metrics = testMetrics({ tenants: new Set([listed.tenantId]) });
    const handler = h.handler({ metrics });

    const lines = await emfLines(async () => {
      await call(handler, 'POST', '/emails', { key: listed.key, body: email(`a@${listed.domain}`) });
      await call(handler, 'POST', '/emails', { key: other.key, body: email(`a@${other.domain}`) });
    });

    expect(metricValue(lines, 'EmailsAccepted', { service: 'test', tenant: listed.tenantId })).toBe(1);
    expect(lines.filter((l) => 'tenant' in l).map((l) => l.tenant)).toEqual([listed.tenantId]);
    expect(lines.filter((l) => !('tenant' in l)).reduce((s, l) => s + (l.EmailsAccepted as number), 0)).toBe(2);
  });
});
