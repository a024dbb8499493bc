/**
 * The email frame: tokens (pure) and the two routes on dynalite. A token is good for one email of
 * one tenant, for minutes, under the server's key only; the frame answers the email's HTML under
 * its own policy, and a refusal says nothing more than 404.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { apiEvent, call, isResendError, type Handler } from '../support/api';
import { startSendHarness, type SendHarness } from '../send/harness';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { staticKeyProvider } from '../../lambdas/core/adapters/secrets';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { silentLogger } from '../../lambdas/core/log';
import { createFrameHandler, frameRoutes, withFrame } from '../../lambdas/account/frame';
import { FRAME_TOKEN_TTL_SECONDS, frameContentSecurityPolicy, frameSigningKey, mintFrameToken, readFrameToken } from '../../lambdas/core/domain/frame-token';

describe('frame tokens', () => {
  const key = frameSigningKey(Buffer.alloc(32, 7));
  const grant = { tenantId: 't1', emailId: 'e1', expiresAt: 1_000, remote: false };

  it('reads back what was minted, until it expires', () => {
    const token = mintFrameToken(key, grant);
    expect(readFrameToken(key, token, 999)).toEqual(grant);
    expect(readFrameToken(key, token, 1_000)).toBeUndefined();
  });

  it('refuses a token changed in any way, or signed under another key', () => {
    const token = mintFrameToken(key, grant);
    const [payload, mac] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ t: 't2', e: 'e1', x: 1_000, r: 1 })).toString('base64url');
    expect(readFrameToken(key, `${forged}.${mac}`, 0)).toBeUndefined();
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    expect(readFrameToken(key, `${payload}.${flip(mac[0]!)}${mac.slice(1)}`, 0)).toBeUndefined();
    // The last character's two unused bits: the same bytes, another spelling, refused all the same.
    const last = mac[42]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(readFrameToken(key, `${payload}.${mac.slice(0, 42)}${sibling}`, 0)).toBeUndefined();
    expect(readFrameToken(frameSigningKey(Buffer.alloc(32, 8)), token, 0)).toBeUndefined();
    expect(readFrameToken(key, 'not a token', 0)).toBeUndefined();
  });

  it('derives its key from the secrets key, never using it as it is', () => {
    expect(frameSigningKey(Buffer.alloc(32, 7)).equals(Buffer.alloc(32, 7))).toBe(false);
  });

  it('lets remote images, styles and fonts load only when asked, and never scripts', () => {
    expect(frameContentSecurityPolicy(false)).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox");
    expect(frameContentSecurityPolicy(true)).toContain('img-src data: https: http:');
    expect(frameContentSecurityPolicy(true)).not.toMatch(/script-src/);
  });
});

describe('POST /emails/{id}/frame and GET /console/frame/{token}', () => {
  let h: SendHarness;
  let send: Handler;
  let account: Handler;
  let acme: { tenantId: string; key: string };
  let other: { tenantId: string; key: string };
  let emailId: string;
  let now = Date.parse('2026-11-29T12:00:00Z');

  beforeAll(async () => {
    h = await startSendHarness();
    acme = await h.tenant('acme');
    other = await h.tenant('other');
    send = h.handler();
    const db = createDb(h.dynamo.doc, h.table);
    const deps = { emails: new EmailStore(db, 30), keys: staticKeyProvider('ab'.repeat(32)), now: () => now };
    account = withFrame(createApiHandler(frameRoutes(deps), createAuthenticator(new TenantStore(db)), silentLogger), createFrameHandler(deps, silentLogger)) as Handler;
    emailId = (await call(send, 'POST', '/emails', { key: acme.key, body: { from: 'a@acme.test', to: 'u@x.io', subject: 's', html: '<p id="x">Hi</p>' } })).body.id;
  });
  afterAll(() => h.close());

  const frame = async (token: string) => {
    const res = await account(apiEvent('GET', `/console/frame/${encodeURIComponent(token)}`) as APIGatewayProxyEventV2, {} as never);
    return typeof res === 'string' ? { statusCode: 200, headers: {}, body: res } : res;
  };

  it("mints a token for the caller's email and serves its HTML under the frame's policy, without a key", async () => {
    now = Date.parse('2026-11-29T12:00:00Z');
    const minted = await call(account, 'POST', `/emails/${emailId}/frame`, { key: acme.key });
    expect(minted.status).toBe(200);
    expect(minted.body).toMatchObject({ object: 'email_frame', remote_content: false, expires_at: new Date(now + FRAME_TOKEN_TTL_SECONDS * 1000).toISOString() });
    const res = await frame(minted.body.token);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('<p id="x">Hi</p>');
    expect(res.headers?.['content-security-policy']).toBe(frameContentSecurityPolicy(false));
    expect(res.headers?.['cache-control']).toBe('private, no-store');
  });

  it("refuses another tenant's email (404), an expired token and a garbled one, saying nothing more", async () => {
    now = Date.parse('2026-11-29T12:00:00Z');
    expect((await call(account, 'POST', `/emails/${emailId}/frame`, { key: other.key })).status).toBe(404);
    const minted = await call(account, 'POST', `/emails/${emailId}/frame`, { key: acme.key, body: { remote_content: true } });
    now += FRAME_TOKEN_TTL_SECONDS * 1000;
    for (const res of [await frame(minted.body.token), await frame('x.y')]) {
      expect(res.statusCode).toBe(404);
      expect(isResendError(JSON.parse(res.body as string))).toBe(true);
    }
  });

  it('needs a full-access key to mint', async () => {
    expect((await call(account, 'POST', `/emails/${emailId}/frame`)).status).toBe(401);
  });
});
