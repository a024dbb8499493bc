import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { SuppressionStore } from '../../lambdas/core/adapters/suppressions';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { hashApiKey } from '../../lambdas/core/domain/ids';
import { runCli, type AdminDeps } from '../../lambdas/admin/cli';
import type { TenantAdminDeps } from '../../lambdas/admin/tenants';
import { startTestDynamo, startTestSes, TEST_REGION, type TestDynamo, type TestSes } from '../support/services';

let dynamo: TestDynamo;
let ses: TestSes;
let table: string;
let deps: AdminDeps;
let store: TenantStore;
let admin: TenantAdminDeps;

beforeAll(async () => {
  [dynamo, ses] = await Promise.all([startTestDynamo(), startTestSes()]);
  table = await dynamo.freshTable();
  const db = createDb(dynamo.doc, table);
  store = new TenantStore(db);
  admin = {
    tenants: store, domains: new DomainStore(db), suppressions: new SuppressionStore(db), ses: new SesTenants(ses.client),
    region: TEST_REGION, sesTenantPrefix: 'cli', configurationSetPrefix: 'sesame',
  };
  deps = { tenants: () => store, tenantAdmin: () => admin };
});
afterAll(() => Promise.all([dynamo.close(), ses.close()]));

const json = (stdout: string) => JSON.parse(stdout) as Record<string, string>;

describe('sesame admin commands', () => {
  it('creates a tenant with a first key, storing only the key\'s hash', async () => {
    const res = await runCli(['tenants', 'create', 'Acme Inc'], deps);
    expect(res.code).toBe(0);
    const out = json(res.stdout);
    expect(out.tenant_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.api_key).toMatch(/^re_[A-Za-z0-9]{32}$/);
    const record = await store.findKeyByHash(hashApiKey(out.api_key!));
    expect(record).toMatchObject({ tenantId: out.tenant_id, permission: 'full_access' });
    const scan = await dynamo.client.send(new (await import('@aws-sdk/client-dynamodb')).ScanCommand({ TableName: table }));
    expect(JSON.stringify(scan.Items)).not.toContain(out.api_key);
  });

  it('creates, lists and revokes keys', async () => {
    const tenant = json((await runCli(['tenants', 'create', 'keys-co'], deps)).stdout);
    const created = await runCli(['keys', 'create', '--tenant', tenant.tenant_id!, '--name', 'ci', '--permission', 'sending_access'], deps);
    expect(created.code).toBe(0);
    const key = json(created.stdout);
    expect(key).toMatchObject({ name: 'ci', permission: 'sending_access', tenant_id: tenant.tenant_id });
    const listed = json((await runCli(['keys', 'list', '--tenant', tenant.tenant_id!], deps)).stdout) as unknown as { data: { id: string }[] };
    expect(listed.data.map((k) => k.id)).toEqual(expect.arrayContaining([key.id, tenant.api_key_id]));

    const revoked = await runCli(['keys', 'revoke', key.id!], deps);
    expect(json(revoked.stdout)).toEqual({ id: key.id, revoked: true });
    expect(await store.findKeyByHash(hashApiKey(key.api_key!))).toBeUndefined();
    const again = await runCli(['keys', 'revoke', key.id!], deps);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('No API key');
  });

  it('refuses a key for a tenant that does not exist', async () => {
    const res = await runCli(['keys', 'create', '--tenant', '00000000-0000-4000-8000-000000000000'], deps);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/does not exist/);
  });

  it.each([
    [['tenants', 'create']],
    [['keys', 'create']],
    [['keys', 'create', '--tenant']],
    [['keys', 'create', '--tenant', 't', '--permission', 'root']],
    [['keys', 'create', '--tenant', 't', '--domain', 'acme.com']],
    [['nothing', 'here']],
    [['tenants', 'create', 'x', '--reputation', 'lax']],
    [['tenants', 'show']],
  ])('answers a usage error for %j with exit 2 and nothing on stdout', async (argv) => {
    const res = await runCli(argv, deps);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^sesame: /);
  });
});

