/**
 * Webhook delivery: one SQS record is one attempt of one event to one endpoint.
 *
 * Outcomes of an attempt:
 * - 2xx: delivered. Recorded with a conditional write, so a duplicate message of a delivered
 *   delivery is dropped without calling the endpoint again (a replay is a new generation and does).
 *   Two copies of one delivery processed at the same moment can both be sent (at-least-once); they
 *   carry the same `webhook-id`, by which a receiver deduplicates, as Svix and Resend advise.
 * - 410 Gone: the endpoint is disabled and the delivery marked failed (replayable).
 * - Anything else: a timeout, a network error, a refused address, a 3xx (redirects are not
 *   followed), 429, 5xx, and also other 4xx. Svix retries every non-2xx but 410, and so does
 *   Sesame: a 400/401/404 is most often a receiver that is being deployed or misconfigured for a
 *   while, and the schedule is long enough to ride it out, while a permanent refusal costs only
 *   the schedule's few attempts and ends as a failed, replayable delivery.
 *
 * Retry mechanics: the delay before the next attempt is carried by the message's own visibility
 * timeout. After a failed attempt the handler sets ChangeMessageVisibility on the record to the
 * next (jittered) delay and reports it as a batch item failure; SQS makes it visible again then,
 * and the attempt number is SQS's ApproximateReceiveCount. This keeps one message per delivery
 * (no re-send, no SendMessage permission, no 900 s DelaySeconds ceiling); SQS's 12 h visibility
 * ceiling is above the schedule's longest step (10 h + 20%, cut to just under 12 h). When the
 * schedule is spent the delivery is marked failed and the message deleted (reported as a success);
 * the DLQ (maxReceiveCount 12) only catches messages that cannot be processed at all.
 *
 * An endpoint failing without a success for ENDPOINT_FAILURE_DISABLE_MS (5 days) is disabled. Its
 * failing-since time is written only when it changes (set on a failure when absent, removed on a
 * success when present), so a failing endpoint is not rewritten at every attempt.
 *
 * DynamoDB requests per attempt, with the endpoint in the container's cache (EndpointCache): one
 * GetItem of the delivery (a delivered or replayed delivery is not posted again) and one UpdateItem
 * that records the outcome with the attempt. A retry adds the attempt's own item; a change of the
 * endpoint's failure state adds its write. Each attempt logs one line at INFO (WARN when it ends the
 * delivery as failed or disables the endpoint).
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { attributed } from '../core/aws-calls';
import type { Logger } from '../core/log';
import { type BusinessMetrics, metrics as rootMetrics } from '../core/metrics';
import { type DeliveryMessage, emailIdOf, nextDelaySeconds, parseDeliveryMessage } from '../core/domain/webhook-payload';
import { signingSecrets, webhookHeaders } from '../core/domain/webhook-signing';
import type { WebhookPoster } from '../core/adapters/http-delivery';
import type { DeliveryIdentity, DeliveryStore } from '../core/adapters/deliveries';
import type { EndpointReader } from '../core/adapters/endpoints';

export const ENDPOINT_FAILURE_DISABLE_MS = 5 * 24 * 3600 * 1000;
/** SQS refuses a visibility timeout that ends more than 12 h after the receive; keep a margin. */
export const MAX_VISIBILITY_SECONDS = 12 * 3600 - 120;

export interface VisibilityControl {
  /** Makes the record's message visible again in `seconds`. */
  delay(record: SQSRecord, seconds: number): Promise<void>;
}

export interface DeliverDeps {
  readonly webhooks: EndpointReader;
  readonly deliveries: Pick<DeliveryStore, 'get' | 'recordOutcome'>;
  readonly poster: WebhookPoster;
  readonly visibility: VisibilityControl;
  readonly retrySchedule: readonly number[];
  readonly log: Logger;
  /** WebhooksDelivered, WebhooksRetried, WebhooksFailed. @default the process's metrics */
  readonly metrics?: BusinessMetrics;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly disableAfterMs?: number;
}

type Outcome = 'done' | 'retry';

