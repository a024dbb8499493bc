/**
 * The seam between SES event ingestion and customer webhooks: ingestion produces an AppliedEvent
 * for each SES event it applies for the first time, and hands it to an EventFanOut, which queues
 * one webhook per subscribed endpoint. Pure types, no AWS imports.
 */

/** Resend's webhook event types for emails. */
export const EMAIL_EVENT_TYPES = [
  'email.sent',
  'email.delivered',
  'email.delivery_delayed',
  'email.complained',
  'email.bounced',
  'email.opened',
  'email.clicked',
  'email.failed',
  'email.suppressed',
  'email.scheduled',
  'email.received',
] as const;

export type EmailEventType = (typeof EMAIL_EVENT_TYPES)[number];

/** Resend's webhook event types for domains (domain/domain-events.ts builds their bodies). */
export const DOMAIN_EVENT_TYPES = ['domain.created', 'domain.updated', 'domain.deleted'] as const;

export type DomainEventType = (typeof DOMAIN_EVENT_TYPES)[number];

/** Every event type an endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [...EMAIL_EVENT_TYPES, ...DOMAIN_EVENT_TYPES] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const DOMAIN_EVENT_TYPE_SET = new Set<string>(DOMAIN_EVENT_TYPES);
export const isDomainEventType = (type: string): type is DomainEventType => DOMAIN_EVENT_TYPE_SET.has(type);

/** The email fields a webhook carries (README "Webhooks"). */
export interface WebhookEmail {
  readonly email_id: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly subject: string;
  /** When the email was created (sent through the API). */
  readonly created_at: string;
  /** The customer's tags only: no `ses:*`, no Sesame's own. Resend's shape: name -> value. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface AppliedEvent {
  /** Content-derived, stable across SNS redeliveries and across the Lambda and HTTPS paths. */
  readonly eventId: string;
  readonly tenantId: string;
  readonly emailId: string;
  readonly type: EmailEventType;
  /** The event's own time (ISO 8601), which becomes the webhook's `created_at`. */
  readonly timestamp: string;
  readonly email: WebhookEmail;
  /** Type-specific details merged into the webhook's `data`: `bounce`, `click`, `complaint`, ... */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface EventFanOut {
  /**
   * Queues the event for every subscribed, enabled endpoint of its tenant. Must be idempotent:
   * ingestion calls it again when a retry finds the event applied but not yet fanned out.
   */
  fanOut(event: AppliedEvent): Promise<void>;
}

/** Until webhooks exist, or where none are configured. */
export const noFanOut: EventFanOut = { fanOut: async () => undefined };
