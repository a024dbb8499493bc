/**
 * How every local stand-in starts listening: on 127.0.0.1 only (never every interface), port 0 for
 * a free one. A failure to bind (the port is taken) rejects instead of crashing the process later.
 */
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