describe('the npx sesame binary', () => {
  it('prints one JSON object and exits 0, reading the handlers\' configuration', async () => {
    const env = {
      ...process.env,
      SESAME_TABLE_NAME: table, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_SESV2: ses.endpoint, SESAME_STACK_NAME: 'shell', SESAME_CONFIGURATION_SET: 'sesame',
    };
    const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, '../../bin/sesame.js'), 'tenants', 'create', 'from-the-shell'], { env });
    const out = JSON.parse(stdout);
    expect(out.api_key).toMatch(/^re_/);
    expect(await store.getTenant(out.tenant_id)).toMatchObject({ name: 'from-the-shell', complete: true });
    expect(out.ses_tenant).toBe(`shell-${out.tenant_id}`);
  });

  it('takes the region from the AWS profile, as the SDK and the AWS CLI do, when AWS_REGION is not set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sesame-aws-config-'));
    const config = join(dir, 'config');
    writeFileSync(config, '[profile sesame-admin-test]\nregion = eu-west-3\n');
    writeFileSync(join(dir, 'credentials'), '[sesame-admin-test]\naws_access_key_id = local\naws_secret_access_key = local\n');
    // Neither the region nor the credentials in the environment: both come from the profile.
    const { AWS_REGION: _region, AWS_DEFAULT_REGION: _default, AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = process.env;
    const env = {
      ...rest,
      AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), AWS_PROFILE: 'sesame-admin-test',
      SESAME_TABLE_NAME: table, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint, AWS_ENDPOINT_URL_SESV2: ses.endpoint, SESAME_STACK_NAME: 'profile', SESAME_CONFIGURATION_SET: 'sesame',
    };
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, '../../bin/sesame.js'), 'tenants', 'create', 'from-a-profile'], { env });
      expect(await store.getTenant(JSON.parse(stdout).tenant_id)).toMatchObject({ name: 'from-a-profile' });
      expect(await resolveRegionIn(env)).toBe('eu-west-3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints an error on stderr and exits non-zero without configuration', async () => {
    const env = { ...process.env, SESAME_TABLE_NAME: '' };
    await expect(promisify(execFile)(process.execPath, [join(__dirname, '../../bin/sesame.js'), 'tenants', 'create', 'x'], { env })).rejects.toMatchObject({
      code: 1, stdout: '', stderr: expect.stringContaining('SESAME_TABLE_NAME'),
    });
  });
});

/** resolveRegion() in a process with `env`, as the admin tool runs it. */
async function resolveRegionIn(env: NodeJS.ProcessEnv): Promise<string> {
  const script = `require('tsx/cjs'); require(${JSON.stringify(join(__dirname, '../../lambdas/admin/region.ts'))}).resolveRegion().then((r) => process.stdout.write(String(r)))`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { env, cwd: join(__dirname, '../..') });
  return stdout;
}

