/**
 * How every local stand-in starts and stops listening: on 127.0.0.1 only (never every interface),
 * port 0 for a free one. A failure to bind (the port is taken) rejects instead of crashing the
 * process later; stopping closes every connection, keep-alive ones included.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'node:net';

/** Listens on 127.0.0.1:`port` and answers the port actually bound. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/** How often, while a server closes, the sockets that fell idle since are closed. */
const IDLE_SWEEP_MS = 25;

/**
 * Stops a stand-in's HTTP server, resolving once every connection is gone. New connections are
 * refused at once and idle keep-alive sockets closed. A request in flight is answered first
 * (`finish`, the default), and its socket closed as soon as it is idle: Node's own close would
 * leave it open for the whole keep-alive timeout, holding the close (and a test, or local mode's
 * exit) that long. `abort` destroys those sockets instead, answered or not. Closing a server that
 * is already closed resolves.
 */
export function closeServer(server: HttpServer, inFlight: 'finish' | 'abort' = 'finish'): Promise<void> {
  return new Promise((resolve, reject) => {
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    sweep.unref();
    server.close((error?: Error & { code?: string }) => {
      clearInterval(sweep);
      if (error && error.code !== 'ERR_SERVER_NOT_RUNNING') reject(error);
      else resolve();
    });
    if (inFlight === 'abort') server.closeAllConnections();
    else server.closeIdleConnections();
  });
}
