import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpDelivery, type Resolver } from '../../lambdas/core/adapters/http-delivery';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function receiver(handler: Handler): Promise<{ port: number; hits: { headers: IncomingMessage['headers']; body: string; url: string }[]; close(): Promise<void> }> {
  const hits: { headers: IncomingMessage['headers']; body: string; url: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hits.push({ headers: req.headers, body, url: req.url ?? '' });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    hits,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

const loopbackResolver: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];

describe('HttpDelivery', () => {
  const clients: HttpDelivery[] = [];
  const make = (options: ConstructorParameters<typeof HttpDelivery>[0]) => {
    const c = new HttpDelivery(options);
    clients.push(c);
    return c;
  };
  afterAll(() => clients.forEach((c) => c.close()));

  it('posts the body and headers and keeps at most 1 KB of the response', async () => {
    const r = await receiver((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(5000)));
    try {
      const result = await make({ allowLoopback: true }).post({ url: `http://127.0.0.1:${r.port}/hook?a=1`, headers: { 'webhook-id': 'abc', 'content-type': 'application/json' }, body: '{"a":1}' });
      expect(result.statusCode).toBe(200);
      expect(Buffer.byteLength(result.response)).toBe(1024);
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
      expect(r.hits[0]).toMatchObject({ body: '{"a":1}', url: '/hook?a=1' });
      expect(r.hits[0]!.headers['webhook-id']).toBe('abc');
    } finally {
      await r.close();
    }
  });

  it('does not follow redirects: a 3xx is the answer', async () => {
    const target = await receiver((_req, res) => res.writeHead(200).end('should not be reached'));
    const r = await receiver((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${target.port}/` }).end());
    try {
      const result = await make({ allowLoopback: true }).post({ url: `http://127.0.0.1:${r.port}/`, headers: {}, body: '{}' });
      expect(result.statusCode).toBe(307);
      expect(target.hits).toHaveLength(0);
    } finally {
      await Promise.all([r.close(), target.close()]);
    }
  });

  it('gives up at the deadline when the endpoint does not answer', async () => {
    const r = await receiver(() => undefined); // never answers
    try {
      const started = Date.now();
      const result = await make({ allowLoopback: true, timeoutMs: 200 }).post({ url: `http://127.0.0.1:${r.port}/`, headers: {}, body: '{}' });
      expect(result.error).toBe('timeout');
      expect(result.statusCode).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await r.close();
    }
  });

  it('refuses a literal private or loopback address before connecting', async () => {
    const r = await receiver((_req, res) => res.writeHead(200).end());
    try {
      const result = await make({ allowLoopback: false }).post({ url: `http://127.0.0.1:${r.port}/`, headers: {}, body: '{}' });
      expect(result).toMatchObject({ error: 'refused' });
      expect(result.response).toMatch(/loopback/);
      const metadata = await make({ allowLoopback: true }).post({ url: 'http://169.254.169.254/latest/meta-data/', headers: {}, body: '{}' });
      expect(metadata).toMatchObject({ error: 'refused' });
      expect(r.hits).toHaveLength(0);
    } finally {
      await r.close();
    }
  });

  it('refuses at connect time a host name that resolves to a private address, even among public ones', async () => {
    const r = await receiver((_req, res) => res.writeHead(200).end());
    try {
      const resolved: string[] = [];
      const rebinding: Resolver = async (host) => (resolved.push(host), [{ address: '93.184.216.34', family: 4 }, { address: '10.0.0.7', family: 4 }]);
      const result = await make({ allowLoopback: true, resolver: rebinding }).post({ url: `http://hooks.example.test:${r.port}/`, headers: {}, body: '{}' });
      expect(result.error).toBe('refused');
      expect(result.response).toMatch(/private/);
      expect(resolved).toEqual(['hooks.example.test']);

      // Loopback through a name is refused unless loopback webhooks are allowed.
      const closed = await make({ allowLoopback: false, resolver: loopbackResolver }).post({ url: `http://hooks.example.test:${r.port}/`, headers: {}, body: '{}' });
      expect(closed.error).toBe('refused');
      expect(r.hits).toHaveLength(0);

      // And the checked address is the one connected to.
      const open = await make({ allowLoopback: true, resolver: loopbackResolver }).post({ url: `http://hooks.example.test:${r.port}/`, headers: {}, body: '{}' });
      expect(open.statusCode).toBe(200);
      expect(r.hits).toHaveLength(1);
      expect(r.hits[0]!.headers.host).toBe(`hooks.example.test:${r.port}`);
    } finally {
      await r.close();
    }
  });

  it('reports a network error for a closed port', async () => {
    const r = await receiver(() => undefined);
    const port = r.port;
    await r.close();
    const result = await make({ allowLoopback: true }).post({ url: `http://127.0.0.1:${port}/`, headers: {}, body: '{}' });
    expect(result.error).toBe('network');
    expect(result.response).toMatch(/ECONNREFUSED/);
  });
});
