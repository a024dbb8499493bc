/**
 * The send use cases: gate the sending domain, write the email once, keep its attachments in the
 * content bucket, hand it to SES, record that SES accepted it. Adapters are passed in; nothing here
 * knows whether it runs in AWS or locally.
 */
import type { AuthContext } from '../core/http/auth';
import { HttpError, conflict, forbidden } from '../core/errors';
import { type AttachmentMeta, type EmailDraft, attachmentDisposition } from '../core/domain/email';
import { derivedId, newId } from '../core/domain/ids';
import type { LoggedEvent } from '../core/domain/email-state';
import type { AppliedEventCounter } from '../core/adapters/metric-counters';
import { sesEventId } from '../core/domain/ses-event-id';
import { fixedTime } from '../core/domain/status';
import { expiresAt } from '../core/adapters/dynamo';
import type { EmailStore, NewEmail } from '../core/adapters/emails';
import type { EmailSchedules } from '../core/adapters/schedules';
import type { AppliedEvent, EventFanOut } from '../core/domain/applied-event';
import { type ScheduleTime, apiEvent, parseScheduledAt } from '../core/domain/schedule';
import type { EmailStatusStore } from '../core/adapters/email-status';
import type { ContentStore } from '../core/adapters/content';
import type { SendingStage } from '../core/content';
import type { DomainRecord, DomainStore } from '../core/adapters/domains';
import { type EmailSender, SendUnconfirmedError, isThrottle } from '../core/adapters/ses';
import { configurationSetName } from '../core/routes';
import { sesTenantName } from '../core/domain/ses-tenants';
import type { Logger } from '../core/log';

export interface SendDeps {
  readonly emails: Pick<EmailStore, 'create' | 'remove' | 'reclaimSending' | 'sentMessageId' | 'get' | 'reschedule' | 'isScheduled' | 'cancelScheduled'>;
  readonly status: Pick<EmailStatusStore, 'apply'>;
  /** The counters of GET /emails/metrics (`sent`, only when an SES event overtook the send); none: not counted. */
  readonly counters?: AppliedEventCounter;
  /**
   * W (SESAME_SEND_RETRY_WINDOW_MINUTES): how long a keyed retry that finds its email `sending`
   * with no MessageId answers 409 before it sends again, waiting for SES's Send event.
   */
  readonly retryWindowMs: number;
  readonly retentionDays: number;
  readonly domains: Pick<DomainStore, 'getByName'>;
  readonly sender: EmailSender;
  /** The content bucket: attachments are written there once, never read back here (dispatch reads a scheduled email's). */
  readonly content: Pick<ContentStore, 'putAttachments' | 'removeAttachments'>;
  /** Prefix of the configuration sets (one per tracking choice). */
  readonly configurationSet: string;
  /** Prefix of the SES tenants' names: each email is sent through its tenant's SES tenant. */
  readonly sesTenantPrefix: string;
  readonly now: () => number;
  /** How many SendEmail calls a batch makes at once. */
  readonly batchConcurrency?: number;
  /** The schedules of scheduled emails (absent: `scheduled_at` in the future is refused). */
  readonly schedules?: EmailSchedules;
  /** Webhooks for the events the API originates (`email.scheduled`, `email.failed`). */
  readonly fanOut?: EventFanOut;
}

export interface SendOutcome {
  readonly index: number;
  readonly id?: string;
  readonly error?: HttpError;
}

/** Resolves and checks the sending domain of every draft; one lookup per distinct domain. */
export async function gateDomains(deps: Pick<SendDeps, 'domains'>, auth: AuthContext, drafts: readonly Pick<EmailDraft, 'from'>[]): Promise<Map<string, DomainRecord | HttpError>> {
  const names = [...new Set(drafts.map((d) => d.from.domain))];
  const results = await Promise.all(names.map(async (name): Promise<[string, DomainRecord | HttpError]> => {
    if (auth.domain !== undefined && auth.domain !== name) {
      return [name, forbidden(`This API key can only send from ${auth.domain}, not from ${name}.`)];
    }
    const domain = await deps.domains.getByName(name);
    if (!domain || domain.tenantId !== auth.tenantId) {
      return [name, forbidden(`The ${name} domain is not registered for this account. Add it with POST /domains and verify it before sending from it.`)];
    }
    if (!domain.verifiedForSending) {
      return [name, forbidden(`The ${name} domain is not verified for sending (status: ${domain.status}). Publish its DNS records and verify it with POST /domains/${domain.id}/verify.`)];
    }
    return [name, domain];
  }));
  return new Map(results);
}

function emailId(auth: AuthContext, idempotencyKey: string | undefined, index: number): string {
  // With an idempotency key, ids are derived from it: a retried batch finds what it already sent.
  return idempotencyKey === undefined ? newId() : derivedId('email', auth.tenantId, idempotencyKey, String(index));
}

