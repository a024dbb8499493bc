/**
 * SES events, normalised (README "Email status and SES events"). Both formats SES publishes to SNS, event
 * publishing (`eventType`) and the older identity notifications (`notificationType`), are parsed by
 * schemas into one shape: a content-derived id, the status the event implies, the recipients it
 * names, its own time, and its details in Resend's webhook field names. Pure code: no AWS imports.
 */
import * as z from './schema';
import type { EmailEventType } from './applied-event';
import { RESERVED_TAG_PREFIX, TAG_EMAIL_ID, TAG_TENANT_ID, parseEmailTag, parseMailbox, toSesAddress } from './email';
import { sesEventId } from './ses-event-id';
import { type EmailStatus, fixedTime } from './status';

export { sesEventId };

/** What SES publishes once, when an SNS event destination is created. Accepted, nothing to do. */
export const SES_TOPIC_VALIDATION_MESSAGE = 'Successfully validated SNS topic for Amazon SES event publishing.';

export const SES_EVENT_TYPES = [
  'Send', 'Delivery', 'DeliveryDelay', 'Bounce', 'Complaint', 'Reject', 'Rendering Failure', 'Open', 'Click', 'Subscription',
] as const;
export type SesEventType = (typeof SES_EVENT_TYPES)[number];

export interface SesEvent {
  /** Content-derived: the same SES event has the same id by any path (SNS MessageId not included). */
  readonly id: string;
  readonly sesType: Exclude<SesEventType, 'Subscription'>;
  readonly sesMessageId: string;
  /** The event's own time, fixed-width ISO 8601. */
  readonly timestamp: string;
  readonly status: EmailStatus;
  readonly type: EmailEventType;
  /**
   * `recipients`: the event names recipients (Delivery, Bounce, Complaint, DeliveryDelay), and each
   * one's state follows it. `message`: the event concerns the whole message; `recipients` then
   * lists the message's destination, for the event log only.
   */
  readonly scope: 'recipients' | 'message';
  /** As SES reports them (mailbox simulator addresses included), in the event's order. */
  readonly recipients: readonly string[];
  /**
   * Which of SES's formats it came in: event publishing (a configuration set's event destination,
   * which carries the email's tags) or an identity notification (never carries tags).
   */
  readonly source: 'event_publishing' | 'identity_notification';
  /**
   * From Sesame's reserved tags, when the event carries them (event publishing only): the email,
   * its tenant, and, for emails whose headers SES gives back as sent, its creation time and
   * whether test addresses were rewritten (domain/email.ts `EmailTag`).
   */
  readonly correlation: { readonly emailId?: string; readonly tenantId?: string; readonly createdMs?: number; readonly testAddresses?: boolean };
  /** What the `mail` object says of the email: its headers as SES sent them and the customer's tags. */
  readonly mail: {
    readonly from?: string;
    readonly to: readonly string[];
    readonly subject?: string;
    /** The customer's tags: neither SES's `ses:*` nor Sesame's own. */
    readonly tags: Readonly<Record<string, string>>;
  };
  /** When SES accepted the message (`mail.timestamp`). */
  readonly mailTimestamp: string;
  /** Type-specific details in Resend's webhook names: `bounce`, `click`, `failed`, `suppressed`, ... */
  readonly details: Readonly<Record<string, unknown>>;
}

export type ParsedSesMessage =
  | { readonly kind: 'event'; readonly event: SesEvent }
  /** Valid, but nothing to apply: the topic validation message, a Subscription event, ... */
  | { readonly kind: 'ignored'; readonly reason: string; readonly sesMessageId?: string; readonly emailId?: string }
  | { readonly kind: 'malformed'; readonly reason: string };

// ---------------------------------------------------------------------------------------------
// Schemas: only the fields Sesame reads; SES adds fields over time and they pass through unread.

const time = z.string().check(z.refine((v) => !Number.isNaN(Date.parse(v)), 'not a time'));
const text = z.string().check(z.minLength(1));