export function createDeliverHandler(deps: DeliverDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  const now = deps.now ?? Date.now;
  const metrics = deps.metrics ?? rootMetrics;

  async function attempt(record: SQSRecord): Promise<Outcome> {
    let msg: DeliveryMessage;
    try {
      msg = parseDeliveryMessage(record.body);
    } catch (error) {
      // Left to fail until the DLQ takes it: an operator should see a message no code can read.
      deps.log.error('unreadable webhook delivery message', { messageId: record.messageId, error });
      return 'retry';
    }
    const log = deps.log.child({ deliveryId: msg.delivery_id, webhookId: msg.webhook_id, tenantId: msg.tenant_id });
    const attemptNo = Math.max(1, Number(record.attributes?.ApproximateReceiveCount) || 1);
    const emailId = emailIdOf(msg);
    const identity: DeliveryIdentity = {
      id: msg.delivery_id, webhookId: msg.webhook_id, tenantId: msg.tenant_id, eventId: msg.event_id, ...(emailId !== undefined ? { emailId } : {}),
      eventType: msg.event_type, payload: msg.payload, queuedAt: msg.queued_at, generation: msg.generation,
    };

    // Eventually consistent (half a read unit): SQS gives a message back only after its visibility
    // timeout, long after an outcome it recorded is readable; the outcome write is conditional anyway.
    const [webhook, existing] = await Promise.all([deps.webhooks.getWithSecrets(msg.webhook_id), deps.deliveries.get(msg.webhook_id, msg.delivery_id, { consistent: false })]);
    if (existing && (existing.generation > msg.generation || (existing.generation === msg.generation && existing.status !== 'pending'))) {
      log.info('webhook delivery already settled or replayed; message dropped', { status: existing.status });
      return 'done';
    }
    if (!webhook || webhook.tenantId !== msg.tenant_id) {
      log.info('endpoint no longer exists; delivery dropped');
      return 'done';
    }
    if (webhook.status !== 'enabled') {
      await deps.deliveries.recordOutcome(identity, { status: 'failed', attemptAt: new Date(now()).toISOString() });
      metrics.count('WebhooksFailed', { tenantId: msg.tenant_id });
      log.info('endpoint disabled; delivery marked failed');
      return 'done';
    }

    const startedAt = now();
    const sentAt = new Date(startedAt).toISOString();
    const headers = webhookHeaders({
      id: msg.delivery_id,
      timestampSeconds: Math.floor(startedAt / 1000),
      body: msg.payload,
      secrets: signingSecrets(webhook.secrets, startedAt),
    });
    const result = await deps.poster.post({ url: webhook.endpoint, headers, body: msg.payload });
    const statusCode = result.statusCode ?? 0;
    const attempt = { statusCode, durationMs: result.durationMs, response: result.response, sentAt, n: attemptNo };
    const settle = (status: 'success' | 'failed') => deps.deliveries.recordOutcome(identity, { status, attemptAt: sentAt, attempt });

    if (statusCode >= 200 && statusCode < 300) {
      await settle('success');
      if (webhook.failingSince !== undefined) await deps.webhooks.clearFailing(webhook.id);
      metrics.count('WebhooksDelivered', { tenantId: msg.tenant_id });
      log.info('webhook delivered', { attempt: attemptNo, statusCode, durationMs: result.durationMs });
      return 'done';
    }

    const failure = { attempt: attemptNo, statusCode, error: result.error, durationMs: result.durationMs };
    if (statusCode === 410) {
      await deps.webhooks.disable(webhook.id, 'endpoint answered 410 Gone');
      await settle('failed');
      metrics.count('WebhooksFailed', { tenantId: msg.tenant_id });
      log.warn('endpoint answered 410 Gone; endpoint disabled', failure);
      return 'done';
    }
    if (webhook.failingSince === undefined) {
      await deps.webhooks.markFailing(webhook.id, sentAt);
    } else if (startedAt - Date.parse(webhook.failingSince) >= (deps.disableAfterMs ?? ENDPOINT_FAILURE_DISABLE_MS)) {
      await deps.webhooks.disable(webhook.id, `failing since ${webhook.failingSince}`);
      await settle('failed');
      metrics.count('WebhooksFailed', { tenantId: msg.tenant_id });
      log.warn('endpoint failing for too long; endpoint disabled', { ...failure, failingSince: webhook.failingSince });
      return 'done';
    }

    const delay = nextDelaySeconds(deps.retrySchedule, attemptNo, deps.random);
    if (delay === undefined) {
      await settle('failed');
      metrics.count('WebhooksFailed', { tenantId: msg.tenant_id });
      log.warn('webhook delivery failed; retry schedule spent', failure);
      return 'done';
    }
    const seconds = Math.min(delay, MAX_VISIBILITY_SECONDS);
    const recorded = await deps.deliveries.recordOutcome(identity, {
      status: 'pending', attemptAt: sentAt, attempt, nextAttemptAt: new Date(now() + seconds * 1000).toISOString(),
    });
    if (!recorded) {
      log.info('webhook attempt failed; delivery replayed or delivered meanwhile, message dropped', failure);
      return 'done';
    }
    try {
      await deps.visibility.delay(record, seconds);
    } catch (error) {
      // The message still comes back, after the queue's own visibility timeout.
      log.warn('could not set the retry delay', { error });
    }
    metrics.count('WebhooksRetried', { tenantId: msg.tenant_id });
    log.info('webhook attempt failed; retrying', { ...failure, retryInSeconds: seconds });
    return 'retry';
  }

  /** A record's delivery and generation; undefined for a body no code can read (attempt logs it). */
  const deliveryKey = (record: SQSRecord): string | undefined => {
    try {
      const msg = parseDeliveryMessage(record.body);
      return `${msg.delivery_id}#${msg.generation}`;
    } catch {
      return undefined;
    }
  };

  /**
   * Deliveries being attempted by this container now, across its invocations. A copy of one (a
   * fan-out repeated after a crash, beside the original message visible again) is done without a
   * request, whether it is in the same batch or arrives while the first is still under way: the first
   * copy carries the delivery through its retries, and if its container dies, its own message comes back.
   */
  const underWay = new Set<string>();

  return attributed('deliver', async (event: SQSEvent): Promise<SQSBatchResponse> => {
    // Claimed in order before any attempt starts, so that the first copy in a batch is the one attempted.
    const keys = event.Records.map((record) => {
      const key = deliveryKey(record);
      if (key === undefined) return { key, copy: false };
      if (underWay.has(key)) return { key, copy: true };
      underWay.add(key);
      return { key, copy: false };
    });
    const outcomes = await Promise.all(event.Records.map(async (record, n) => {
      const { key, copy } = keys[n]!;
      if (copy) {
        deps.log.info('copy of a webhook delivery under way in this container; message dropped', { messageId: record.messageId });
        return 'done' as const;
      }
      try {
        return await attempt(record);
      } catch (error) {
        deps.log.error('webhook delivery could not be processed', { messageId: record.messageId, error });
        return 'retry' as const;
      } finally {
        if (key !== undefined) underWay.delete(key);
      }
    }));
    return {
      batchItemFailures: event.Records.flatMap((r, i) => (outcomes[i] === 'retry' ? [{ itemIdentifier: r.messageId }] : [])),
    };
  });
}

/** `arn:<partition>:sqs:<region>:<account>:<name>` to the queue's URL. */
export function queueUrlFromArn(arn: string): string {
  const m = /^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):(.+)$/.exec(arn);
  if (!m) throw new Error(`Not an SQS queue ARN: ${arn}`);
  const [, partition, region, account, name] = m;
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${suffix}/${account}/${name}`;
}

/** Sets a record's visibility on its queue: the configured URL, else the one its ARN names. */
export class SqsVisibility implements VisibilityControl {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    private readonly queueUrl?: string,
  ) {}

  async delay(record: SQSRecord, seconds: number): Promise<void> {
    await this.sqs.send(new ChangeMessageVisibilityCommand({
      QueueUrl: this.queueUrl ?? queueUrlFromArn(record.eventSourceARN),
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: seconds,
    }));
  }
}
