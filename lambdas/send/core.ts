/**
 * The send use cases: gate the sending domain, write the email once, hand it to SES, record that
 * SES accepted it. Adapters are passed in; nothing here knows whether it runs in AWS or locally.
 */
import type { AuthContext } from '../core/http/auth';
import { HttpError, conflict, forbidden } from '../core/errors';
import type { EmailDraft } from '../core/domain/email';
import { derivedId, newId } from '../core/domain/ids';
import type { LoggedEvent } from '../core/domain/email-state';
import { sesEventId } from '../core/domain/ses-events';
import { fixedTime } from '../core/domain/status';
import { expiresAt } from '../core/adapters/dynamo';
import type { EmailStore } from '../core/adapters/emails';
import type { EmailStatusStore } from '../core/adapters/email-status';
import type { DomainRecord, DomainStore } from '../core/adapters/domains';
import { type EmailSender, SendUnconfirmedError, isThrottle } from '../core/adapters/ses';
import { configurationSetName } from '../core/routes';
import { sesTenantName } from '../core/domain/ses-tenants';
import type { Logger } from '../core/log';

export interface SendDeps {
  readonly emails: Pick<EmailStore, 'create' | 'remove' | 'reclaimSending' | 'sentMessageId'>;
  readonly status: Pick<EmailStatusStore, 'apply'>;
  /**
   * W (SESAME_SEND_RETRY_WINDOW_MINUTES): how long a keyed retry that finds its email `sending`
   * with no MessageId answers 409 before it sends again, waiting for SES's Send event.
   */
  readonly retryWindowMs: number;
  readonly retentionDays: number;
  readonly domains: Pick<DomainStore, 'getByName'>;
  readonly sender: EmailSender;
  /** Prefix of the configuration sets (one per tracking choice). */
  readonly configurationSet: string;
  /** Prefix of the SES tenants' names: each email is sent through its tenant's SES tenant. */
  readonly sesTenantPrefix: string;
  readonly now: () => number;
  /** How many SendEmail calls a batch makes at once. */
  readonly batchConcurrency?: number;
}

export interface SendOutcome {
  readonly index: number;
  readonly id?: string;
  readonly error?: HttpError;
}

/** Resolves and checks the sending domain of every draft; one lookup per distinct domain. */
export async function gateDomains(deps: SendDeps, auth: AuthContext, drafts: readonly EmailDraft[]): Promise<Map<string, DomainRecord | HttpError>> {
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

async function sendOne(deps: SendDeps, auth: AuthContext, draft: EmailDraft, domain: DomainRecord, id: string, log: Logger): Promise<string> {
  const createdMs = deps.now();
  const createdAt = new Date(createdMs).toISOString();
  // The first write: the email, marked `sending` (shown as `queued`) before SES is asked.
  const created = await deps.emails.create({
    id, tenantId: auth.tenantId,
    from: draft.from.raw,
    to: draft.to.map((m) => m.raw), cc: draft.cc.map((m) => m.raw), bcc: draft.bcc.map((m) => m.raw),
    replyTo: draft.replyTo.map((m) => m.raw),
    subject: draft.subject,
    ...(draft.html !== undefined ? { html: draft.html } : {}),
    ...(draft.text !== undefined ? { text: draft.text } : {}),
    tags: draft.tags, createdAt,
    ...(draft.template ? { template: draft.template } : {}),
  });
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
  const startedAt = deps.now();
  let messageId: string;
  try {
    messageId = await deps.sender.send({
      emailId: id, tenantId: auth.tenantId, tenantName: sesTenantName(deps.sesTenantPrefix, auth.tenantId), draft, createdMs,
      configurationSet: configurationSetName(deps.configurationSet, { open: domain.openTracking, click: domain.clickTracking }),
    });
  } catch (error) {
    if (!(error instanceof HttpError)) {
      // SES may have accepted it (a timeout, a lost answer, a crash): the email stays `sending`,
      // and its Send event will record the MessageId.
      log.error('SES did not confirm the send; the email stays sending', { emailId: id, error: error instanceof SendUnconfirmedError ? error.cause : error });
      throw error;
    }
    // SES refused it (EmailSender's contract: an HttpError means refused): nothing is left behind,
    // and a retry may send it.
    if (error.statusCode >= 500) log.error('SES refused the email', { emailId: id, error: error.cause });
    await deps.emails.remove(id).catch((e) => log.error('could not remove an email that SES refused', { emailId: id, error: e }));
    throw error;
  }
  // The second write: STATUS with the MessageId, `sent`, and the Send event applied, so that the
  // Send event, when it arrives, only fans out.
  await deps.status.apply(
    { emailId: id, tenantId: auth.tenantId, expiresAt: expiresAt(createdMs, deps.retentionDays) },
    sendResponseEvent(messageId, startedAt, [...draft.to, ...draft.cc, ...draft.bcc].map((m) => m.address)),
    'message', { assumeAbsent: true },
  );
  log.info('email sent', { emailId: id });
  return id;
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
  const gate = await gateDomains(deps, auth, drafts.map((d) => d.draft));
  if (options.stopOnError) {
    // Strict: a refused domain refuses the request before anything is written or sent.
    for (const { draft } of drafts) {
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
      const domain = gate.get(draft.from.domain)!;
      if (domain instanceof HttpError) {
        outcomes.push({ index, error: domain });
        if (options.stopOnError) stop = domain;
        continue;
      }
      try {
        outcomes.push({ index, id: await sendOne(deps, auth, draft, domain, emailId(auth, options.idempotencyKey, index), options.log) });
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