const mail = z.object({
  messageId: text,
  timestamp: time,
  destination: z._default(z.array(z.string()), []),
  tags: z.optional(z.record(z.string(), z.array(z.string()))),
  commonHeaders: z.optional(z.object({
    from: z.optional(z.array(z.string())),
    to: z.optional(z.array(z.string())),
    subject: z.optional(z.string()),
  })),
});

const namedRecipient = z.object({
  emailAddress: text,
  action: z.optional(z.string()),
  status: z.optional(z.string()),
  diagnosticCode: z.optional(z.string()),
});

const schemas = {
  Send: z.object({ mail }),
  Delivery: z.object({
    mail,
    delivery: z.object({
      timestamp: time,
      recipients: z.array(text).check(z.minLength(1)),
      processingTimeMillis: z.optional(z.number()),
      smtpResponse: z.optional(z.string()),
      reportingMTA: z.optional(z.string()),
    }),
  }),
  DeliveryDelay: z.object({
    mail,
    deliveryDelay: z.object({
      timestamp: time,
      delayType: text,
      expirationTime: z.optional(z.string()),
      delayedRecipients: z.array(namedRecipient).check(z.minLength(1)),
      reportingMTA: z.optional(z.string()),
    }),
  }),
  Bounce: z.object({
    mail,
    bounce: z.object({
      bounceType: text,
      bounceSubType: text,
      bouncedRecipients: z.array(namedRecipient).check(z.minLength(1)),
      timestamp: time,
      feedbackId: text,
      reportingMTA: z.optional(z.string()),
    }),
  }),
  Complaint: z.object({
    mail,
    complaint: z.object({
      complainedRecipients: z.array(z.object({ emailAddress: text })).check(z.minLength(1)),
      timestamp: time,
      feedbackId: text,
      complaintSubType: z.nullish(z.string()),
      complaintFeedbackType: z.optional(z.string()),
      userAgent: z.optional(z.string()),
      arrivalDate: z.optional(z.string()),
    }),
  }),
  Reject: z.object({ mail, reject: z._default(z.object({ reason: z.optional(z.string()) }), {}) }),
  'Rendering Failure': z.object({
    mail,
    failure: z._default(z.object({ errorMessage: z.optional(z.string()), templateName: z.optional(z.string()) }), {}),
  }),
  Open: z.object({
    mail,
    open: z.object({ timestamp: time, ipAddress: z.optional(z.string()), userAgent: z.optional(z.string()) }),
  }),
  Click: z.object({
    mail,
    click: z.object({ timestamp: time, link: z.string(), ipAddress: z.optional(z.string()), userAgent: z.optional(z.string()) }),
  }),
  Subscription: z.object({ mail }),
} satisfies Record<SesEventType, z.ZodMiniType>;

type Parsed<T extends SesEventType> = z.infer<(typeof schemas)[T]>;
type Mail = z.infer<typeof mail>;

// ---------------------------------------------------------------------------------------------
// Statuses and details

const TYPE_OF: Record<Exclude<EmailStatus, 'queued' | 'scheduled' | 'canceled'>, EmailEventType> = {
  sent: 'email.sent',
  delivered: 'email.delivered',
  delivery_delayed: 'email.delivery_delayed',
  bounced: 'email.bounced',
  suppressed: 'email.suppressed',
  complained: 'email.complained',
  failed: 'email.failed',
  opened: 'email.opened',
  clicked: 'email.clicked',
};

/**
 * Bounce subtypes that mean SES did not even try: the address is on a suppression list (SES's
 * global one, the account's, or the SES tenant's: "Contents of event data that Amazon SES publishes
 * to Amazon SNS" in the SES developer guide names these subtypes).
 */
const SUPPRESSED_BOUNCES = new Set(['Suppressed', 'OnAccountSuppressionList', 'OnTenantSuppressionList']);
/** Complaint subtypes SES makes for an address on the account's or the tenant's suppression list. */
const SUPPRESSED_COMPLAINTS = new Set(['OnAccountSuppressionList', 'OnTenantSuppressionList']);