describe('sesame tenants: each tenant is an SES tenant', () => {
  const sesStatus = (tenantId: string) => admin.ses.status(`cli-${tenantId}`);

  it('creates the SES tenant with its own suppression list, the reputation policy and the configuration sets associated', async () => {
    const res = await runCli(['tenants', 'create', 'Strict Co', '--reputation', 'strict'], deps);
    expect(res.code).toBe(0);
    const out = json(res.stdout);
    expect(out).toMatchObject({ ses_tenant: `cli-${out.tenant_id}`, reputation_policy: 'strict' });
    const status = await sesStatus(out.tenant_id!);
    expect(status).toMatchObject({ sendingStatus: 'ENABLED', suppressionScope: 'TENANT', reputation: { policy: 'arn:aws:ses:us-east-1:aws:reputation-policy/strict' } });
    const resources = (await admin.ses.resources(`cli-${out.tenant_id}`)).map((r) => r.arn.slice(r.arn.lastIndexOf(':') + 1)).sort();
    expect(resources).toEqual([
      'configuration-set/sesame', 'configuration-set/sesame-click', 'configuration-set/sesame-click-tls', 'configuration-set/sesame-open', 'configuration-set/sesame-open-click',
      'configuration-set/sesame-open-click-tls', 'configuration-set/sesame-open-tls', 'configuration-set/sesame-tls',
    ]);
  });

  it('completes a tenant that a crash left half-created when run again, and refuses a complete one', async () => {
    // Prepare: the first run died after the table's tenant, before SES answered.
    ses.failNext('PutTenantSuppressionAttributes', 'InternalServiceErrorException');
    const crashed = await runCli(['tenants', 'create', 'Halfway'], deps);
    expect(crashed.code).toBe(1);

    // Act
    const again = await runCli(['tenants', 'create', 'Halfway'], deps);
    const thrice = await runCli(['tenants', 'create', 'Halfway'], deps);

    // Assess: one tenant, completed, with a working key; a third run changes nothing.
    expect(again.code).toBe(0);
    const out = json(again.stdout);
    expect(await store.findKeyByHash(hashApiKey(out.api_key!))).toMatchObject({ tenantId: out.tenant_id });
    expect(await sesStatus(out.tenant_id!)).toMatchObject({ suppressionScope: 'TENANT' });
    expect([thrice.code, thrice.stderr]).toEqual([1, expect.stringContaining(`exists already (${out.tenant_id})`)]);
    const listed = json((await runCli(['tenants', 'list'], deps)).stdout) as unknown as { data: { name: string }[] };
    expect(listed.data.filter((t) => t.name === 'Halfway')).toHaveLength(1);
  });

  it("shows a tenant's SES sending status and reputation findings, and lists tenants with theirs", async () => {
    const out = json((await runCli(['tenants', 'create', 'Paused Co'], deps)).stdout);
    await ses.pauseTenant(`cli-${out.tenant_id}`, 'High bounce rate.');

    const shown = JSON.parse((await runCli(['tenants', 'show', out.tenant_id!], deps)).stdout);
    expect(shown).toMatchObject({
      tenant_id: out.tenant_id, name: 'Paused Co',
      ses_tenant: { sendingStatus: 'DISABLED', reputation: { aggregateStatus: 'DISABLED', awsStatus: { status: 'DISABLED', cause: 'High bounce rate.' } } },
    });
    const listed = JSON.parse((await runCli(['tenants', 'list'], deps)).stdout) as { data: { tenant_id: string; sending_status: string }[] };
    expect(listed.data.find((t) => t.tenant_id === out.tenant_id)?.sending_status).toBe('DISABLED');
    expect((await runCli(['tenants', 'show', '00000000-0000-4000-8000-000000000000'], deps)).code).toBe(1);
  });

  it('migrates tenants made before SES tenants: SES tenant, domains associated, suppressions SES holds imported; twice is once', async () => {
    // Prepare: a tenant and a domain as the first round made them, and an address on SES's list already.
    const old = await store.createTenant('Old Co');
    await new DomainStore(createDb(dynamo.doc, table)).put({
      id: '00000000-0000-4000-8000-00000000b001', name: 'old.test', tenantId: old.id, status: 'verified', verifiedForSending: true, region: 'us-east-1',
      openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString(),
    });
    await admin.ses.ensureTenant(`cli-${old.id}`);
    await admin.ses.suppress(`cli-${old.id}`, 'Bounced@Old.test', 'BOUNCE');
    const strict = json((await runCli(['tenants', 'create', 'Kept Strict', '--reputation', 'strict'], deps)).stdout);

    // Act
    const first = await runCli(['tenants', 'migrate'], deps);
    const second = await runCli(['tenants', 'migrate'], deps);

    // Assess
    expect([first.code, second.code]).toEqual([0, 0]);
    const row = (res: typeof first) => (JSON.parse(res.stdout) as { data: { tenant_id: string; suppressions_imported: number; domains: number }[] }).data.find((d) => d.tenant_id === old.id);
    expect(row(first)).toMatchObject({ domains: 1, suppressions_imported: 1 });
    expect(row(second)).toMatchObject({ suppressions_imported: 0 });
    expect(await admin.suppressions.byAddress(old.id, 'bounced@old.test')).toMatchObject({ email: 'Bounced@Old.test', origin: 'bounce', complete: true });
    const resources = (await admin.ses.resources(`cli-${old.id}`)).map((r) => r.arn);
    expect(resources).toContain('arn:aws:ses:us-east-1:000000000000:identity/old.test');
    expect(await store.getTenant(old.id)).toMatchObject({ complete: true });
    expect(await sesStatus(old.id)).toMatchObject({ reputation: { policy: 'arn:aws:ses:us-east-1:aws:reputation-policy/standard' } });
    expect(await sesStatus(strict.tenant_id!)).toMatchObject({ reputation: { policy: 'arn:aws:ses:us-east-1:aws:reputation-policy/strict' } });
  });
});
