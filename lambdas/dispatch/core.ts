/**
 * Dispatch: a schedule fired, and its message (the email, the due time it was scheduled for) came
 * through the dispatch queue. The email goes through the same path as an immediate one, with the
 * checks made now, at the due time.
 *
 * Exactly once: the email record decides. Dispatch moves it `scheduled → sending` with a condition
 * that it is still scheduled for this message's time; a cancel moves `scheduled → canceled` with
 * the same kind of condition, so one of them wins. A schedule that fires twice, late, after a
 * reschedule (the message names the old time) or after a cancel finds nothing to claim and sends
 * nothing.
 *
 * Its attachments were kept in the content bucket when it was accepted (under `scheduled/`): they
 * are read back (one GetObject each) after the domain gate and sent with the email, as SES takes
 * them; they stay where they are, listed by GET /emails/{id}/attachments, until they expire.
 *
 * Outcomes:
 * - sent: SES accepted it; STATUS records the MessageId as for an immediate email.
 * - failed: the domain is no longer registered or verified, an attachment is gone from the bucket,
 *   or SES refused it. The email ends `failed` with the reason (never deleted) and `email.failed`
 *   fires.
 * - retry: SES throttled, or the bucket could not be read. The claim is released (`sending →
 *   scheduled`, if still ours) and the message comes back after THROTTLE_DELAY_SECONDS (its
 *   visibility timeout), to claim again.
 * - unconfirmed: SendEmail neither answered nor refused (a timeout, a lost connection): SES may
 *   have sent it, so it is not sent again; the email stays `sending` (shown `queued`).
 * - skipped: nothing to claim (canceled, sent, rescheduled, or gone past retention).
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { HttpError } from '../core/errors';
import { attributed } from '../core/aws-calls';
import type { AuthContext } from '../core/http/auth';
import type { EmailStore, EmailView } from '../core/adapters/emails';
import { SendUnconfirmedError, isThrottle } from '../core/adapters/ses';
import { type EmailDraft, type Mailbox, parseMailbox } from '../core/domain/email';
import { type DispatchMessage, apiEvent, parseDispatchMessage } from '../core/domain/schedule';
import { jittered } from '../core/domain/webhook-payload';
import type { Logger } from '../core/log';
import { type SendDeps, fanOutApiEvent, gateDomains, sendToSes } from '../send/core';
import type { VisibilityControl } from '../deliver/core';
import { ContentMissingError, type ContentStore } from '../core/adapters/content';
import { contentStageOf } from '../core/content';

/** How long a throttled send waits on the queue before it is tried again (jittered ±20%). */
export const THROTTLE_DELAY_SECONDS = 30;

export interface DispatchDeps extends Pick<SendDeps, 'domains' | 'sender' | 'configurationSet' | 'sesTenantPrefix' | 'now' | 'fanOut' | 'status' | 'retentionDays' | 'counters'> {
  readonly emails: Pick<EmailStore, 'getForDispatch' | 'claimScheduled' | 'releaseClaim' | 'failClaimed'>;
  /** The content bucket, where a scheduled email's attachments wait for it. */
  readonly content: Pick<ContentStore, 'readAttachments'>;
  readonly visibility: VisibilityControl;
  readonly log: Logger;
}

export type DispatchOutcome = 'sent' | 'failed' | 'retry' | 'unconfirmed' | 'skipped';

function mailboxes(raw: readonly string[]): Mailbox[] {
  return raw.map((r) => {
    const m = parseMailbox(r);
    if (!m) throw new Error('A stored address no longer parses');
    return m;
  });
}

/** The draft of a stored email, as the send path takes it, with its attachments' bytes (in the order of `email.attachments`). */
export function draftOf(email: EmailView, contents: readonly Uint8Array[] = []): EmailDraft {
  return {
    from: mailboxes([email.from])[0]!,
    to: mailboxes(email.to), cc: mailboxes(email.cc), bcc: mailboxes(email.bcc), replyTo: mailboxes(email.replyTo),
    subject: email.subject,
    ...(email.html !== undefined ? { html: email.html } : {}),
    ...(email.text !== undefined ? { text: email.text } : {}),
    headers: email.headers ?? {},
    tags: email.tags,
    attachments: (email.attachments ?? []).map((a, i) => ({
      filename: a.filename, contentType: a.contentType, content: Buffer.from(contents[i]!),
      ...(a.contentId !== undefined ? { contentId: a.contentId } : {}),
    })),
  };
}

