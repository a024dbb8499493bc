/**
 * Ingestion of SES events, shared by the ingest function (SNS → Lambda), the SNS-over-HTTPS route,
 * local mode and `npx sesame dlq redrive`: SNS message → SES event → the email's STATUS item (one
 * conditional write: recipients, last_event, the event log) → webhooks (EventFanOut).
 *
 * The email's fields a webhook carries come from the event itself when Sesame's tag says they can
 * (domain/email.ts `EmailTag`); the email item is read only otherwise (identity notifications,
 * emails whose headers SES does not give back as sent, emails of the previous layout). The fan-out
 * follows the write, and an event found applied is fanned out again (a retry after a crash between
 * the two): webhook ids are derived from the event, so a receiver sees one id.
 *
 * Outcomes of one SNS message:
 * - refused (another topic) and malformed (not an SES event) are logged with the SNS MessageId and
 *   dropped: retrying cannot change them;
 * - untagged: an event-publishing event without Sesame's tags is of mail sent through a Sesame
 *   configuration set outside Sesame (the SES console's test email); it matches no email, ever, so
 *   it is counted (SesEventsUntagged) and dropped instead of being retried into a DLQ. Identity
 *   notifications never carry tags and are still looked up by their SES MessageId;
 * - an email not found, or any failure of the table or the fan-out, throws: Lambda retries the
 *   invocation and its DLQs keep what never succeeds, so nothing is lost.
 */
import { attributed } from '../core/aws-calls';
import type { SNSEvent } from 'aws-lambda';
import type { AppliedEvent, EventFanOut, WebhookEmail } from '../core/domain/applied-event';
import { RESERVED_TAG_PREFIX, fromSesAddress, parseMailbox, rebuildMailbox } from '../core/domain/email';
import { type SesEvent, parseSesMessage, recipientMapper } from '../core/domain/ses-events';
import type { EmailRecord, EventStore, LoggedEvent } from '../core/adapters/events';
import type { EmailStatusStore } from '../core/adapters/email-status';
import { expiresAt, isLive } from '../core/adapters/dynamo';
import type { Logger } from '../core/log';
import { type BusinessMetrics, metrics as rootMetrics } from '../core/metrics';
import type { CountedEvent } from '../core/domain/metrics';
import type { AppliedEventCounter } from '../core/adapters/metric-counters';
import { recordSuppressions, type SuppressionWriter } from './suppressions';

/** The email of an event is not there (yet): retried, then parked in a DLQ. */
export class EmailNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmailNotFoundError';
  }
}

export type EventWriter = Pick<EventStore, 'findEmail' | 'isRecorded' | 'record' | 'raiseRecipient' | 'raiseStatus'>;

export interface IngestDeps {
  /** The email item, and the previous layout's writes. */
  readonly events: EventWriter;
  /** The STATUS item: one conditional write per event; the MessageId lookup. */
  readonly status: Pick<EmailStatusStore, 'apply' | 'emailIdOf'>;
  readonly fanOut: EventFanOut;
  /** The tenant's suppression list in the table, which SES's hard bounces and complaints add to. */
  readonly suppressions: SuppressionWriter;
  /** The only topic whose messages are accepted. */
  readonly topicArn: string;
  readonly retentionDays: number;
  readonly now: () => number;
  readonly log: Logger;
  /** @default the process's metrics (lambdas/core/metrics.ts) */
  readonly metrics?: BusinessMetrics;
  /** The counters of GET /emails/metrics, given the events each invocation applied; none: not counted. */
  readonly counters?: AppliedEventCounter;
}

export type IngestOutcome =
  /** Applied for the first time, webhooks queued. */
  | 'applied'
  /** Already applied and fanned out (a redelivery, or a copy that another invocation finished first). */
  | 'duplicate'
  /** Nothing to do: the topic validation message, a Subscription event, ... */
  | 'ignored'
  /** For an email past its retention. */
  | 'expired'
  /** An event-publishing event without Sesame's tags: not mail Sesame sent. */
  | 'untagged'
  | 'malformed'
  | 'refused';

