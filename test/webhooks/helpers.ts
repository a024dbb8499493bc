/** Shared set-up for the webhook tests: stores on dynalite, a receiver on 127.0.0.1, SQS records. */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SQSRecord } from 'aws-lambda';
import type { AppliedEvent, EmailEventType } from '../../lambdas/core/domain/applied-event';
import { createDb, type Db } from '../../lambdas/core/adapters/dynamo';
import { SecretBox, staticKeyProvider } from '../../lambdas/core/adapters/secrets';
import { type Delivery, DeliveryStore } from '../../lambdas/core/adapters/deliveries';
import { WebhookStore } from '../../lambdas/core/adapters/endpoints';
import type { DeliveryPayloads } from '../../lambdas/core/adapters/delivery-payloads';
import { timeOrderedDerivedId } from '../../lambdas/core/domain/ids';
import type { DeliveryMessage } from '../../lambdas/core/domain/webhook-payload';
import { startTestDynamo, startTestSqs, type TestDynamo, type TestSqs } from '../support/services';

export interface Clock {
  now: () => number;
  set(ms: number): void;
  advance(ms: number): void;
}

/** Real time unless set: signatures must verify within the libraries' 5-minute tolerance. */
export function clock(): Clock {
  let fixed: number | undefined;
  return {
    now: () => fixed ?? Date.now(),
    set: (ms) => void (fixed = ms),
    advance: (ms) => void (fixed = (fixed ?? Date.now()) + ms),
  };
}

export interface Stores {
  readonly db: Db;
  readonly webhooks: WebhookStore;
  readonly deliveries: DeliveryStore;
  readonly clock: Clock;
  readonly box: SecretBox;
}

/**
 * One dynalite for the describe block that calls it, and the local SQS in memory, opened
 * before its tests and closed after them. Read them inside tests or hooks, not at collection time.
 */
export function localServices(): { readonly dynamo: TestDynamo; readonly sqs: TestSqs } {
  const services = {} as { dynamo: TestDynamo; sqs: TestSqs };
  beforeAll(async () => {
    services.dynamo = await startTestDynamo();
    services.sqs = await startTestSqs();
  });
  afterAll(async () => {
    await Promise.all([services.dynamo.close(), services.sqs.close()]);
  });
  return services;
}

export async function stores(dynamo: TestDynamo): Promise<Stores> {
  const c = clock();
  const db = createDb(dynamo.doc, await dynamo.freshTable(), c.now);
  const box = new SecretBox(staticKeyProvider(randomBytes(32).toString('base64')));
  return { db, webhooks: new WebhookStore(db, box), deliveries: new DeliveryStore(db, 30), clock: c, box };
}

export interface Hit {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface Receiver {
  readonly url: string;
  readonly hits: Hit[];
  /** The status codes to answer, in order; then `then` for every later request. */
  respond(codes: number[], then?: number): void;
  close(): Promise<void>;
}

/** An endpoint on 127.0.0.1 that records requests and answers the planned status codes. */
export async function startReceiver(options: { hang?: boolean; delayMs?: number } = {}): Promise<Receiver> {
  const hits: Hit[] = [];
  let plan: number[] = [];
  let fallback = 200;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (options.hang) return;
      const code = plan.shift() ?? fallback;
      const answer = () => res.writeHead(code, { 'content-type': 'text/plain' }).end(`answered ${code}`);
      if (options.delayMs === undefined) answer();
      else setTimeout(answer, options.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hits,
    respond: (codes, then = 200) => ((plan = [...codes]), (fallback = then)),
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

export function appliedEvent(tenantId: string, type: EmailEventType = 'email.delivered', eventId = randomUUID()): AppliedEvent {
  const emailId = randomUUID();
  return {
    eventId, tenantId, emailId, type,
    timestamp: '2026-11-20T10:00:05.000Z',
    email: { email_id: emailId, from: 'Acme <hello@acme.test>', to: ['someone@example.com'], subject: 'Hi', created_at: '2026-11-20T10:00:00.000Z', tags: { plan: 'pro' } },
    details: {},
  };
}

export function deliveryMessage(over: Partial<DeliveryMessage> & Pick<DeliveryMessage, 'webhook_id' | 'tenant_id'>): DeliveryMessage {
  const eventId = over.event_id ?? randomUUID();
  return {
    v: 1,
    // Time-ordered by the event's time (here: when it was queued), as the fan-out derives them.
    delivery_id: timeOrderedDerivedId(Date.parse(over.queued_at ?? '2026-11-20T10:00:05.000Z'), eventId, over.webhook_id),
    email_id: 'e1',
    event_id: eventId,
    event_type: 'email.delivered',
    payload: JSON.stringify({ type: 'email.delivered', created_at: '2026-11-20T10:00:05.000Z', data: { email_id: 'e1' } }),
    queued_at: new Date().toISOString(),
    generation: 0,
    ...over,
  };
}

/** An SQS record as the event source mapping hands it over. */
export function sqsRecord(message: DeliveryMessage | string, receiveCount = 1): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: `rh-${randomUUID()}`,
    body: typeof message === 'string' ? message : JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:webhooks',
    awsRegion: 'us-east-1',
  };
}

/** Polls `check` until it returns true or the time is up. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A message's delivery as stored, or undefined. */
export const storedDelivery = (s: Stores, m: Pick<DeliveryMessage, 'webhook_id' | 'delivery_id'>): Promise<Delivery | undefined> =>
  s.deliveries.get(m.webhook_id, m.delivery_id);

/** A message's attempts as listed, newest first. */
export async function storedAttempts(s: Stores, m: Pick<DeliveryMessage, 'webhook_id' | 'delivery_id'>) {
  const d = await storedDelivery(s, m);
  if (!d) throw new Error(`no delivery ${m.delivery_id}`);
  return (await s.deliveries.listAttempts(d, { limit: 100 })).data;
}

/**
 * Stands in for the payload rebuild (the email and event reads, tested on their own in
 * delivery-payloads.test.ts) where a test's deliveries have no email: the body each message carried.
 */
export class KnownPayloads implements DeliveryPayloads {
  private readonly bodies = new Map<string, string>();
  remember(m: Pick<DeliveryMessage, 'delivery_id' | 'payload'>): void {
    this.bodies.set(m.delivery_id, m.payload);
  }
  async payloadOf(d: Delivery): Promise<string | undefined> {
    return d.payload ?? this.bodies.get(d.id);
  }
}
