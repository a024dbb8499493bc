/**
 * The /webhooks routes, in Resend's wire format (what the `resend` SDK's webhooks module sends and
 * reads), plus `POST /webhooks/{id}/recover`, which Resend does not have: it replays every failed
 * delivery of an endpoint since a given time.
 *
 * Endpoints are checked at registration (ssrf.ts): http(s) only, https unless loopback webhooks
 * are allowed (local mode), no credentials, no literal IP in a refused range. Host names are
 * checked again, on every attempt, at connect time. Another tenant's webhook is a 404.
 */
import * as z from '../core/domain/schema';
import type { ApiResponse, RouteContext, Routes } from '../core/http/api';
import { parsePageQuery } from '../core/http/paging';
import { HttpError, notFound } from '../core/errors';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from '../core/domain/applied-event';
import { parseJsonBody } from '../core/domain/email';
import { isId } from '../core/domain/ids';
import type { DeliveryMessage } from '../core/domain/webhook-payload';
import type { DeliveryQueue } from '../core/adapters/fan-out';
import { type EndpointPolicy, endpointRefusal } from '../core/adapters/ssrf';
import { type Attempt, type Delivery, type DeliveryStore, InvalidDeliveryCursorError } from '../core/adapters/deliveries';
import type { DeliveryPayloads } from '../core/adapters/delivery-payloads';
import type { Webhook, WebhookStore } from '../core/adapters/endpoints';

export interface WebhookRouteDeps {
  readonly webhooks: WebhookStore;
  readonly deliveries: Pick<DeliveryStore, 'getFor' | 'list' | 'listAttempts' | 'beginReplay' | 'failedSince'>;
  /** Rebuilds a delivery's body (the delivery item does not keep it). */
  readonly payloads: DeliveryPayloads;
  readonly queue: DeliveryQueue;
  readonly endpointPolicy: EndpointPolicy;
  readonly now?: () => number;
}

const MAX_ENDPOINT_LENGTH = 2048;
/** Deliveries one recover call replays; the response says when there are more (call again). */
export const RECOVER_BATCH = 500;

const EVENT_TYPES = new Set<string>(WEBHOOK_EVENT_TYPES);

const eventsSchema = z.array(z.string()).check(z.minLength(1), z.maxLength(WEBHOOK_EVENT_TYPES.length * 2));
// A URL parser drops CR, LF and tabs silently: an endpoint holding them would be stored as given and
// called as something else.
const endpointSchema = z.string().check(z.maxLength(MAX_ENDPOINT_LENGTH), z.singleLine());
const createSchema = z.object({ endpoint: endpointSchema, events: eventsSchema });
const updateSchema = z.object({
  endpoint: z.optional(endpointSchema),
  events: z.optional(eventsSchema),
  status: z.optional(z.enum(['enabled', 'disabled'])),
});
const recoverSchema = z.object({ since: z.string() });

function parseBody<T>(schema: z.ZodMiniType<T>, body: string): T {
  const input = parseJsonBody(body);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new HttpError(422, 'validation_error', 'The request body must be a JSON object.');
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = issue.path.map(String).join('.');
  if (issue.path.length === 1 && (input as Record<string, unknown>)[name] === undefined) {
    throw new HttpError(422, 'missing_required_field', `Missing \`${name}\` field.`);
  }
  throw new HttpError(422, 'validation_error', `Invalid \`${name || 'body'}\` field: ${issue.message}`);
}

function checkEvents(events: readonly string[]): WebhookEventType[] {
  const unknown = events.filter((e) => !EVENT_TYPES.has(e));
  if (unknown.length > 0) {
    throw new HttpError(422, 'validation_error', `Unknown event type \`${unknown[0]!.slice(0, 64)}\`. Use one of: ${WEBHOOK_EVENT_TYPES.join(', ')}.`);
  }
  return [...new Set(events)] as WebhookEventType[];
}

function checkEndpoint(endpoint: string, policy: EndpointPolicy): string {
  const refusal = endpointRefusal(endpoint, policy);
  if (refusal !== undefined) throw new HttpError(422, 'validation_error', refusal);
  return endpoint;
}

const webhookSummary = (w: Webhook) => ({ id: w.id, endpoint: w.endpoint, created_at: w.createdAt, status: w.status, events: [...w.events] });

// `email_id` (Sesame's): the email whose event the delivery carries, for the console's email page.
const deliverySummary = (d: Delivery) => ({
  id: d.id, type: d.eventType, created_at: d.createdAt, status: d.status, attempts: d.attempts, ...(d.emailId !== undefined ? { email_id: d.emailId } : {}),
});

