/**
 * How the local stand-ins listen and stop (lambdas/local/listen.ts): loopback only, and a close that
 * does not wait for keep-alive timeouts. Real HTTP servers and a keep-alive client agent.
 */
import { Agent, createServer, get, type IncomingMessage, type Server } from 'node:http';
import { closeServer, listenOnLoopback } from '../../lambdas/local/listen';

/** A server that answers `hold` ms after each request arrives, keeping connections alive 30 s. */
async function holdingServer(hold: number): Promise<{ server: Server; port: number; arrived: Promise<void> }> {
  let arrivedResolve!: () => void;
  const arrived = new Promise<void>((r) => { arrivedResolve = r; });
  const server = createServer((_req, res) => {
    arrivedResolve();
    if (hold >= 0) setTimeout(() => res.end('ok'), hold);
  });
  server.keepAliveTimeout = 30_000;
  return { server, port: await listenOnLoopback(server), arrived };
}

function request(port: number, agent: Agent): Promise<IncomingMessage & { text: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, agent }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(Object.assign(res, { text })));
    }).on('error', reject);
  });
}

describe('closeServer', () => {
  const agents: Agent[] = [];
  const keepAlive = () => {
    const agent = new Agent({ keepAlive: true });
    agents.push(agent);
    return agent;
  };
  afterAll(() => agents.forEach((a) => a.destroy()));

  it('answers a request in flight, then closes its keep-alive socket at once instead of after the keep-alive timeout', async () => {
    const { server, port, arrived } = await holdingServer(200);
    const answer = request(port, keepAlive());
    await arrived;
    const started = Date.now();
    await closeServer(server);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await answer).text).toBe('ok');
    expect(server.listening).toBe(false);
  });

  it('closes idle keep-alive sockets', async () => {
    const { server, port } = await holdingServer(0);
    const agent = keepAlive();
    expect((await request(port, agent)).headers.connection).toBe('keep-alive');
    const started = Date.now();
    await closeServer(server);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('with abort, drops a request in flight that would never be answered', async () => {
    const { server, port, arrived } = await holdingServer(-1);
    const answer = request(port, keepAlive());
    await arrived;
    await closeServer(server, 'abort');
    await expect(answer).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('resolves when the server is closed already', async () => {
    const { server } = await holdingServer(0);
    await closeServer(server);
    await expect(closeServer(server)).resolves.toBeUndefined();
  });
});