/** The fields of an SNS message ingestion reads, in the Lambda record's and the HTTP body's shape. */
export interface SnsMessageFields {
  readonly Type?: unknown;
  readonly MessageId?: unknown;
  readonly TopicArn?: unknown;
  readonly Message?: unknown;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** What applying one message did, and the event it applied for the first time (for the counters). */
interface Applied {
  readonly outcome: IngestOutcome;
  readonly counted?: readonly CountedEvent[];
}

/** Applies one SNS message, then counts it. Throws only what a retry may fix. */
export async function ingestSnsMessage(deps: IngestDeps, sns: SnsMessageFields): Promise<IngestOutcome> {
  const { outcome, counted } = await applySnsMessage(deps, sns);
  await deps.counters?.count(counted ?? []);
  return outcome;
}

async function applySnsMessage(deps: IngestDeps, sns: SnsMessageFields): Promise<Applied> {
  const snsMessageId = str(sns.MessageId) ?? '(none)';
  const log = deps.log.child({ snsMessageId });
  if (sns.TopicArn !== deps.topicArn) {
    log.error('SNS message refused: not from the configured topic', { topicArn: str(sns.TopicArn)?.slice(0, 256) });
    return { outcome: 'refused' };
  }
  if (sns.Type !== 'Notification' || typeof sns.Message !== 'string') {
    log.error('SNS message skipped: not a notification with a message', { type: str(sns.Type)?.slice(0, 64) });
    return { outcome: 'malformed' };
  }
  const parsed = parseSesMessage(sns.Message);
  switch (parsed.kind) {
    case 'malformed':
      log.error('SNS message skipped: not an SES event', { reason: parsed.reason });
      return { outcome: 'malformed' };
    case 'ignored':
      log.info('SES message needs no work', { reason: parsed.reason, sesMessageId: parsed.sesMessageId, emailId: parsed.emailId });
      return { outcome: 'ignored' };
    case 'event':
      return applySesEvent(deps, parsed.event, log);
  }
}

/** Applies one normalised SES event to its email. */
export async function applySesEvent(deps: IngestDeps, event: SesEvent, parentLog: Logger = deps.log): Promise<Applied> {
  const log = parentLog.child({ eventId: event.id, sesType: event.sesType, sesMessageId: event.sesMessageId });
  const metrics = deps.metrics ?? rootMetrics;
  if (event.source === 'event_publishing' && event.correlation.emailId === undefined) {
    metrics.count('SesEventsUntagged', { type: event.sesType });
    log.info('SES event without Sesame\'s tags (mail sent through its configuration set outside Sesame), dropped');
    return { outcome: 'untagged' };
  }
  const email = emailFromEvent(event, deps.retentionDays) ?? (await readEmail(deps, event));
  if (!email) {
    if (Date.parse(event.mailTimestamp) < deps.now() - deps.retentionDays * 86_400_000) {
      log.info('SES event for an email past retention, dropped');
      return { outcome: 'expired' };
    }
    throw new EmailNotFoundError(`No email for SES message ${event.sesMessageId}${event.correlation.emailId ? ` (email ${event.correlation.emailId})` : ''}`);
  }
  if (event.correlation.tenantId !== undefined && event.correlation.tenantId !== email.tenantId) {
    // The tags contradict the email: kept for an operator (DLQ) rather than applied to anyone.
    throw new EmailNotFoundError(`SES message ${event.sesMessageId} names tenant ${event.correlation.tenantId}, its email belongs to another`);
  }
  const emailLog = log.child({ emailId: email.emailId, tenantId: email.tenantId });
  if (!isLive(email.expiresAt !== undefined ? { expires_at: email.expiresAt } : {}, deps.now())) {
    emailLog.info('SES event for an email past retention, dropped');
    return { outcome: 'expired' };
  }

  const logged = toLoggedEvent(event, email);
  // The outcome's one INFO line: the email and the event (its id is derived from the SES MessageId
  // and type, which STATUS keeps); warnings and errors carry the SNS and SES ids too.
  const outcomeLog = deps.log.child({ eventId: event.id, emailId: email.emailId, tenantId: email.tenantId });
  if (email.layout === 'current') {
    const { outcome, stored, firstOfType, countSent } = await deps.status.apply(email, logged, event.scope);
    if (outcome !== 'legacy') {
      // Also on a duplicate: a delivery that stopped after the write completes what it did not do.
      await recordSuppressions(deps.suppressions, event, email);
      // As the log has it, so that the webhook, its duplicates and a replay rebuilt from the log agree.
      const applied = toAppliedEvent(stored ?? logged, email);
      await deps.fanOut.fanOut(applied);
      if (outcome === 'applied') metrics.count('SesEvents', { type: event.sesType, tenantId: email.tenantId });
      outcomeLog.info(outcome === 'applied' ? 'SES event applied' : 'SES event already applied; fanned out again', { eventType: logged.type });
      if (outcome !== 'applied') return { outcome };
      const counted: CountedEvent[] = [{ ...applied, first: firstOfType === true }];
      // The Send event the send applied and left to this write to count (the `sent` metric).
      if (countSent) counted.push({ eventId: countSent.eventId, tenantId: email.tenantId, emailId: email.emailId, type: 'email.sent', timestamp: countSent.timestamp, details: {}, first: true });
      return { outcome, counted };
    }
  }
  const outcome = await applyPreviousLayout(deps, email, event, logged, emailLog, metrics);
  // Emails of the previous layout do not tell a first open or click: not in the unique counts.
  return outcome === 'applied' ? { outcome, counted: [{ ...toAppliedEvent(logged, email), first: false }] } : { outcome };
}

/**
 * The email's webhook fields from the event alone, when Sesame's tag carries its creation time
 * (the send sets it only when SES's headers give back what the customer sent).
 */
function emailFromEvent(event: SesEvent, retentionDays: number): EmailRecord | undefined {
  const { emailId, tenantId, createdMs, testAddresses } = event.correlation;
  const { from, subject } = event.mail;
  if (emailId === undefined || tenantId === undefined || createdMs === undefined || from === undefined || subject === undefined) return undefined;
  return {
    emailId,
    tenantId,
    from: rebuildMailbox(from, false),
    to: event.mail.to.map((h) => rebuildMailbox(h, testAddresses === true)),
    cc: [],
    bcc: [],
    subject,
    createdAt: new Date(createdMs).toISOString(),
    tags: Object.entries(event.mail.tags).map(([name, value]) => ({ name, value })),
    expiresAt: expiresAt(createdMs, retentionDays),
    layout: 'current',
    testAddresses: testAddresses === true,
  };
}

/** The email item, found by Sesame's tag or else by the SES MessageId. */
async function readEmail(deps: IngestDeps, event: SesEvent): Promise<EmailRecord | undefined> {
  const emailId = event.correlation.emailId ?? (await deps.status.emailIdOf(event.sesMessageId));
  return emailId === undefined ? undefined : deps.events.findEmail(emailId);
}

/** Emails written before the one-write layout: recipients, status, fan-out, then the event recorded. */
async function applyPreviousLayout(deps: IngestDeps, email: EmailRecord, event: SesEvent, logged: LoggedEvent, emailLog: Logger, metrics: BusinessMetrics): Promise<IngestOutcome> {
  if (await deps.events.isRecorded(email, logged)) {
    emailLog.info('SES event already applied');
    return 'duplicate';
  }
  // Every step is idempotent, and the event is recorded last: a retry after a crash anywhere here
  // finds it unrecorded and does everything again (the fan-out's delivery ids are derived from the
  // event, so a webhook queued twice is delivered once).
  await Promise.all([
    ...(event.scope === 'recipients' ? logged.recipients.map((address) => deps.events.raiseRecipient(email, address, logged)) : []),
    deps.events.raiseStatus(email, logged),
  ]);
  await recordSuppressions(deps.suppressions, event, email);
  await deps.fanOut.fanOut(toAppliedEvent(logged, email));
  const first = await deps.events.record(email, logged);
  if (first) metrics.count('SesEvents', { type: event.sesType, tenantId: email.tenantId });
  emailLog.info(first ? 'SES event applied' : 'SES event applied by a concurrent delivery too', { type: logged.type });
  return first ? 'applied' : 'duplicate';
}

export function toLoggedEvent(event: SesEvent, email: EmailRecord): LoggedEvent {
  const bare = (raw: string) => parseMailbox(raw)?.address ?? raw.trim();
  const customer = email.testAddresses !== undefined
    ? (reported: string) => (email.testAddresses ? fromSesAddress(bare(reported)) : bare(reported))
    : recipientMapper([...email.to, ...email.cc, ...email.bcc]);
  return {
    eventId: event.id,
    type: event.type,
    status: event.status,
    sesType: event.sesType,
    sesMessageId: event.sesMessageId,
    timestamp: event.timestamp,
    recipients: [...new Set(event.recipients.map(customer))],
    details: event.details,
  };
}

/** The customer's tags only: neither SES's `ses:*` nor Sesame's own. */
export function customerTags(tags: EmailRecord['tags']): Record<string, string> {
  // Names are the customer's: without a prototype, `__proto__` is a tag like any other.
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const { name, value } of tags) {
    if (name.startsWith('ses:') || name.toLowerCase().startsWith(RESERVED_TAG_PREFIX)) continue;
    out[name] = value;
  }
  return out;
}