const attemptBody = (a: Attempt) => ({ id: a.id, http_status_code: a.statusCode, response: a.response, sent_at: a.sentAt, duration_ms: a.durationMs });

/** The message that (re)delivers a delivery now, as its current generation. */
function replayMessage(d: Delivery, payload: string): DeliveryMessage {
  return {
    v: 1, delivery_id: d.id, webhook_id: d.webhookId, tenant_id: d.tenantId, ...(d.emailId !== undefined ? { email_id: d.emailId } : {}),
    event_id: d.eventId, event_type: d.eventType, payload, queued_at: d.createdAt, generation: d.generation,
  };
}

export function webhookRoutes(deps: WebhookRouteDeps): Routes {
  const now = deps.now ?? Date.now;

  /** The caller's webhook named by the path, or 404. */
  const ownWebhook = async (ctx: RouteContext) => {
    const id = ctx.request.params.id ?? '';
    const webhook = isId(id) ? await deps.webhooks.get(ctx.auth.tenantId, id) : undefined;
    if (!webhook) throw notFound('Webhook');
    return webhook;
  };

  /** The caller's webhook's delivery named by the path, or 404. */
  const ownDelivery = async (ctx: RouteContext) => {
    const webhook = await ownWebhook(ctx);
    const eventId = ctx.request.params.event_id ?? '';
    const delivery = isId(eventId) ? await deps.deliveries.getFor(ctx.auth.tenantId, webhook.id, eventId) : undefined;
    if (!delivery) throw notFound('Webhook event');
    return { webhook, delivery };
  };

  /** A delivery's body, or 404 when what it was built from is gone (it expires with the email). */
  const payloadOf = async (d: Delivery): Promise<string> => {
    const payload = await deps.payloads.payloadOf(d);
    if (payload === undefined) throw notFound('Webhook event');
    return payload;
  };

  const route = (handle: (ctx: RouteContext) => Promise<ApiResponse>) => ({ permission: 'full_access' as const, handle });

  return {
    'POST /webhooks': route(async (ctx) => {
      const req = parseBody(createSchema, ctx.request.body);
      const events = checkEvents(req.events);
      const endpoint = checkEndpoint(req.endpoint, deps.endpointPolicy);
      const { webhook, signingSecret } = await deps.webhooks.create(ctx.auth.tenantId, { endpoint, events });
      ctx.log.info('webhook created', { webhookId: webhook.id });
      return { statusCode: 201, body: { object: 'webhook', id: webhook.id, signing_secret: signingSecret } };
    }),

    'GET /webhooks': route(async (ctx) => {
      const { limit, after, before } = parsePageQuery(ctx.request.query, 'one of your webhooks');
      const all = await deps.webhooks.list(ctx.auth.tenantId);
      let start = 0;
      let end = all.length;
      const cursor = after ?? before;
      if (cursor !== undefined) {
        const at = all.findIndex((w) => w.id === cursor);
        if (at === -1) throw new HttpError(422, 'validation_error', `No webhook with id ${cursor.slice(0, 64)} to page from.`);
        if (after !== undefined) start = at + 1;
        else end = at;
      }
      const page = before !== undefined ? all.slice(Math.max(start, end - limit), end) : all.slice(start, start + limit);
      const hasMore = before !== undefined ? end - limit > start : start + limit < end;
      return { statusCode: 200, body: { object: 'list', has_more: hasMore, data: page.map(webhookSummary) } };
    }),

    'GET /webhooks/{id}': route(async (ctx) => {
      const w = await ownWebhook(ctx);
      return { statusCode: 200, body: { object: 'webhook', ...webhookSummary(w), signing_secret: w.signingSecret } };
    }),

    'PATCH /webhooks/{id}': route(async (ctx) => {
      const req = parseBody(updateSchema, ctx.request.body);
      if (req.endpoint === undefined && req.events === undefined && req.status === undefined) {
        throw new HttpError(422, 'missing_required_field', 'Provide at least one of `endpoint`, `events` or `status`.');
      }
      const patch = {
        ...(req.endpoint !== undefined ? { endpoint: checkEndpoint(req.endpoint, deps.endpointPolicy) } : {}),
        ...(req.events !== undefined ? { events: checkEvents(req.events) } : {}),
        ...(req.status !== undefined ? { status: req.status } : {}),
      };
      const id = ctx.request.params.id ?? '';
      if (!isId(id) || !(await deps.webhooks.update(ctx.auth.tenantId, id, patch))) throw notFound('Webhook');
      return { statusCode: 200, body: { object: 'webhook', id } };
    }),

    'DELETE /webhooks/{id}': route(async (ctx) => {
      const id = ctx.request.params.id ?? '';
      if (!isId(id) || !(await deps.webhooks.remove(ctx.auth.tenantId, id))) throw notFound('Webhook');
      ctx.log.info('webhook deleted', { webhookId: id });
      return { statusCode: 200, body: { object: 'webhook', id, deleted: true } };
    }),

    'GET /webhooks/{id}/events': route(async (ctx) => {
      const webhook = await ownWebhook(ctx);
      const query = parsePageQuery(ctx.request.query, 'an event of this webhook');
      try {
        const page = await deps.deliveries.list(webhook.id, query);
        return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map(deliverySummary) } };
      } catch (error) {
        if (error instanceof InvalidDeliveryCursorError) throw new HttpError(422, 'validation_error', error.message);
        throw error;
      }
    }),

    'GET /webhooks/{id}/events/{event_id}': route(async (ctx) => {
      const { delivery: d } = await ownDelivery(ctx);
      return {
        statusCode: 200,
        body: {
          object: 'webhook_event', ...deliverySummary(d),
          next_attempt_at: d.status === 'pending' ? d.nextAttemptAt ?? null : null,
          payload: JSON.parse(await payloadOf(d)) as unknown,
        },
      };
    }),

    'GET /webhooks/{id}/events/{event_id}/attempts': route(async (ctx) => {
      const { delivery } = await ownDelivery(ctx);
      const query = parsePageQuery(ctx.request.query, 'an attempt of this event', 'after');
      try {
        const page = await deps.deliveries.listAttempts(delivery, query);
        return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map(attemptBody) } };
      } catch (error) {
        if (error instanceof InvalidDeliveryCursorError) throw new HttpError(422, 'validation_error', error.message);
        throw error;
      }
    }),

    'POST /webhooks/{id}/events/{event_id}/replay': route(async (ctx) => {
      const { webhook, delivery } = await ownDelivery(ctx);
      const payload = await payloadOf(delivery);
      const replayed = await deps.deliveries.beginReplay(ctx.auth.tenantId, webhook.id, delivery.id);
      if (!replayed) throw notFound('Webhook event');
      await deps.queue.enqueue([{ message: replayMessage(replayed, payload), delaySeconds: 0 }]);
      ctx.log.info('webhook delivery replayed', { webhookId: webhook.id, deliveryId: delivery.id });
      return { statusCode: 200, body: { object: 'webhook_event', id: delivery.id } };
    }),

    'POST /webhooks/{id}/signing-secret/rotate': route(async (ctx) => {
      const webhook = await ownWebhook(ctx);
      const secret = await deps.webhooks.rotateSecret(ctx.auth.tenantId, webhook.id);
      if (secret === undefined) throw notFound('Webhook');
      ctx.log.info('webhook signing secret rotated', { webhookId: webhook.id });
      return { statusCode: 200, body: { object: 'webhook', id: webhook.id, signing_secret: secret } };
    }),

    'POST /webhooks/{id}/recover': route(async (ctx) => {
      const webhook = await ownWebhook(ctx);
      const req = parseBody(recoverSchema, ctx.request.body);
      const sinceMs = Date.parse(req.since);
      if (Number.isNaN(sinceMs)) throw new HttpError(422, 'invalid_parameter', 'Invalid `since` field. Use an ISO 8601 date.');
      if (sinceMs > now()) throw new HttpError(422, 'invalid_parameter', 'The `since` field must not be in the future.');
      const failed = await deps.deliveries.failedSince(webhook.id, new Date(sinceMs).toISOString(), RECOVER_BATCH);
      const replays: DeliveryMessage[] = [];
      let unrecoverable = 0;
      for (const d of failed.data) {
        // Built before the replay begins: a delivery whose email is gone stays failed, untouched.
        const payload = await deps.payloads.payloadOf(d);
        if (payload === undefined) {
          unrecoverable++;
          continue;
        }
        const replayed = await deps.deliveries.beginReplay(ctx.auth.tenantId, webhook.id, d.id);
        if (replayed) replays.push(replayMessage(replayed, payload));
      }
      await deps.queue.enqueue(replays.map((message) => ({ message, delaySeconds: 0 })));
      ctx.log.info('webhook deliveries recovered', { webhookId: webhook.id, replayed: replays.length, unrecoverable });
      return { statusCode: 200, body: { object: 'webhook', id: webhook.id, replayed: replays.length, has_more: failed.hasMore } };
    }),
  };
}
