/**
 * The local API Gateway stand-in under hostile and unlucky clients, over raw sockets: no request,
 * valid or not, may end the process or leave a connection hanging, and each gets what API Gateway
 * would answer. The functions behind it are the real middy chain (createApiHandler) with one echo
 * route and an authenticator that accepts any key.
 */
import { connect, type Socket } from 'node:net';
import { createApiHandler } from '../../lambdas/core/http/api';
import type { Authenticator } from '../../lambdas/core/http/auth';
import { silentLogger } from '../../lambdas/core/log';
import { type ApiLambda, type ApiServer, startApiServer } from '../../lambdas/local/api-server';

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => void rejections.push(reason);
let server: ApiServer;
const calls: string[] = [];

beforeAll(async () => {
  process.on('unhandledRejection', onRejection);
  const acceptAll: Authenticator = { authenticate: async () => ({ keyId: 'k', tenantId: 't', permission: 'full_access' }) };
  const fn = createApiHandler(
    {
      'POST /emails': { permission: 'sending_access', handle: async (ctx) => (calls.push(ctx.request.body), { statusCode: 200, body: { length: ctx.request.body.length } }) },
      'GET /emails/{id}': { permission: 'full_access', handle: async (ctx) => ({ statusCode: 200, body: { id: ctx.request.params.id } }) },
    },
    acceptAll,
    silentLogger,
  ) as ApiLambda;
  server = await startApiServer({ port: 0, handlers: { send: fn, domains: fn, account: fn, snsHttps: fn, console: fn } });
});

afterEach(async () => {
  // A rejection surfaces on a later tick: give it one before checking.
  await new Promise((r) => setTimeout(r, 50));
  expect(rejections.splice(0)).toEqual([]);
});

afterAll(async () => {
  await server.close();
  process.off('unhandledRejection', onRejection);
});

interface Exchange {
  /** Everything the server sent before it closed the connection. */
  readonly text: string;
  /** Whether the server closed the connection (rather than the test giving up on it). */
  readonly closed: boolean;
}

/**
 * Opens a connection, lets `drive` write to it, and collects what comes back until the server
 * closes the connection or `waitMs` passes, whichever is first; then closes it from this side.
 */
function exchange(drive: (socket: Socket) => void, waitMs = 3_000): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => drive(socket));
  });
}

const statusLines = (text: string) => text.match(/HTTP\/1\.1 \d{3}/g) ?? [];
const jsonBodies = (text: string) => text.split(/\r\n\r\n/).slice(1).map((b) => b.trim()).filter((b) => b.startsWith('{')).map((b) => JSON.parse(b.slice(0, b.lastIndexOf('}') + 1)) as unknown);

async function healthy(): Promise<void> {
  const res = await fetch(`${server.url}/emails/abc`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ id: 'abc' });
}

describe('the local API stand-in', () => {
  it.each([
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n'],
    ['a request target that is no URL', 'GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a path that is only slashes', 'GET // HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['an absolute target with no host', 'GET http:// HTTP/1.1\r\nHost: x\r\n\r\n'],
  ])('answers %s with a 4xx and stays up', async (_name, request) => {
    const res = await exchange((s) => s.write(request));
    expect(statusLines(res.text)).toHaveLength(1);
    expect(statusLines(res.text)[0]).toMatch(/^HTTP\/1\.1 4\d\d/);
    expect(res.closed).toBe(true);
    await healthy();
  });

  it('answers 400 for malformed percent-encoding in a path parameter, and stays up', async () => {
    const res = await exchange((s) => s.write('GET /emails/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(statusLines(res.text)).toEqual(['HTTP/1.1 400']);
    expect(res.closed).toBe(true);
    await healthy();
  });

  it('survives a client that disconnects in the middle of its body, and calls no function for it', async () => {
    const before = calls.length;
    const res = await exchange((s) => {
      s.write('POST /emails HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"from":');
      setTimeout(() => s.destroy(), 50);
    }, 1_000);
    expect(res.text).toBe('');
    await new Promise((r) => setTimeout(r, 100));
    expect(calls.length).toBe(before);
    await healthy();
  });

  it('answers 413 to a body over 10 MB and closes that connection, so a second request on it is not left hanging', async () => {
    const big = 10 * 1024 * 1024 + 1;
    const res = await exchange((s) => {
      s.on('error', () => undefined);
      s.write(`POST /emails HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big}\r\n\r\n`);
      s.write(Buffer.alloc(big, 0x20));
      s.write('GET /emails/abc HTTP/1.1\r\nHost: x\r\n\r\n');
    }, 10_000);
    expect(statusLines(res.text)[0]).toBe('HTTP/1.1 413');
    expect(res.text).toMatch(/^connection: close$/im);
    expect(res.closed).toBe(true);
    await healthy();
  });

  it('keeps a connection alive across ordinary requests', async () => {
    const res = await exchange((s) => {
      s.write('GET /emails/a HTTP/1.1\r\nHost: x\r\n\r\n');
      s.write('POST /emails HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}');
      s.write('GET /emails/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    expect(statusLines(res.text)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(res.closed).toBe(true);
  });

  it('keeps an idle connection open as API Gateway does, not Node\'s 5 s, so a paused client can reuse it', async () => {
    const res = await exchange((s) => s.write('GET /emails/a HTTP/1.1\r\nHost: x\r\n\r\n'), 300);
    expect(statusLines(res.text)).toEqual(['HTTP/1.1 200']);
    expect(res.text).toMatch(/^keep-alive: timeout=65$/im);
    expect(res.closed).toBe(false);
  });

  it.each([
    ['an unknown path', 'GET', '/nothing-here'],
    ['a known path with another method', 'PUT', '/emails'],
    ['a path that normalises to nothing', 'GET', '/emails/..'],
    ['an encoded dot-dot', 'GET', '/%2e%2e'],
    ['the root', 'GET', '/'],
  ])('answers %s with 404 in Resend\'s format', async (_name, method, path) => {
    const res = await exchange((s) => s.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    expect(statusLines(res.text)).toEqual(['HTTP/1.1 404']);
    expect(jsonBodies(res.text)[0]).toEqual({ statusCode: 404, name: 'not_found', message: expect.any(String) });
  });
});
