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

  it('accepts the header only as RFC 9110 writes it: the scheme in any case, then spaces, then a token68', async () => {
    const { auth } = setup(full);
    for (const header of [`Bearer ${KEY}`, `bearer ${KEY}`, `BEARER   ${KEY}`, ` Bearer ${KEY} `]) {
      await expect(auth.authenticate(header, 'full_access')).resolves.toEqual(full);
    }
  });

  it.each([
    ['a no-break space', `Bearer\u00a0${KEY}`],
    ['an ideographic space', `Bearer\u3000${KEY}`],
    ['a line feed', `Bearer\n${KEY}`],
    ['a tab', `Bearer\t${KEY}`],
    ['no separator', `Bearer${KEY}`],
    ['a second token', `Bearer ${KEY} ${KEY}`],
    ['a character outside token68', `Bearer ${KEY}\u00e9`],
    ['a comma-separated second credential', `Bearer ${KEY}, Basic x`],
  ])('answers 401 missing_api_key for a header with %s', async (_name, header) => {
    const { auth, lookups } = setup(full);
    const e = await refusal(auth.authenticate(header, 'sending_access'));
    expect([e.statusCode, e.errorName]).toEqual([401, 'missing_api_key']);
    expect(lookups).toEqual([]);
  });

  it('looks a key up afresh when asked (key management), and the cache learns the answer', async () => {
    const { auth, lookups, revoke } = setup(full);
    await auth.authenticate(`Bearer ${KEY}`, 'full_access');
    revoke();
    const e = await refusal(auth.authenticate(`Bearer ${KEY}`, 'full_access', { fresh: true }));
    expect(e.errorName).toBe('invalid_api_key');
    expect(lookups).toHaveLength(2);
    // The revocation is now what the cache holds for every route.
    await expect(auth.authenticate(`Bearer ${KEY}`, 'sending_access')).rejects.toMatchObject({ errorName: 'invalid_api_key' });
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
