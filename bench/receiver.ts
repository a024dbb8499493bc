/**
 * The benchmark's webhook endpoint: answers 200 to every POST and counts deliveries by their
 * `webhook-id` (the delivery id, the same on every retry), so that a delivery that succeeds twice
 * shows up as a duplicate.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  readonly id: string;
  readonly type: string;
  readonly emailId: string;
}

export interface Receiver {
  readonly url: string;
  /** Deliveries by webhook-id: how many times each arrived. */
  readonly byId: Map<string, number>;
  /** The first arrival of each webhook-id. */
  readonly received: ReceivedWebhook[];
  /** Emails' webhook types, by email id (first arrivals only). */
  readonly byEmail: Map<string, string[]>;
  duplicates(): number;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const byId = new Map<string, number>();
  const received: ReceivedWebhook[] = [];
  const byEmail = new Map<string, string[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = String(req.headers['webhook-id'] ?? '');
      const seen = byId.get(id) ?? 0;
      byId.set(id, seen + 1);
      if (seen === 0) {
        try {
          const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type?: string; data?: { email_id?: string } };
          const hook = { id, type: String(payload.type), emailId: String(payload.data?.email_id) };
          received.push(hook);
          byEmail.set(hook.emailId, [...(byEmail.get(hook.emailId) ?? []), hook.type]);
        } catch {
          received.push({ id, type: 'unreadable', emailId: '' });
        }
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    byId,
    received,
    byEmail,
    duplicates: () => [...byId.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