/**
 * SES's Send event as SendEmail's answer tells it: the same event id as the Send event SES
 * publishes (so that one is found applied), at the time the send started.
 */
export function sendResponseEvent(messageId: string, startedAtMs: number, addresses: readonly string[]): LoggedEvent {
  return {
    eventId: sesEventId(messageId, 'Send', []),
    type: 'email.sent',
    status: 'sent',
    sesType: 'Send',
    sesMessageId: messageId,
    timestamp: fixedTime(startedAtMs),
    recipients: [...new Set(addresses)],
    details: {},
  };
}

/** What the email record keeps of each attachment; ids derived from the email's, so a retry reproduces them. */
function attachmentsOf(emailId: string, draft: EmailDraft): AttachmentMeta[] {
  return draft.attachments.map((a, index) => ({
    id: derivedId('attachment', emailId, String(index)),
    filename: a.filename, contentType: a.contentType, disposition: attachmentDisposition(a), size: a.content.length,
    ...(a.contentId !== undefined ? { contentId: a.contentId } : {}),
  }));
}

/** One PutObject per attachment, under keys derived from the ids: a retried send overwrites them with the same bytes. */
async function keepAttachments(deps: SendDeps, tenantId: string, emailId: string, draft: EmailDraft, kept: readonly AttachmentMeta[], stage: SendingStage = 'sent'): Promise<void> {
  if (kept.length === 0) return;
  await deps.content.putAttachments(tenantId, emailId, kept.map((meta, i) => ({ ...meta, content: draft.attachments[i]!.content })), stage);
}

/** Removes attachments of an email that was not sent (best effort: what is left expires with the bucket's rule). */
async function discardAttachments(deps: SendDeps, tenantId: string, id: string, attachments: readonly AttachmentMeta[], log: Logger, stage: SendingStage = 'sent'): Promise<void> {
  if (attachments.length === 0) return;
  await deps.content.removeAttachments(tenantId, id, attachments.map((a) => a.id), stage)
    .catch((e) => log.error('could not remove the attachments of an email that was not sent', { emailId: id, error: e }));
}

/** Removes an email that was not sent, and its attachments, so that nothing is left behind. */
async function discard(deps: SendDeps, tenantId: string, id: string, attachments: readonly AttachmentMeta[], log: Logger): Promise<void> {
  await deps.emails.remove(id).catch((e) => log.error('could not remove an email that was not sent', { emailId: id, error: e }));
  await discardAttachments(deps, tenantId, id, attachments, log);
}

async function sendOne(deps: SendDeps, auth: AuthContext, draft: EmailDraft, domain: DomainRecord, id: string, log: Logger): Promise<string> {
  const createdMs = deps.now();
  const attachments = attachmentsOf(id, draft);
  // The first write: the email, marked `sending` (shown as `queued`) before SES is asked.
  const created = await deps.emails.create(newEmail(auth.tenantId, id, draft, new Date(createdMs).toISOString(), undefined, attachments));
  if (!created) {
    // A retry under the same idempotency key. Sent if a MessageId is recorded (from SendEmail's
    // answer or from the Send event); otherwise it may be in SES's hands: wait W for its Send event.
    if ((await deps.emails.sentMessageId(id)) !== undefined) {
      log.info('email already sent under this idempotency key', { emailId: id });
      return id;
    }
    if (!(await deps.emails.reclaimSending(id, createdMs, deps.retryWindowMs))) {
      throw conflict('concurrent_idempotent_requests', 'Same idempotency key used while the original email is still being sent, or before SES confirmed it. Try the request again later.');
    }
    log.warn('sending again: no SES MessageId within the retry window', { emailId: id });
  }
  try {
    await keepAttachments(deps, auth.tenantId, id, draft, attachments);
  } catch (error) {
    // The bucket refused: SES was not asked, so nothing is left behind and a retry may send it.
    await discard(deps, auth.tenantId, id, attachments, log);
    throw error;
  }
  const outcome = await sendToSes(deps, auth.tenantId, draft, domain, id, createdMs, createdMs);
  if (outcome.kind === 'unconfirmed') {
    // SES may have accepted it (a timeout, a lost answer, a crash): the email stays `sending`,
    // and its Send event will record the MessageId.
    log.error('SES did not confirm the send; the email stays sending', { emailId: id, error: outcome.error instanceof SendUnconfirmedError ? outcome.error.cause : outcome.error });
    throw outcome.error;
  }
  if (outcome.kind === 'refused') {
    // SES refused it (EmailSender's contract: an HttpError means refused): nothing is left behind,
    // and a retry may send it.
    if (outcome.error.statusCode >= 500) log.error('SES refused the email', { emailId: id, error: outcome.error.cause });
    await discard(deps, auth.tenantId, id, attachments, log);
    throw outcome.error;
  }
  // The request logs one line for all its emails (routes.ts `counted`).
  log.debug('email sent', { emailId: id });
  return id;
}

