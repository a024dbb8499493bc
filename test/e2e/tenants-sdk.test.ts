/**
 * SES tenants and the suppressions API against local mode, started as `npm start` starts it: the
 * `resend` SDK's `suppressions.*` and `apiKeys.update`; two tenants (the seeded one and one made
 * with `npx sesame tenants create`) each send through their own SES tenant, a suppression of one
 * does not affect the other, and pausing one's SES tenant leaves the other sending.
 */
import { GetTenantCommand, SESv2Client, UpdateReputationEntityCustomerManagedStatusCommand } from '@aws-sdk/client-sesv2';
import type { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { adminEnvOf, anotherTenant, sdkFor, sesameCli, tempDataDir } from '../support/e2e';

jest.setTimeout(120_000);

let local: RunningLocal;
let adminEnv: Record<string, string>;
let first: { resend: Resend; tenantId: string };
let second: { resend: Resend; tenantId: string };
let ses: SESv2Client;

const sesame = (...args: string[]): Promise<Record<string, unknown>> => sesameCli(local, args);

/** The email's last_event once it is one of `wanted` (local SES events arrive within a second or so). */
async function settled(resend: Resend, id: string, wanted: string[]): Promise<string> {
  let last = '';
  for (let i = 0; i < 100; i++) {
    last = (await resend.emails.get(id)).data?.last_event ?? '';
    if (wanted.includes(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  return last;
}

beforeAll(async () => {
  local = await startLocalMode({ dataDir: tempDataDir('tenants'), apiKey: 're_e2e_tenants_key_01', domain: 'first.test',
    // The second tenant's domain is verified at once, as soon as it is made.
    extraEnv: { SESAME_LOCAL_VERIFY_DELAY_SECONDS: '0' },
  });
  adminEnv = adminEnvOf(local);
  ses = new SESv2Client({ region: adminEnv.AWS_REGION, endpoint: adminEnv.AWS_ENDPOINT_URL_SESV2, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

  const firstResend = sdkFor(local);
  const listed = (await sesame('tenants', 'list')) as { data: { tenant_id: string; name: string }[] };
  first = { resend: firstResend, tenantId: listed.data.find((t) => t.name === 'local')!.tenant_id };

  second = await anotherTenant(local, 'second');
  const domain = await second.resend.domains.create({ name: 'second.test' });
  await second.resend.domains.verify(domain.data!.id);
});
afterAll(async () => {
  ses?.destroy();
  await local?.stop();
});

describe('the resend SDK: suppressions and apiKeys.update against npm start', () => {
  it('adds, gets, lists and removes suppressions, one at a time and in batches', async () => {
    const added = await first.resend.suppressions.add({ email: 'Wozniak@Example.org' });
    expect(added.error).toBeNull();
    const id = added.data!.id;

    const byEmail = await first.resend.suppressions.get('wozniak@example.org');
    expect(byEmail.data).toMatchObject({ object: 'suppression', id, email: 'Wozniak@Example.org', origin: 'manual', source_id: null });
    const byId = await first.resend.suppressions.get(id);
    expect(byId.data?.email).toBe('Wozniak@Example.org');

    const batch = await first.resend.suppressions.batch.add({ emails: ['one@example.org', 'two@example.org'] });
    expect(batch.data?.data).toHaveLength(2);
    const manual = await first.resend.suppressions.list({ origin: 'manual', limit: 2 });
    expect(manual.data).toMatchObject({ object: 'list', has_more: true });
    expect(manual.data!.data.map((s) => s.email)).toEqual(['two@example.org', 'one@example.org']);

    const removed = await first.resend.suppressions.batch.remove({ emails: ['one@example.org', 'two@example.org'] });
    expect(removed.data?.data.every((d) => d.deleted)).toBe(true);
    const gone = await first.resend.suppressions.remove(id);
    expect(gone.data).toEqual({ object: 'suppression', id, deleted: true });
    expect((await first.resend.suppressions.get(id)).error).toMatchObject({ statusCode: 404, name: 'not_found' });
    expect((await first.resend.suppressions.add({ email: 'nope' })).error).toMatchObject({ statusCode: 422 });
  });

  it('renames an API key with apiKeys.update', async () => {
    const created = await first.resend.apiKeys.create({ name: 'before' });
    const updated = await first.resend.apiKeys.update(created.data!.id, { name: 'after' });
    expect(updated.data).toEqual({ object: 'api_key', id: created.data!.id });
    const list = await first.resend.apiKeys.list();
    expect(list.data!.data.find((k) => k.id === created.data!.id)?.name).toBe('after');
  });
});

describe('two tenants, two SES tenants', () => {
  it('sends each through its own SES tenant; a suppression of one does not affect the other', async () => {
    await first.resend.suppressions.add({ email: 'shared@example.org' });
    const mine = await first.resend.emails.send({ from: 'hello@first.test', to: 'shared@example.org', subject: 'Hi', text: 'Hi' });
    const theirs = await second.resend.emails.send({ from: 'hello@second.test', to: 'shared@example.org', subject: 'Hi', text: 'Hi' });
    expect([mine.error, theirs.error]).toEqual([null, null]);

    expect(await settled(first.resend, mine.data!.id, ['suppressed'])).toBe('suppressed');
    expect(await settled(second.resend, theirs.data!.id, ['delivered'])).toBe('delivered');
    expect((await second.resend.suppressions.list()).data!.data).toEqual([]);

    const store = await (await fetch(`${adminEnv.AWS_ENDPOINT_URL_SESV2}/store`)).json() as { emails: { request: { TenantName?: string } }[] };
    const names = new Set(store.emails.slice(-2).map((e) => e.request.TenantName));
    expect(names).toEqual(new Set([`sesame-local-${first.tenantId}`, `sesame-local-${second.tenantId}`]));
  });

  it("pausing one tenant's SES tenant leaves the other sending; tenants show says why", async () => {
    const name = `sesame-local-${first.tenantId}`;
    const { Tenant } = await ses.send(new GetTenantCommand({ TenantName: name }));
    const pause = (SendingStatus: 'DISABLED' | 'ENABLED') =>
      ses.send(new UpdateReputationEntityCustomerManagedStatusCommand({ ReputationEntityType: 'RESOURCE', ReputationEntityReference: Tenant!.TenantArn, SendingStatus }));
    await pause('DISABLED');
    try {
      const paused = await first.resend.emails.send({ from: 'hello@first.test', to: 'a@example.org', subject: 'Hi', text: 'Hi' });
      expect(paused.error).toMatchObject({ statusCode: 403, name: 'validation_error', message: expect.stringMatching(/paused its tenant/) });
      const other = await second.resend.emails.send({ from: 'hello@second.test', to: 'a@example.org', subject: 'Hi', text: 'Hi' });
      expect(other.error).toBeNull();

      const shown = await sesame('tenants', 'show', first.tenantId);
      expect(shown).toMatchObject({ ses_tenant: { name, sendingStatus: 'DISABLED', reputation: { customerStatus: { status: 'DISABLED' } } } });
    } finally {
      await pause('ENABLED');
    }
    expect((await first.resend.emails.send({ from: 'hello@first.test', to: 'a@example.org', subject: 'Hi', text: 'Hi' })).error).toBeNull();
  });
});