const BOUNCE_MESSAGES: Record<string, string> = {
  'Permanent/General': "The recipient's mail server permanently rejected the email.",
  'Permanent/NoEmail': "The recipient's email address does not exist.",
  'Permanent/Suppressed': "The recipient's email address is on the SES suppression list because it has a recent history of producing hard bounces.",
  'Permanent/OnAccountSuppressionList': "The recipient's email address is on the account-level suppression list, so SES did not send to it.",
  'Permanent/OnTenantSuppressionList': "The recipient's email address is on this tenant's suppression list, so SES did not send to it.",
  'Transient/General': "The recipient's mail server temporarily rejected the email.",
  'Transient/MailboxFull': "The recipient's mailbox is full.",
  'Transient/MessageTooLarge': "The email is larger than the recipient's mail server accepts.",
  'Transient/ContentRejected': "The recipient's mail server rejected the email's content.",
  'Transient/AttachmentRejected': "The recipient's mail server rejected an attachment of the email.",
  'Undetermined/Undetermined': 'SES could not determine why the email bounced.',
};

const bounceMessage = (type: string, subType: string): string =>
  BOUNCE_MESSAGES[`${type}/${subType}`] ?? `The email bounced (${type}, ${subType}).`;

/** Drops undefined values, so stored details and webhooks carry only what SES reported. */
/** Bounces and complaints: events that name recipients and carry SES's feedbackId. */
function feedbackEvent(timestamp: string, status: EmailStatus, recipients: readonly { emailAddress: string }[], feedbackId: string, details: Record<string, unknown>) {
  return { timestamp, status, scope: 'recipients' as const, recipients: recipients.map((r) => r.emailAddress), discriminators: [feedbackId], details };
}

/** Resend's `suppressed` details: why SES did not send to an address. */
function suppression(type: string, reason: 'previous_bounce' | 'previous_complaint', message: string, diagnosticCode: string[]) {
  return { type, reason, message, diagnosticCode };
}

function defined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null));
}

const diagnostics = (recipients: readonly { diagnosticCode?: string | undefined }[]): string[] =>
  recipients.flatMap((r) => (r.diagnosticCode ? [r.diagnosticCode] : []));

// ---------------------------------------------------------------------------------------------
// Normalisation

interface Shape {
  readonly timestamp: string;
  readonly status: EmailStatus;
  readonly scope: SesEvent['scope'];
  readonly recipients: readonly string[];
  /** What tells two events of this type apart (besides the SES MessageId and the type). */
  readonly discriminators: readonly string[];
  readonly details: Record<string, unknown>;
}

const sortedLower = (addresses: readonly string[]) => [...addresses].map((a) => a.toLowerCase()).sort().join(',');

