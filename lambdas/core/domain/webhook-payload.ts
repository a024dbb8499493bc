/**
 * The webhook body for an applied SES event, in Resend's shape:
 * `{"type", "created_at": <the event's own time>, "data": {email_id, from, to, subject, created_at,
 * tags, ...type-specific details (bounce, click, ...)}}`. Pure code.
 */
import type { AppliedEvent, EmailEventType, WebhookEventType } from './applied-event';

export interface WebhookPayload {
  readonly type: EmailEventType;
  readonly created_at: string;
  readonly data: Readonly<Record<string, unknown>>;
}

const BASE_FIELDS = new Set(['email_id', 'from', 'to', 'subject', 'created_at', 'tags']);

export function buildPayload(event: AppliedEvent): WebhookPayload {
  const details: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  // The email's own fields win over a detail of the same name.
  for (const [k, v] of Object.entries(event.details)) if (!BASE_FIELDS.has(k)) details[k] = v;
  // The tags' names are the customer's: copied into a map without a prototype, `__proto__` included.
  const tags: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, event.email.tags);
  return {
    type: event.type,
    created_at: isoTime(event.timestamp),
    data: {
      email_id: event.email.email_id,
      from: event.email.from,
      to: [...event.email.to],
      subject: event.email.subject,
      created_at: event.email.created_at,
      tags,
      ...details,
    },
  };
}

/** SES times are ISO 8601 already; normalised to the `...Z` form when parseable, else kept as given. */
function isoTime(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}

/** The exact bytes that are signed and sent; serialised once, so every attempt sends the same body. */
export const serializePayload = (payload: WebhookPayload): string => JSON.stringify(payload);

// --- the queued delivery ---------------------------------------------------------------------

/**
 * One SQS message: one event for one endpoint. It carries the serialised body, so every attempt
 * signs and sends the same bytes (a replay rebuilds the same bytes from the email and the event).
 */
export interface DeliveryMessage {
  readonly v: 1;
  /** derivedId(event id, webhook id): the `webhook-id` header, the same on every retry and replay. */
  readonly delivery_id: string;
  readonly webhook_id: string;
  readonly tenant_id: string;
  /** The email of an email event (absent from messages queued before it was added: read from the payload; absent for domain events). */
  readonly email_id?: string;
  readonly event_id: string;
  readonly event_type: WebhookEventType;
  /** The exact body to sign and send. */
  readonly payload: string;
  /** When the event was queued for this endpoint: the delivery's created_at. */
  readonly queued_at: string;
  /** 0 from the fan-out; each replay increments it, and an older generation's message is dropped. */
  readonly generation: number;
}

export function parseDeliveryMessage(body: string): DeliveryMessage {
  const m = JSON.parse(body) as Partial<DeliveryMessage>;
  const strings = ['delivery_id', 'webhook_id', 'tenant_id', 'event_id', 'event_type', 'payload', 'queued_at'] as const;
  if (m === null || typeof m !== 'object' || m.v !== 1) throw new Error('Not a delivery message (v1)');
  for (const k of strings) if (typeof m[k] !== 'string' || m[k] === '') throw new Error(`Delivery message without ${k}`);
  if (!Number.isInteger(m.generation) || m.generation! < 0) throw new Error('Delivery message without a generation');
  if (m.email_id !== undefined && typeof m.email_id !== 'string') throw new Error('Delivery message with a malformed email_id');
  return m as DeliveryMessage;
}

/** The email id of a message: its own field, else the payload's `data.email_id`. */
export function emailIdOf(message: DeliveryMessage): string | undefined {
  if (message.email_id !== undefined) return message.email_id;
  try {
    const id = (JSON.parse(message.payload) as { data?: { email_id?: unknown } }).data?.email_id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

// --- the retry schedule ------------------------------------------------------------------------

/** Non-zero delays are spread by ±20%, so that endpoints failing together do not retry together. */
export const JITTER = 0.2;

/** A schedule delay with jitter, in whole seconds (0 stays 0; a non-zero delay stays at least 1). */
export function jittered(seconds: number, random: () => number = Math.random): number {
  if (seconds <= 0) return 0;
  const spread = seconds * (1 - JITTER + 2 * JITTER * random());
  return Math.max(1, Math.round(spread));
}

/**
 * What follows a failed attempt `attempt` (1-based): the delay before the next one, or undefined
 * when the schedule (the delay before each attempt, the first included) is spent.
 */
export function nextDelaySeconds(schedule: readonly number[], attempt: number, random: () => number = Math.random): number | undefined {
  if (attempt >= schedule.length) return undefined;
  return jittered(schedule[attempt]!, random);
}
