import { createAuthenticator, type ApiKeyRecord } from '../../lambdas/core/http/auth';
import { hashApiKey } from '../../lambdas/core/domain/ids';
import { HttpError } from '../../lambdas/core/errors';

const KEY = 're_testkey_1234567890';

function setup(record: ApiKeyRecord | undefined) {
  let now = 1_000_000;
  const lookups: string[] = [];
  let current = record;
  const auth = createAuthenticator({ findKeyByHash: async (hash) => (lookups.push(hash), hash === hashApiKey(KEY) ? current : undefined) }, () => now);
  return { auth, lookups, advance: (ms: number) => (now += ms), revoke: () => (current = undefined) };
}

async function refusal(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

const full: ApiKeyRecord = { keyId: 'k1', tenantId: 't1', permission: 'full_access' };

describe('authenticator', () => {
  it('maps a key to its tenant, looking it up by hash only', async () => {
    const { auth, lookups } = setup(full);
    await expect(auth.authenticate(`Bearer ${KEY}`, 'full_access')).resolves.toEqual(full);
    expect(lookups).toEqual([hashApiKey(KEY)]);
    expect(lookups[0]).not.toContain(KEY);
  });

  it('answers 401 missing_api_key without a bearer token', async () => {
    const { auth } = setup(full);
    for (const header of [undefined, '', 'Basic abc', 'Bearer']) {
      const e = await refusal(auth.authenticate(header, 'sending_access'));
      expect([e.statusCode, e.errorName]).toEqual([401, 'missing_api_key']);
    }
  });

  it('answers 403 invalid_api_key for an unknown key', async () => {
    const { auth } = setup(full);
    const e = await refusal(auth.authenticate('Bearer re_unknown_key_000', 'sending_access'));
    expect([e.statusCode, e.errorName]).toEqual([403, 'invalid_api_key']);
  });

  it('refuses a sending key on a full-access route', async () => {
    const { auth } = setup({ ...full, permission: 'sending_access' });
    await expect(auth.authenticate(`Bearer ${KEY}`, 'sending_access')).resolves.toMatchObject({ tenantId: 't1' });
    const e = await refusal(auth.authenticate(`Bearer ${KEY}`, 'full_access'));
    expect([e.statusCode, e.errorName]).toEqual([401, 'restricted_api_key']);
  });

  it('caches a lookup for at most a minute, so a revoked key stops working within a minute', async () => {
    const { auth, lookups, advance, revoke } = setup(full);
    await auth.authenticate(`Bearer ${KEY}`, 'full_access');
    revoke();
    advance(59_000);
    await expect(auth.authenticate(`Bearer ${KEY}`, 'full_access')).resolves.toEqual(full);
    expect(lookups).toHaveLength(1);
    advance(1_001);
    const e = await refusal(auth.authenticate(`Bearer ${KEY}`, 'full_access'));
    expect(e.errorName).toBe('invalid_api_key');
    expect(lookups).toHaveLength(2);
  });
});