const shapes: { [T in Exclude<SesEventType, 'Subscription'>]: (e: Parsed<T>) => Shape } = {
  Send: (e) => ({ timestamp: e.mail.timestamp, status: 'sent', scope: 'message', recipients: e.mail.destination, discriminators: [], details: {} }),

  Delivery: ({ delivery: d }) => ({
    timestamp: d.timestamp,
    status: 'delivered',
    scope: 'recipients',
    recipients: d.recipients,
    discriminators: [fixedTime(d.timestamp), sortedLower(d.recipients)],
    details: { delivery: defined({ smtpResponse: d.smtpResponse, reportingMTA: d.reportingMTA, processingTimeMillis: d.processingTimeMillis }) },
  }),

  DeliveryDelay: ({ deliveryDelay: d }) => {
    const recipients = d.delayedRecipients.map((r) => r.emailAddress);
    const codes = diagnostics(d.delayedRecipients);
    return {
      timestamp: d.timestamp,
      status: 'delivery_delayed',
      scope: 'recipients',
      recipients,
      discriminators: [fixedTime(d.timestamp), sortedLower(recipients)],
      details: {
        delay: defined({
          type: d.delayType,
          message: codes[0] ?? `Delivery is delayed (${d.delayType}); SES keeps trying until the expiration time.`,
          diagnosticCode: codes,
          expirationTime: d.expirationTime,
          reportingMTA: d.reportingMTA,
        }),
      },
    };
  },

  Bounce: ({ bounce: b }) => {
    const codes = diagnostics(b.bouncedRecipients);
    const bounce = { type: b.bounceType, subType: b.bounceSubType, message: bounceMessage(b.bounceType, b.bounceSubType), diagnosticCode: codes };
    const suppressed = SUPPRESSED_BOUNCES.has(b.bounceSubType);
    return feedbackEvent(b.timestamp, suppressed ? 'suppressed' : 'bounced', b.bouncedRecipients, b.feedbackId, suppressed
      // SES's account-level list names no reason in the event; its own list is for bounces.
      ? { suppressed: suppression(b.bounceSubType, codes.some((c) => /complain/i.test(c)) ? 'previous_complaint' : 'previous_bounce', bounce.message, codes), bounce }
      : { bounce });
  },

  Complaint: ({ complaint: c }) => {
    const onList = SUPPRESSED_COMPLAINTS.has(c.complaintSubType ?? '');
    const complaint = defined({
      type: c.complaintFeedbackType,
      subType: c.complaintSubType,
      userAgent: c.userAgent,
      arrivalDate: c.arrivalDate,
      timestamp: fixedTime(c.timestamp),
    });
    return feedbackEvent(c.timestamp, onList ? 'suppressed' : 'complained', c.complainedRecipients, c.feedbackId, onList
      ? { suppressed: suppression(c.complaintSubType!, 'previous_complaint', bounceMessage('Permanent', c.complaintSubType!), []), complaint }
      : { complaint });
  },

  Reject: (e) => ({
    timestamp: e.mail.timestamp,
    status: 'failed',
    scope: 'message',
    recipients: e.mail.destination,
    discriminators: [],
    details: { failed: { reason: e.reject.reason ?? 'SES rejected the email.' } },
  }),

  'Rendering Failure': (e) => ({
    timestamp: e.mail.timestamp,
    status: 'failed',
    scope: 'message',
    recipients: e.mail.destination,
    discriminators: [],
    details: { failed: defined({ reason: e.failure.errorMessage ?? 'SES could not render the email.', templateName: e.failure.templateName }) },
  }),

  Open: ({ mail: m, open: o }) => ({
    timestamp: o.timestamp,
    status: 'opened',
    scope: 'message',
    recipients: m.destination,
    discriminators: [fixedTime(o.timestamp), o.ipAddress ?? '', o.userAgent ?? ''],
    details: { open: defined({ ipAddress: o.ipAddress, timestamp: fixedTime(o.timestamp), userAgent: o.userAgent }) },
  }),

  Click: ({ mail: m, click: c }) => ({
    timestamp: c.timestamp,
    status: 'clicked',
    scope: 'message',
    recipients: m.destination,
    discriminators: [fixedTime(c.timestamp), c.link],
    details: { click: defined({ ipAddress: c.ipAddress, link: c.link, timestamp: fixedTime(c.timestamp), userAgent: c.userAgent }) },
  }),
};

function correlation(m: Mail): SesEvent['correlation'] {
  const tag = m.tags?.[TAG_EMAIL_ID]?.[0];
  const email = tag !== undefined ? parseEmailTag(tag) : undefined;
  const tenantId = m.tags?.[TAG_TENANT_ID]?.[0];
  return {
    ...(email !== undefined ? { emailId: email.emailId } : {}),
    ...(email?.createdMs !== undefined ? { createdMs: email.createdMs, testAddresses: email.testAddresses === true } : {}),
    ...(tenantId !== undefined && tenantId !== '' ? { tenantId } : {}),
  };
}

function mailFields(m: Mail): SesEvent['mail'] {
  // No prototype: a customer's tag may be called `__proto__`.
  const tags: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, values] of Object.entries(m.tags ?? {})) {
    if (name.startsWith('ses:') || name.toLowerCase().startsWith(RESERVED_TAG_PREFIX) || values[0] === undefined) continue;
    tags[name] = values[0];
  }
  const h = m.commonHeaders;
  return {
    ...(h?.from?.[0] !== undefined ? { from: h.from[0] } : {}),
    to: h?.to ?? [],
    ...(h?.subject !== undefined ? { subject: h.subject } : {}),
    tags,
  };
}

const isSesEventType = (value: unknown): value is SesEventType => (SES_EVENT_TYPES as readonly unknown[]).includes(value);

