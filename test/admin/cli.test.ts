import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { hashApiKey } from '../../lambdas/core/domain/ids';
import { runCli, type AdminDeps } from '../../lambdas/admin/cli';
import { startTestDynamo, type TestDynamo } from '../support/services';

let dynamo: TestDynamo;
let table: string;
let deps: AdminDeps;
let store: TenantStore;

beforeAll(async () => {
  dynamo = await startTestDynamo();
  table = await dynamo.freshTable();
  store = new TenantStore(createDb(dynamo.doc, table));
  deps = { tenants: () => store };
});
afterAll(() => dynamo.close());

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
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    };
    const { stdout } = await promisify(execFile)(process.execPath, [join(__dirname, '../../bin/sesame.js'), 'tenants', 'create', 'from-the-shell'], { env });
    const out = JSON.parse(stdout);
    expect(out.api_key).toMatch(/^re_/);
    expect(await store.getTenant(out.tenant_id)).toMatchObject({ name: 'from-the-shell' });
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
      SESAME_TABLE_NAME: table, AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
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
