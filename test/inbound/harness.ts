/**
 * The inbound core wired to real local services: dynalite (domains, received emails), the local S3
 * stand-in (raw messages, attachments, bodies) and the local SQS (the webhook queue). A message is
 * "received" as SES's receipt rule does it: the raw bytes put under `inbound/<id>`, then the handler
 * invoked with a receipt event shaped as AWS's example (test/fixtures/ses-receiving).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { DomainStore, type DomainRecord } from '../../lambdas/core/adapters/domains';
import { ReceivedEmailStore } from '../../lambdas/core/adapters/received-emails';
import { SqsDeliveryQueue, WebhookFanOut } from '../../lambdas/core/adapters/fan-out';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { rawMessageKey } from '../../lambdas/core/content';
import { newId } from '../../lambdas/core/domain/ids';
import type { BusinessMetrics } from '../../lambdas/core/metrics';
import { type InboundDeps, createInboundHandler } from '../../lambdas/inbound/core';
import type { DeliveryMessage } from '../../lambdas/core/domain/webhook-payload';
import { captureLogger } from '../support/api';
import { createTenantWithDomain } from '../support/tenants';
import { startTestDynamo, startTestS3, startTestSqs, type TestDynamo, type TestS3, type TestSqs } from '../support/services';

export const fixtureEvent = (): { Records: { ses: { mail: Record<string, unknown>; receipt: Record<string, unknown> } }[] } =>
  JSON.parse(readFileSync(join(__dirname, '../fixtures/ses-receiving/lambda-event.json'), 'utf8'));

/** When the harness's messages are received (AWS's example says 2019, past any retention). */
export const RECEIVED_AT = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();

/** AWS's example event, for another message id, recipients and verdicts, received at RECEIVED_AT. */
export function receiptEvent(sesMessageId: string, recipients: string[], verdicts: Partial<Record<'spam' | 'virus' | 'spf' | 'dkim' | 'dmarc', string>> = {}) {
  const event = fixtureEvent();
  const { mail, receipt } = event.Records[0]!.ses;
  mail.timestamp = RECEIVED_AT;
  receipt.timestamp = RECEIVED_AT;
  mail.messageId = sesMessageId;
  mail.destination = recipients;
  receipt.recipients = recipients;
  for (const [k, v] of Object.entries(verdicts)) receipt[`${k}Verdict`] = { status: v };
  return event;
}

export interface Counted { readonly name: string; readonly options: Record<string, unknown> }

export interface InboundHarness {
  readonly dynamo: TestDynamo;
  readonly s3: TestS3;
  readonly sqs: TestSqs;
  readonly table: string;
  readonly queueUrl: string;
  readonly tenants: TenantStore;
  readonly domains: DomainStore;
  readonly received: ReceivedEmailStore;
  readonly content: ContentStore;
  readonly counted: Counted[];
  readonly logs: string[];
  readonly handler: (event: unknown) => Promise<Awaited<ReturnType<ReturnType<typeof createInboundHandler>>>>;
  /** A tenant with a domain `<prefix>.test` (receiving on unless told) and one endpoint subscribed to email.received. */
  tenant(prefix: string, domain?: Partial<DomainRecord>): Promise<{ tenantId: string; key: string; domain: string; webhookId: string }>;
  /** Stores the raw message as the receipt rule's S3 action does, and answers its SES message id. */
  storeRaw(raw: Buffer | string, sesMessageId?: string): Promise<string>;
  /** The webhook messages queued so far (received and left in flight). */
  queued(): Promise<DeliveryMessage[]>;
  close(): Promise<void>;
}

export async function startInboundHarness(): Promise<InboundHarness> {
  const dynamo = await startTestDynamo();
  const table = await dynamo.freshTable();
  const s3 = await startTestS3();
  const sqs = await startTestSqs();
  const queue = await sqs.freshQueue();
  const db = createDb(dynamo.doc, table);
  const tenants = new TenantStore(db);
  const domains = new DomainStore(db);
  const received = new ReceivedEmailStore(db, 30);
  const content = new ContentStore(s3.client, s3.bucket);
  const counted: Counted[] = [];
  const metrics: BusinessMetrics = { count: (name, options) => counted.push({ name, options: options as Record<string, unknown> }) };
  const { log, lines } = captureLogger();
  const subscribers = new Map<string, string>();
  const deps: InboundDeps = {
    content, domains, received, metrics, log,
    // The subscribers a tenant's endpoints would give (the endpoints adapter has its own tests): one each.
    fanOut: new WebhookFanOut({
      webhooks: { subscribers: async (tenantId) => (subscribers.has(tenantId) ? [{ id: subscribers.get(tenantId)!, events: ['email.received'], status: 'enabled' }] : []) },
      queue: new SqsDeliveryQueue(sqs.client, queue.url),
      retrySchedule: [0],
      random: () => 0.5,
    }),
  };
  const handler = createInboundHandler(deps);
  return {
    dynamo, s3, sqs, table, queueUrl: queue.url, tenants, domains, received, content, counted, logs: lines,
    handler: (event) => handler(event),
    async tenant(prefix, domain = {}) {
      const made = await createTenantWithDomain(tenants, domains, prefix, { receiving: true, ...domain });
      const webhookId = newId();
      subscribers.set(made.tenantId, webhookId);
      return { ...made, webhookId };
    },
    async storeRaw(raw, sesMessageId = `test${newId().replace(/-/g, '')}`) {
      await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: rawMessageKey(sesMessageId), Body: typeof raw === 'string' ? Buffer.from(raw) : raw }));
      return sesMessageId;
    },
    async queued() {
      const out: DeliveryMessage[] = [];
      for (;;) {
        const { Messages } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }));
        if (!Messages?.length) return out;
        out.push(...Messages.map((m) => JSON.parse(m.Body!) as DeliveryMessage));
      }
    },
    async close() {
      await sqs.close();
      await s3.close();
      await dynamo.close();
    },
  };
}