/**
 * The id of an event of the commonest types as a function of what an email's event log keeps of
 * it (its MessageId, SES type, time and recipients): the Send, Reject and Rendering Failure events
 * (no discriminators) and Delivery and DeliveryDelay (their time and recipients, which SES reported
 * as sent: a Resend test address as its simulator address). Undefined for the other types. It is
 * the event's id when the log's recipients are the ones SES reported, else not: STATUS leaves out
 * an id only when this gives it back (adapters/email-status.ts), so what it returns must never change.
 */
export function impliedSesEventId(sesMessageId: string, sesType: string, timestamp: string, recipients: readonly string[]): string | undefined {
  switch (sesType) {
    case 'Send': case 'Reject': case 'Rendering Failure':
      return sesEventId(sesMessageId, sesType, []);
    case 'Delivery': case 'DeliveryDelay': {
      const time = Date.parse(timestamp);
      return Number.isNaN(time) ? undefined : sesEventId(sesMessageId, sesType, [fixedTime(time), sortedLower(recipients.map(toSesAddress))]);
    }
    default:
      return undefined;
  }
}

/**
 * Parses the `Message` of an SNS notification from SES. Never throws: what is not SES's JSON is
 * `malformed`, what needs no work is `ignored`.
 */
export function parseSesMessage(message: string): ParsedSesMessage {
  if (message.trim() === SES_TOPIC_VALIDATION_MESSAGE) return { kind: 'ignored', reason: 'topic_validation' };
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return { kind: 'malformed', reason: 'the message is not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { kind: 'malformed', reason: 'the message is not a JSON object' };
  const record = json as Record<string, unknown>;
  const sesType = record.eventType ?? record.notificationType;
  // Identity notifications announce a topic once, when it is set on an identity.
  if (sesType === 'AmazonSnsSubscriptionSucceeded') return { kind: 'ignored', reason: 'identity_topic_subscribed' };
  if (!isSesEventType(sesType)) return { kind: 'malformed', reason: `unknown SES event type ${JSON.stringify(sesType)?.slice(0, 40)}` };

  const parsed = schemas[sesType].safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { kind: 'malformed', reason: `${sesType}: ${issue.path.join('.') || 'event'}: ${issue.message}` };
  }
  const m = (parsed.data as { mail: Mail }).mail;
  if (sesType === 'Subscription') {
    // Logged only: a recipient changed their subscription preferences; no status, no webhook.
    const { emailId } = correlation(m);
    return { kind: 'ignored', reason: 'subscription', sesMessageId: m.messageId, ...(emailId !== undefined ? { emailId } : {}) };
  }
  const shape = (shapes[sesType] as (e: unknown) => Shape)(parsed.data);
  return {
    kind: 'event',
    event: {
      id: sesEventId(m.messageId, sesType, shape.discriminators),
      sesType,
      sesMessageId: m.messageId,
      timestamp: fixedTime(shape.timestamp),
      status: shape.status,
      type: TYPE_OF[shape.status as keyof typeof TYPE_OF],
      scope: shape.scope,
      recipients: shape.recipients,
      source: record.eventType !== undefined ? 'event_publishing' : 'identity_notification',
      correlation: correlation(m),
      mail: mailFields(m),
      mailTimestamp: fixedTime(m.timestamp),
      details: shape.details,
    },
  };
}

/**
 * Maps the addresses SES reports back to what the customer sent to: the send turns Resend's test
 * addresses into mailbox simulator ones (toSesAddress), and SES reports those. An address the
 * email does not list is kept as reported (bare).
 */
export function recipientMapper(customerAddresses: readonly string[]): (reported: string) => string {
  const bare = (raw: string) => parseMailbox(raw)?.address ?? raw.trim();
  const byReported = new Map<string, string>();
  const own = customerAddresses.map(bare);
  for (const address of own) byReported.set(toSesAddress(address).toLowerCase(), address);
  // An exact match wins over a simulator mapping.
  for (const address of own) byReported.set(address.toLowerCase(), address);
  return (reported) => byReported.get(bare(reported).toLowerCase()) ?? bare(reported);
}