export type SesOutcome =
  | { readonly kind: 'sent'; readonly messageId: string }
  | { readonly kind: 'refused'; readonly error: HttpError }
  | { readonly kind: 'unconfirmed'; readonly error: unknown };

/**
 * One SendEmail attempt for an email already marked `sending`. Accepted: the second write, STATUS
 * with the MessageId, `sent`, and the Send event applied (so that the Send event, when it arrives,
 * only fans out), kept for the retention from `retainedFromMs` (its creation, or its due time if it
 * was scheduled). Refused (an HttpError, EmailSender's contract) or unconfirmed: told to the caller.
 */
export async function sendToSes(
  deps: Pick<SendDeps, 'sender' | 'configurationSet' | 'sesTenantPrefix' | 'now' | 'status' | 'retentionDays' | 'counters'>,
  tenantId: string, draft: EmailDraft, domain: DomainRecord, id: string, createdMs: number, retainedFromMs: number,
): Promise<SesOutcome> {
  const startedAt = deps.now();
  let messageId: string;
  try {
    messageId = await deps.sender.send({
      emailId: id, tenantId, tenantName: sesTenantName(deps.sesTenantPrefix, tenantId), draft, createdMs,
      configurationSet: configurationSetName(deps.configurationSet, { open: domain.openTracking, click: domain.clickTracking, ...(domain.tls ? { tls: domain.tls } : {}) }),
    });
  } catch (error) {
    return error instanceof HttpError ? { kind: 'refused', error } : { kind: 'unconfirmed', error };
  }
  const sent = sendResponseEvent(messageId, startedAt, [...draft.to, ...draft.cc, ...draft.bcc].map((m) => m.address));
  const { outcome, sentUncounted } = await deps.status.apply(
    { emailId: id, tenantId, expiresAt: expiresAt(retainedFromMs, deps.retentionDays) },
    sent, 'message', { assumeAbsent: true, leaveSentUncounted: true },
  );
  // Applied here, its Send event is a duplicate that ingestion does not count: the next event
  // ingestion applies counts it (the mark STATUS carries). Counted here only when STATUS was
  // already there (an event overtook the send, and may have been the last).
  if (outcome === 'applied' && !sentUncounted) {
    await deps.counters?.count([{ eventId: sent.eventId, tenantId, emailId: id, type: sent.type, timestamp: sent.timestamp, details: sent.details, first: true }]);
  }
  return { kind: 'sent', messageId };
}

function newEmail(tenantId: string, id: string, draft: EmailDraft, createdAt: string, scheduledAt?: string, attachments: readonly AttachmentMeta[] = []): NewEmail {
  return {
    id, tenantId,
    from: draft.from.raw,
    to: draft.to.map((m) => m.raw), cc: draft.cc.map((m) => m.raw), bcc: draft.bcc.map((m) => m.raw),
    replyTo: draft.replyTo.map((m) => m.raw),
    subject: draft.subject,
    ...(draft.html !== undefined ? { html: draft.html } : {}),
    ...(draft.text !== undefined ? { text: draft.text } : {}),
    tags: draft.tags, createdAt,
    ...(draft.template ? { template: draft.template } : {}),
    // Kept with the body (gzipped, read only by GET /emails/{id}): a scheduled email is sent with
    // them later, and the console's email page shows them.
    ...(draft.headers !== undefined ? { headers: draft.headers } : {}),
    ...(scheduledAt !== undefined ? { scheduledAt } : {}),
    ...(attachments.length ? { attachments } : {}),
  };
}

/**
 * Writes a scheduled email (`scheduled`, its content kept for the due time), creates its schedule
 * and fires `email.scheduled`. The sending domain is checked at the due time, not now. Its
 * attachments go to the content bucket (under `scheduled/`) before the email is written, so a
 * scheduled email never lacks its content; if the bucket refuses them, nothing is written.
 * A retry under the same idempotency key finds the email (its attachments rewritten with the same
 * bytes) and makes sure its schedule exists (at the time the email holds, which a reschedule may
 * have moved).
 */
