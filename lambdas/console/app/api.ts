/**
 * The console's calls to Sesame's own API (same origin, so no CORS). The API key lives in
 * sessionStorage only (gone when the tab closes), is sent as the bearer token, and never goes in a
 * URL. A refused key (401, or 403 invalid_api_key: revoked or unknown) signs the console out; a
 * sending-only key's 401 `restricted_api_key` on a full-access route only says the page is not
 * for it.
 */

const KEY_ITEM = 'sesame.apiKey';
const PERMISSION_ITEM = 'sesame.permission';

export type Permission = 'full_access' | 'sending_access';

export class ApiError extends Error {
  constructor(readonly status: number, readonly errorName: string, message: string) {
    super(message);
  }
}

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY_ITEM),
  permission: (): Permission => (sessionStorage.getItem(PERMISSION_ITEM) === 'full_access' ? 'full_access' : 'sending_access'),
  start(key: string, permission: Permission): void {
    sessionStorage.setItem(KEY_ITEM, key);
    sessionStorage.setItem(PERMISSION_ITEM, permission);
  },
  end(): void {
    sessionStorage.removeItem(KEY_ITEM);
    sessionStorage.removeItem(PERMISSION_ITEM);
  },
};

let onSignedOut: (reason: string) => void = () => undefined;
export const whenSignedOut = (handler: (reason: string) => void): void => {
  onSignedOut = handler;
};

/** Whether an answer means the key itself is refused (not merely restricted). */
export const isRefusedKey = (status: number, name: string): boolean =>
  (status === 401 && name !== 'restricted_api_key') || (status === 403 && name === 'invalid_api_key');

async function send(key: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed };
}

/** Calls the API with the session's key; throws ApiError for any answer that is not 2xx. */
export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const key = session.key();
  if (!key) {
    onSignedOut('Sign in to continue.');
    throw new ApiError(401, 'missing_api_key', 'Not signed in.');
  }
  const res = await send(key, method, path, body);
  if (res.status >= 200 && res.status < 300) return res.body as T;
  const error = (res.body ?? {}) as { name?: string; message?: string };
  const name = error.name ?? `http_${res.status}`;
  if (isRefusedKey(res.status, name)) {
    session.end();
    onSignedOut(res.status === 403 ? 'This API key is no longer valid (revoked or unknown): you were signed out.' : 'The API refused this key: you were signed out.');
  }
  throw new ApiError(res.status, name, error.message ?? `The API answered ${res.status}.`);
}

/** Checks a typed key before keeping it: its permission, or an error message. */
export async function probeKey(key: string): Promise<{ permission: Permission } | { error: string }> {
  const res = await send(key, 'GET', '/api-keys');
  if (res.status === 200) return { permission: 'full_access' };
  const name = ((res.body ?? {}) as { name?: string }).name ?? '';
  if (res.status === 401 && name === 'restricted_api_key') return { permission: 'sending_access' };
  return { error: res.status === 403 || res.status === 401 ? 'This API key was refused.' : `The API answered ${res.status}; try again.` };
}

/** `path?query` with the defined parameters only. */
export function withQuery(path: string, query: Readonly<Record<string, string | number | undefined>>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export interface ListPage<T> {
  readonly object: 'list';
  readonly has_more: boolean;
  readonly data: T[];
}
