/**
 * The fan-out: an applied SES event, or a domain event, becomes one SQS message per subscribed,
 * enabled endpoint of its tenant. Implements the EventFanOut seam (domain/applied-event.ts) and
 * DomainEventPublisher (domain events: domain/domain-events.ts).
 *
 * - Endpoint lookup is one Query per tenant (WebhookStore.subscribers), cached in the container for
 *   SUBSCRIBER_CACHE_MS (30 s): a busy tenant costs one Query per container every 30 s, and a new,
 *   changed or disabled endpoint is seen by the fan-out within 30 s (the deliver function re-reads
 *   the endpoint at every attempt, so a disabled or deleted endpoint is never called).
 * - Each message's delivery id is derived from the event id and the endpoint, so a repeated
 *   fan-out (ingestion retrying after a crash, SNS redelivering) queues the same delivery again,
 *   and the deliver function drops it once delivered.
 * - SendMessageBatch, at most 10 entries a call; failed entries are retried with a short backoff,
 *   and if some still fail the call throws, so that ingestion retries the event.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { AppliedEvent, EventFanOut, WebhookEventType } from '../domain/applied-event';
import type { DomainEvent } from '../domain/domain-events';
import { timeOrderedDerivedId } from '../domain/ids';
import { buildPayload, type DeliveryMessage, jittered, serializePayload } from '../domain/webhook-payload';
import type { WebhookQueueConfig } from '../config';
import type { Db } from './dynamo';
import { type Subscriber, WebhookSubscribers } from './endpoints';

export const SUBSCRIBER_CACHE_MS = 30_000;
const SQS_BATCH = 10;
/** SQS's largest DelaySeconds. A longer first delay in the schedule is cut to this. */
export const MAX_DELAY_SECONDS = 900;

/**
 * The delivery id of one event for one endpoint: the `webhook-id` header. Derived, so a repeated
 * fan-out gives the same id; time-ordered by the event's own time, so an endpoint's deliveries are
 * listed by their keys (lambdas/core/table.ts).
 */
export const deliveryIdFor = (eventId: string, webhookId: string, eventTime: string): string =>
  timeOrderedDerivedId(Date.parse(eventTime), 'webhook-delivery', eventId, webhookId);

export interface QueuedDelivery {
  readonly message: DeliveryMessage;
  readonly delaySeconds: number;
}

export interface DeliveryQueue {
  enqueue(deliveries: readonly QueuedDelivery[]): Promise<void>;
}

export class SqsDeliveryQueue implements DeliveryQueue {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly queueUrl: string,
    private readonly options: { readonly attempts?: number; readonly sleep?: (ms: number) => Promise<void> } = {},
  ) {}

  async enqueue(deliveries: readonly QueuedDelivery[]): Promise<void> {
    const batches: QueuedDelivery[][] = [];
    for (let i = 0; i < deliveries.length; i += SQS_BATCH) batches.push(deliveries.slice(i, i + SQS_BATCH));
    await Promise.all(batches.map((b) => this.sendBatch(b)));
  }

  private async sendBatch(batch: readonly QueuedDelivery[]): Promise<void> {
    const attempts = this.options.attempts ?? 4;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let pending = batch.map((d, i) => ({ id: String(i), d }));
    let lastError = '';
    for (let attempt = 0; attempt < attempts && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 50 * 2 ** attempt));
      try {
        const res = await this.sqs.send(new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: pending.map(({ id, d }) => ({
            Id: id,
            MessageBody: JSON.stringify(d.message),
            DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.round(d.delaySeconds))),
          })),
        }));
        const failed = new Set((res.Failed ?? []).map((f) => f.Id));
        // A sender fault (e.g. a malformed entry) will not succeed on retry either; it still throws below.
        lastError = (res.Failed ?? []).map((f) => `${f.Code}${f.SenderFault ? ' (sender fault)' : ''}`).join(', ');
        pending = pending.filter((p) => failed.has(p.id));
      } catch (error) {
        lastError = error instanceof Error ? error.name : String(error);
      }
    }
    if (pending.length > 0) throw new Error(`Could not queue ${pending.length} webhook deliveries: ${lastError}`);
  }
}

