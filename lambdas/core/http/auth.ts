/**
 * API key authentication, shared by every API function. A key maps to its tenant and permission;
 * only the key's SHA-256 is stored. A lookup is cached in the container for at most a minute, so a
 * revoked key stops working within a minute; key management (`fresh`) looks the key up every time,
 * so a revoked key can never mint a key that outlives it.
 */
import { HttpError } from '../errors';
import { hashApiKey } from '../domain/ids';

export type Permission = 'full_access' | 'sending_access';

export interface ApiKeyRecord {
  readonly keyId: string;
  /** The key's name, as request logs show it. */
  readonly keyName?: string;
  readonly tenantId: string;
  readonly permission: Permission;
  /** A sending key may be limited to one domain (by name). */
  readonly domain?: string;
}

export interface AuthContext extends ApiKeyRecord {}

export interface KeyLookup {
  findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
}

export interface AuthenticateOptions {
  /** Look the key up now instead of trusting the cache (and cache what is found). */
  readonly fresh?: boolean;
}

export interface Authenticator {
  authenticate(authorization: string | undefined, required: Permission, options?: AuthenticateOptions): Promise<AuthContext>;
}

/**
 * `Authorization: Bearer <token68>` as RFC 9110 writes credentials: the scheme in any case, one or
 * more spaces (SP only: no tab, no no-break or other Unicode space), a token68; the field value's
 * own leading and trailing whitespace (SP, HTAB) aside.
 */
const BEARER = /^[ \t]*Bearer +([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

export const AUTH_CACHE_TTL_MS = 60_000;
/** Unknown keys are remembered briefly too, so a flood of bad keys does not become a flood of reads. */
export const NEGATIVE_CACHE_TTL_MS = 5_000;

export function createAuthenticator(lookup: KeyLookup, now: () => number = Date.now, maxEntries = 10_000): Authenticator {
  const cache = new Map<string, { record: ApiKeyRecord | undefined; until: number }>();

  const find = async (hash: string, fresh: boolean): Promise<ApiKeyRecord | undefined> => {
    const hit = cache.get(hash);
    const t = now();
    if (!fresh && hit && hit.until > t) return hit.record;
    const record = await lookup.findKeyByHash(hash);
    cache.delete(hash);
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(hash, { record, until: t + (record ? AUTH_CACHE_TTL_MS : NEGATIVE_CACHE_TTL_MS) });
    return record;
  };

  return {
    async authenticate(authorization, required, options = {}) {
      const match = BEARER.exec(authorization ?? '');
      if (!match) {
        throw new HttpError(401, 'missing_api_key', 'Missing API key in the authorization header. Include the following header in the request: Authorization: Bearer YOUR_API_KEY');
      }
      const key = match[1]!;
      const record = key.startsWith('re_') && key.length <= 200 ? await find(hashApiKey(key), options.fresh === true) : undefined;
      if (!record) throw new HttpError(403, 'invalid_api_key', 'API key is invalid');
      if (required === 'full_access' && record.permission !== 'full_access') {
        throw new HttpError(401, 'restricted_api_key', 'This API key is restricted to only send emails');
      }
      return record;
    },
  };
}