export function toAppliedEvent(event: LoggedEvent, email: Omit<EmailRecord, 'layout' | 'testAddresses' | 'expiresAt'>): AppliedEvent {
  const webhookEmail: WebhookEmail = {
    email_id: email.emailId,
    from: email.from,
    to: email.to,
    subject: email.subject,
    created_at: email.createdAt,
    tags: customerTags(email.tags),
  };
  return {
    eventId: event.eventId,
    tenantId: email.tenantId,
    emailId: email.emailId,
    type: event.type,
    timestamp: event.timestamp,
    email: webhookEmail,
    details: event.details,
  };
}

/**
 * Applies every record of an SNS event. A refused or malformed record is logged and skipped; the
 * others are still applied. If any record failed in a way a retry may fix, this throws after all
 * records were tried, so Lambda retries the invocation (the applied ones are then duplicates).
 */
export async function ingestSnsEvent(deps: IngestDeps, event: SNSEvent): Promise<IngestOutcome[]> {
  const records: unknown[] = Array.isArray((event as { Records?: unknown } | undefined)?.Records) ? event.Records : [];
  if (records.length === 0) deps.log.error('SNS event skipped: no records');
  const outcomes: IngestOutcome[] = [];
  const counted: CountedEvent[] = [];
  const failures: unknown[] = [];
  for (const record of records) {
    const sns = (record as { Sns?: unknown } | null)?.Sns;
    if (typeof sns !== 'object' || sns === null) {
      deps.log.error('SNS record skipped: no Sns message');
      outcomes.push('malformed');
      continue;
    }
    try {
      const result = await applySnsMessage(deps, sns as SnsMessageFields);
      outcomes.push(result.outcome);
      if (result.counted) counted.push(...result.counted);
    } catch (error) {
      deps.log.error('SNS record failed; the invocation will be retried', { snsMessageId: str((sns as SnsMessageFields).MessageId), error });
      failures.push(error);
    }
  }
  // Once per invocation, the applied records' counts (also when others failed and will be retried).
  await deps.counters?.count(counted);
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, `${failures.length} SNS records failed`);
  return outcomes;
}

/** The ingest function's handler, from its adapters. */
export function createIngestHandler(deps: IngestDeps): (event: SNSEvent) => Promise<void> {
  return attributed('ingest', async (event: SNSEvent) => {
    await ingestSnsEvent(deps, event);
  });
}