/** An event with its body built, as the fan-out queues it. */
export interface ReadyEvent {
  readonly eventId: string;
  readonly tenantId: string;
  readonly type: WebhookEventType;
  readonly timestamp: string;
  readonly payload: string;
  readonly emailId?: string;
}

/** Queues a domain event for every subscribed, enabled endpoint; idempotent as fanOut is. */
export interface DomainEventPublisher {
  publish(event: DomainEvent): Promise<void>;
}

export interface SubscriberSource {
  subscribers(tenantId: string): Promise<readonly Subscriber[]>;
}

export interface WebhookFanOutDeps {
  readonly webhooks: SubscriberSource;
  readonly queue: DeliveryQueue;
  /** SESAME_WEBHOOK_RETRY_SCHEDULE: its first entry delays the first attempt. */
  readonly retrySchedule: readonly number[];
  readonly now?: () => number;
  readonly random?: () => number;
  readonly cacheMs?: number;
  /** Tenants kept in the cache at most. */
  readonly cacheEntries?: number;
}

export class WebhookFanOut implements EventFanOut, DomainEventPublisher {
  private readonly cache = new Map<string, { subscribers: readonly Subscriber[]; until: number }>();

  constructor(private readonly deps: WebhookFanOutDeps) {}

  async fanOut(event: AppliedEvent): Promise<void> {
    // The body is built only when some endpoint wants the event.
    await this.queue(event, () => serializePayload(buildPayload(event)));
  }

  async publish(event: DomainEvent): Promise<void> {
    await this.queue(event, () => event.payload);
  }

  /** Queues an event whose body is built already (`email.received`); idempotent as fanOut is. */
  async publishReady(event: ReadyEvent): Promise<void> {
    await this.queue(event, () => event.payload);
  }

  private async queue(event: Omit<ReadyEvent, 'payload'>, body: () => string): Promise<void> {
    const subscribers = (await this.subscribersOf(event.tenantId)).filter((s) => s.status === 'enabled' && s.events.includes(event.type));
    if (subscribers.length === 0) return;
    const now = this.deps.now ?? Date.now;
    const payload = body();
    const queuedAt = new Date(now()).toISOString();
    const first = this.deps.retrySchedule[0] ?? 0;
    await this.deps.queue.enqueue(subscribers.map((s) => ({
      message: {
        v: 1,
        delivery_id: deliveryIdFor(event.eventId, s.id, event.timestamp),
        webhook_id: s.id,
        tenant_id: event.tenantId,
        ...(event.emailId !== undefined ? { email_id: event.emailId } : {}),
        event_id: event.eventId,
        event_type: event.type,
        payload,
        queued_at: queuedAt,
        generation: 0,
      },
      delaySeconds: jittered(first, this.deps.random),
    })));
  }

  private async subscribersOf(tenantId: string): Promise<readonly Subscriber[]> {
    const now = (this.deps.now ?? Date.now)();
    const hit = this.cache.get(tenantId);
    if (hit && hit.until > now) return hit.subscribers;
    const subscribers = await this.deps.webhooks.subscribers(tenantId);
    this.cache.delete(tenantId);
    if (this.cache.size >= (this.deps.cacheEntries ?? 10_000)) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(tenantId, { subscribers, until: now + (this.deps.cacheMs ?? SUBSCRIBER_CACHE_MS) });
    return subscribers;
  }
}

/** The fan-out as ingestion wires it: endpoints from the table, messages to the webhook queue. */
export function createWebhookFanOut(db: Db, sqs: Pick<SQSClient, 'send'>, config: WebhookQueueConfig): WebhookFanOut {
  return new WebhookFanOut({
    webhooks: new WebhookSubscribers(db),
    queue: new SqsDeliveryQueue(sqs, config.webhookQueueUrl),
    retrySchedule: config.retrySchedule,
  });
}