export async function dispatch(deps: DispatchDeps, message: DispatchMessage): Promise<DispatchOutcome> {
  const log = deps.log.child({ emailId: message.email_id });
  const claimedAt = deps.now();
  if (!(await deps.emails.claimScheduled(message.email_id, message.scheduled_at, claimedAt))) {
    log.info('nothing to dispatch: the email is not scheduled for this time', { scheduledAt: message.scheduled_at });
    return 'skipped';
  }
  const email = await deps.emails.getForDispatch(message.email_id);
  if (!email) {
    log.warn('a claimed email could not be read');
    return 'skipped';
  }
  const fail = async (reason: string): Promise<DispatchOutcome> => {
    if (await deps.emails.failClaimed(email.id, claimedAt, reason)) {
      await fanOutApiEvent(deps, apiEvent(email, 'email.failed', deps.now(), { failed: { reason } }), log);
    }
    log.warn('scheduled email failed at its due time', { reason });
    return 'failed';
  };
  const release = async (what: string, error?: unknown): Promise<DispatchOutcome> => {
    const released = await deps.emails.releaseClaim(email.id, claimedAt);
    log.warn(`${what}; it waits on the queue`, { released, ...(error !== undefined ? { error } : {}) });
    return released ? 'retry' : 'skipped';
  };
  const auth: AuthContext = { keyId: 'schedule', tenantId: email.tenantId, permission: 'sending_access' };
  const from = mailboxes([email.from])[0]!;
  const domain = (await gateDomains(deps, auth, [{ from }])).get(from.domain)!;
  if (domain instanceof HttpError) return fail(domain.message);
  let contents: Uint8Array[] = [];
  if (email.attachments?.length) {
    try {
      contents = await deps.content.readAttachments(email.tenantId, email.id, email.attachments.map((a) => a.id), contentStageOf(email));
    } catch (error) {
      if (error instanceof ContentMissingError) return fail('An attachment of this email is no longer in the content store.');
      return release('the content bucket could not be read for a scheduled send', error);
    }
  }
  const draft = draftOf(email, contents);
  const createdMs = Date.parse(email.createdAt);
  const retainedFromMs = Math.max(createdMs, email.scheduledAt !== undefined ? Date.parse(email.scheduledAt) : 0);
  const outcome = await sendToSes(deps, email.tenantId, draft, domain, email.id, createdMs, retainedFromMs);
  if (outcome.kind === 'refused') {
    if (isThrottle(outcome.error)) return release('SES throttled a scheduled send');
    if (outcome.error.statusCode >= 500) log.error('SES refused a scheduled email', { error: outcome.error.cause });
    return fail(outcome.error.message);
  }
  if (outcome.kind === 'unconfirmed') {
    log.error('SES did not confirm a scheduled send; it is not sent again', { error: outcome.error instanceof SendUnconfirmedError ? outcome.error.cause : outcome.error });
    return 'unconfirmed';
  }
  log.info('scheduled email sent');
  return 'sent';
}

/** The dispatch queue's consumer: one record, one email; throttled sends come back later. */
export function createDispatchHandler(deps: DispatchDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return attributed('dispatch', async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const batchItemFailures: { itemIdentifier: string }[] = [];
    await Promise.all(event.Records.map(async (record) => {
      let message: DispatchMessage;
      try {
        message = parseDispatchMessage(record.body);
      } catch (error) {
        // Kept: it fails every time and ends in the DLQ, where it can be looked at.
        deps.log.error('a malformed dispatch message', { messageId: record.messageId, error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
        return;
      }
      try {
        if ((await dispatch(deps, message)) === 'retry') {
          await deps.visibility.delay(record, jittered(THROTTLE_DELAY_SECONDS));
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      } catch (error) {
        deps.log.error('dispatch failed; the message is retried', { emailId: message.email_id, error });
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }));
    return { batchItemFailures };
  });
}