async function scheduleOne(deps: SendDeps, auth: AuthContext, draft: EmailDraft, dueMs: number, id: string, log: Logger): Promise<string> {
  if (!deps.schedules) throw new HttpError(422, 'validation_error', 'Scheduled sending is not configured on this server; send without `scheduled_at`.');
  if (auth.domain !== undefined && auth.domain !== draft.from.domain) {
    throw forbidden(`This API key can only send from ${auth.domain}, not from ${draft.from.domain}.`);
  }
  const nowMs = deps.now();
  const attachments = attachmentsOf(id, draft);
  const email = newEmail(auth.tenantId, id, draft, new Date(nowMs).toISOString(), new Date(dueMs).toISOString(), attachments);
  try {
    await keepAttachments(deps, auth.tenantId, id, draft, attachments, 'scheduled');
  } catch (error) {
    // The bucket refused: nothing was accepted, what was written is removed, and a retry may schedule it.
    await discardAttachments(deps, auth.tenantId, id, attachments, log, 'scheduled');
    throw error;
  }
  // A write that fails here may still have landed: the attachments stay (a retry rewrites them,
  // and unused ones expire with the bucket's rule).
  if (!(await deps.emails.create(email))) {
    const existing = await deps.emails.get(auth.tenantId, id, true);
    if (existing?.scheduleState === 'scheduled' && existing.scheduledAt !== undefined) await deps.schedules.create(id, Date.parse(existing.scheduledAt));
    log.info('email already scheduled under this idempotency key', { emailId: id });
    return id;
  }
  await deps.schedules.create(id, dueMs);
  await fanOutApiEvent(deps, apiEvent(email, 'email.scheduled', nowMs), log);
  log.info('email scheduled', { emailId: id, scheduledAt: email.scheduledAt });
  return id;
}

/**
 * Queues an event the API originates for the tenant's webhooks. A failure is logged, not answered:
 * the email is already written (and scheduled or failed); failing the request would only invite a
 * second email.
 */
export async function fanOutApiEvent(deps: Pick<SendDeps, 'fanOut'>, event: AppliedEvent, log: Logger): Promise<void> {
  if (!deps.fanOut) return;
  try {
    await deps.fanOut.fanOut(event);
  } catch (error) {
    log.error('could not queue the webhooks of an event', { emailId: event.emailId, type: event.type, error });
  }
}

/**
 * Sends drafts in order of their index, a few at a time. A throttle stops the batch: what was sent
 * stays sent (and is skipped when the same idempotency key retries), the rest is not attempted.
 * `stopOnError` (strict batches) stops at any refusal; otherwise refusals are reported per index.
 */
export async function sendDrafts(
  deps: SendDeps,
  auth: AuthContext,
  drafts: readonly { readonly index: number; readonly draft: EmailDraft }[],
  options: { readonly idempotencyKey?: string; readonly stopOnError: boolean; readonly log: Logger },
): Promise<SendOutcome[]> {
  // `scheduled_at` is read against the request's time; a time past or now sends at once.
  const requestMs = deps.now();
  // Strict: the first refusal refuses the request; permissive: it is that email's error.
  const times = new Map<number, ScheduleTime | HttpError>(drafts.map(({ index, draft }) => {
    if (draft.scheduledAt === undefined) return [index, { kind: 'now' }];
    try {
      return [index, parseScheduledAt(draft.scheduledAt, requestMs, options.stopOnError && drafts.length > 1 ? `emails[${index}]: ` : '')];
    } catch (error) {
      if (options.stopOnError || !(error instanceof HttpError)) throw error;
      return [index, error];
    }
  }));
  const dueNow = drafts.filter((d) => { const t = times.get(d.index)!; return !(t instanceof HttpError) && t.kind === 'now'; });
  const gate = await gateDomains(deps, auth, dueNow.map((d) => d.draft));
  if (options.stopOnError) {
    // Strict: a refused domain refuses the request before anything is written or sent.
    for (const { draft } of dueNow) {
      const verdict = gate.get(draft.from.domain);
      if (verdict instanceof HttpError) throw verdict;
    }
  }
  const outcomes: SendOutcome[] = [];
  let stop: unknown;
  let next = 0;
  const worker = async () => {
    while (stop === undefined && next < drafts.length) {
      const { index, draft } = drafts[next++]!;
      const time = times.get(index)!;
      if (time instanceof HttpError) {
        outcomes.push({ index, error: time });
        continue;
      }
      const domain = time.kind === 'at' ? undefined : gate.get(draft.from.domain)!;
      if (domain instanceof HttpError) {
        outcomes.push({ index, error: domain });
        if (options.stopOnError) stop = domain;
        continue;
      }
      try {
        const id = emailId(auth, options.idempotencyKey, index);
        outcomes.push({ index, id: time.kind === 'at' ? await scheduleOne(deps, auth, draft, time.dueMs, id, options.log) : await sendOne(deps, auth, draft, domain!, id, options.log) });
      } catch (error) {
        // A throttle, a 409 (an email of the batch still in flight) and a 5xx stop the batch: the
        // idempotency key is then released, so a retry sends what is left.
        if (!(error instanceof HttpError) || isThrottle(error) || error.statusCode === 409 || error.statusCode >= 500 || options.stopOnError) {
          stop ??= error;
        } else {
          outcomes.push({ index, error });
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.batchConcurrency ?? 8, drafts.length) }, worker));
  if (stop !== undefined) throw stop;
  return outcomes.sort((a, b) => a.index - b.index);
}
