/**
 * The send use cases: gate the sending domain, write the email once, hand it to SES, record that
 * SES accepted it. Adapters are passed in; nothing here knows whether it runs in AWS or locally.
 */
import type { AuthContext } from '../core/http/auth';
import { HttpError, forbidden } from '../core/errors';
import type { EmailDraft } from '../core/domain/email';
import { derivedId, newId } from '../core/domain/ids';
import type { EmailStore } from '../core/adapters/emails';
import type { DomainRecord, DomainStore } from '../core/adapters/domains';
import { type EmailSender, isThrottle } from '../core/adapters/ses';
import { configurationSetName } from '../core/routes';
import type { Logger } from '../core/log';

export interface SendDeps {
  readonly emails: EmailStore;
  readonly domains: Pick<DomainStore, 'getByName'>;
  readonly sender: EmailSender;
  /** Prefix of the configuration sets (one per tracking choice). */
  readonly configurationSet: string;
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

async function sendOne(deps: SendDeps, auth: AuthContext, draft: EmailDraft, domain: DomainRecord, id: string, log: Logger): Promise<string> {
  const createdAt = new Date(deps.now()).toISOString();
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
  if (!created && (await deps.emails.sentMessageId(id)) !== undefined) {
    log.info('email already sent under this idempotency key', { emailId: id });
    return id;
  }
  const startedAt = deps.now();
  let messageId: string;
  try {
    messageId = await deps.sender.send({
      emailId: id, tenantId: auth.tenantId, draft,
      configurationSet: configurationSetName(deps.configurationSet, { open: domain.openTracking, click: domain.clickTracking }),
    });
  } catch (error) {
    await deps.emails.remove(id).catch((e) => log.error('could not remove an email that SES refused', { emailId: id, error: e }));
    throw error;
  }
  await deps.emails.markSent(id, auth.tenantId, messageId, startedAt, createdAt);
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
        if (!(error instanceof HttpError) || isThrottle(error) || error.statusCode >= 500 || options.stopOnError) {
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
