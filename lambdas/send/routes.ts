/**
 * The /emails routes: parse -> core -> respond.
 */
import type { ApiResponse, RouteContext, Routes } from '../core/http/api';
import { parsePageQuery } from '../core/http/paging';
import { HttpError, conflict, notFound } from '../core/errors';
import { type EmailDraft, MAX_BATCH, parseJsonBody } from '../core/domain/email';
import { isId, sha256Hex } from '../core/domain/ids';
import { isProblemStatus, PROBLEM_STATUSES } from '../core/domain/problem-index';
import { InvalidCursorError, type EmailStore, type EmailSummary, type EmailView } from '../core/adapters/emails';
import type { IdempotencyStore } from '../core/adapters/idempotency';
import type { EventLog, LoggedEvent } from '../core/adapters/events';
import { type BusinessMetrics, metrics as rootMetrics } from '../core/metrics';
import type { ContentStore } from '../core/adapters/content';
import type { AttachmentMeta } from '../core/domain/email';
import { type SendDeps, sendDrafts } from './core';
import { attachmentListBody, attachmentObjectBody } from './attachments';
import { type TemplateReads, type TemplateSource, parseEmail } from './templates';
import { cancelEmail, rescheduleEmail } from './schedule';
import * as z from '../core/domain/schema';

const updateSchema = z.object({ scheduled_at: z.string() });

export interface SendRouteDeps extends Omit<SendDeps, 'emails'> {
  readonly emails: EmailStore;
  readonly idempotency: IdempotencyStore;
  readonly region: string;
  /** The SES event log (GET /emails/{id}/events). */
  readonly events: EventLog;
  /** Published templates, for `template: {id, variables}`. */
  readonly templates: TemplateSource;
  /** The content bucket: attachments kept, and their presigned download URLs. */
  readonly content: Pick<ContentStore, 'putAttachments' | 'removeAttachments' | 'downloadUrl'>;
  /** EmailsAccepted, EmailsRefused. @default the process's metrics */
  readonly metrics?: BusinessMetrics;
}

/**
 * Counts what a send route did: emails SES accepted (not a replayed answer), emails refused with a
 * 4xx by Resend's error name. A 5xx is not a refusal: the API's own 5xx metric shows it.
 */
async function counted(
  deps: SendRouteDeps,
  ctx: RouteContext,
  work: (tally: Tally) => Promise<ApiResponse>,
): Promise<ApiResponse> {
  const metrics = deps.metrics ?? rootMetrics;
  const tenantId = ctx.auth.tenantId;
  const tally: Tally = { emails: 1, refused: [] };
  try {
    const response = await work(tally);
    if (response.headers?.['idempotent-replayed'] === undefined) {
      const body = response.body as { id?: string; data?: { id?: string }[] };
      const ids = body.id !== undefined ? [body.id] : (body.data ?? []).flatMap((d) => (d.id !== undefined ? [d.id] : []));
      if (ids.length > 0) metrics.count('EmailsAccepted', { tenantId, value: ids.length });
      for (const reason of tally.refused) metrics.count('EmailsRefused', { reason, tenantId });
      // The request's one INFO line (it also carries the metrics just counted).
      if (ids.length > 0) ctx.log.info(ids.length === 1 ? 'email accepted' : 'emails accepted', ids.length === 1 ? { emailId: ids[0] } : { emailIds: ids });
    }
    return response;
  } catch (error) {
    if (error instanceof HttpError && error.statusCode < 500) metrics.count('EmailsRefused', { reason: error.errorName, tenantId, value: tally.emails });
    throw error;
  }
}

/** What a send route tells `counted`: how many emails the request holds, and why each refused one was. */
interface Tally {
  emails: number;
  readonly refused: string[];
}

const MAX_IDEMPOTENCY_KEY = 256;

/** Runs `work` under the request's Idempotency-Key, if it has one: the first success is replayed for 24 h. */
async function idempotent(deps: SendRouteDeps, ctx: RouteContext, canonicalBody: string, work: (key: string | undefined) => Promise<ApiResponse>): Promise<ApiResponse> {
  const key = ctx.request.headers['idempotency-key'];
  if (key === undefined) return work(undefined);
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY) {
    throw new HttpError(400, 'invalid_idempotency_key', `The key must be between 1-${MAX_IDEMPOTENCY_KEY} chars.`);
  }
  const fingerprint = sha256Hex(`${ctx.request.routeKey}\n${canonicalBody}`);
  const begun = await deps.idempotency.begin(ctx.auth.tenantId, key, fingerprint);
  if (begun.outcome === 'replay') return { ...begun.response, headers: { 'idempotent-replayed': 'true' } };
  if (begun.outcome === 'mismatch') throw conflict('invalid_idempotent_request', 'Same idempotency key used with a different request payload. Change your idempotency key or payload.');
  if (begun.outcome === 'in_flight') throw conflict('concurrent_idempotent_requests', 'Same idempotency key used while original request is still in progress. Try the request again later.');
  try {
    const response = await work(key);
    await deps.idempotency.complete(ctx.auth.tenantId, key, { statusCode: response.statusCode, body: response.body });
    return response;
  } catch (error) {
    // Only successes are stored. A refusal writes nothing (the key is freed), so the same request
    // gets the same answer again, and a corrected one can reuse the key; 429 and 5xx are retried.
    await deps.idempotency.release(ctx.auth.tenantId, key).catch((e) => ctx.log.error('could not release an idempotency key', { error: e }));
    throw error;
  }
}

function messageIdHeader(sesMessageId: string | undefined, region: string): string | null {
  if (!sesMessageId) return null;
  return region === 'us-east-1' ? `<${sesMessageId}@email.amazonses.com>` : `<${sesMessageId}@${region}.amazonses.com>`;
}

function summaryBody(e: EmailSummary, region: string) {
  return {
    object: 'email',
    id: e.id,
    to: e.to,
    from: e.from,
    created_at: e.createdAt,
    subject: e.subject,
    bcc: e.bcc,
    cc: e.cc,
    reply_to: e.replyTo,
    last_event: e.lastEvent,
    scheduled_at: e.scheduledAt ?? null,
    tags: e.tags,
    message_id: messageIdHeader(e.sesMessageId, region),
  };
}

function emailBody(e: EmailView, region: string) {
  return {
    ...summaryBody(e, region), html: e.html ?? null, text: e.text ?? null,
    // Sesame's: the custom headers the email was sent with (the console's email page shows them).
    ...(e.headers !== undefined ? { headers: e.headers } : {}),
    ...(e.template ? { template_id: e.template.id, template_version_id: e.template.versionId } : {}),
  };
}

/** One entry of GET /emails/{id}/events: the event's own time, the recipients it names, its details. */
function eventBody(e: LoggedEvent) {
  return { object: 'email_event', id: e.eventId, type: e.type, recipients: e.recipients, created_at: e.timestamp, details: e.details };
}

export function sendRoutes(deps: SendRouteDeps): Routes {
  return {
    'POST /emails': {
      permission: 'sending_access',
      handle: (ctx) => counted(deps, ctx, async () => {
        const input = parseJsonBody(ctx.request.body);
        const draft = await parseEmail(deps.templates, ctx.auth.tenantId, input, {}, new Map());
        return idempotent(deps, ctx, JSON.stringify(input), async (key) => {
          const [outcome] = await sendDrafts(deps, ctx.auth, [{ index: 0, draft }], { ...(key !== undefined ? { idempotencyKey: key } : {}), stopOnError: true, log: ctx.log });
          if (outcome?.error) throw outcome.error;
          return { statusCode: 200, body: { id: outcome!.id } };
        });
      }),
    },

    'POST /emails/batch': {
      permission: 'sending_access',
      handle: (ctx) => counted(deps, ctx, async (tally) => {
        const mode = (ctx.request.headers['x-batch-validation'] ?? 'strict').toLowerCase();
        if (mode !== 'strict' && mode !== 'permissive') {
          throw new HttpError(422, 'validation_error', 'The `x-batch-validation` header must be `strict` or `permissive`.');
        }
        const input = parseJsonBody(ctx.request.body);
        if (!Array.isArray(input)) throw new HttpError(422, 'validation_error', 'The batch must be a JSON array of emails.');
        if (input.length === 0) throw new HttpError(422, 'validation_error', 'The batch must contain at least one email.');
        tally.emails = input.length;
        if (input.length > MAX_BATCH) throw new HttpError(422, 'validation_error', `Too many emails in the batch: at most ${MAX_BATCH}.`);
        const valid: { index: number; draft: EmailDraft }[] = [];
        const errors: { index: number; message: string }[] = [];
        const reads: TemplateReads = new Map();
        for (const [index, item] of input.entries()) {
          try {
            valid.push({ index, draft: await parseEmail(deps.templates, ctx.auth.tenantId, item, { prefix: mode === 'strict' ? `emails[${index}]: ` : '', batch: true }, reads) });
          } catch (error) {
            if (mode === 'strict' || !(error instanceof HttpError)) throw error;
            errors.push({ index, message: error.message });
            tally.refused.push(error.errorName);
          }
        }
        return idempotent(deps, ctx, JSON.stringify({ mode, input }), async (key) => {
          const outcomes = await sendDrafts(deps, ctx.auth, valid, { ...(key !== undefined ? { idempotencyKey: key } : {}), stopOnError: mode === 'strict', log: ctx.log });
          for (const o of outcomes) {
            if (!o.error) continue;
            errors.push({ index: o.index, message: o.error.message });
            tally.refused.push(o.error.errorName);
          }
          const data = outcomes.filter((o) => o.id !== undefined).map((o) => ({ id: o.id! }));
          return { statusCode: 200, body: mode === 'strict' ? { data } : { data, errors: errors.sort((a, b) => a.index - b.index) } };
        });
      }),
    },

    'GET /emails/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        const email = isId(id) ? await deps.emails.get(ctx.auth.tenantId, id) : undefined;
        if (!email) throw notFound('Email');
        return { statusCode: 200, body: emailBody(email, deps.region) };
      },
    },

    'PATCH /emails/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const parsed = updateSchema.safeParse(parseJsonBody(ctx.request.body));
        if (!parsed.success) throw new HttpError(422, 'missing_required_field', 'Missing `scheduled_at` field: the time to send the email at.');
        const id = ctx.request.params.id ?? '';
        await rescheduleEmail(deps, ctx.auth, id, parsed.data.scheduled_at, ctx.log);
        return { statusCode: 200, body: { object: 'email', id } };
      },
    },

    'POST /emails/{id}/cancel': {
      permission: 'full_access',
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        await cancelEmail(deps, ctx.auth, id, ctx.log);
        return { statusCode: 200, body: { object: 'email', id } };
      },
    },

    'GET /emails/{id}/events': {
      permission: 'full_access',
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        const page = isId(id) ? await deps.events.list(ctx.auth.tenantId, id) : undefined;
        if (!page) throw notFound('Email');
        return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map(eventBody) } };
      },
    },

    'GET /emails/{id}/attachments': {
      permission: 'full_access',
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        const kept = isId(id) ? await deps.emails.attachments(ctx.auth.tenantId, id) : undefined;
        if (!kept) throw notFound('Email');
        const link = (a: AttachmentMeta) => deps.content.downloadUrl(ctx.auth.tenantId, id, a.id, kept.stage);
        return { statusCode: 200, body: await attachmentListBody(kept.attachments, ctx.request.query, link) };
      },
    },

    'GET /emails/{id}/attachments/{attachment_id}': {
      permission: 'full_access',
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        const attachmentId = ctx.request.params.attachment_id ?? '';
        const kept = isId(id) ? await deps.emails.attachments(ctx.auth.tenantId, id) : undefined;
        if (!kept) throw notFound('Email');
        const link = (a: AttachmentMeta) => deps.content.downloadUrl(ctx.auth.tenantId, id, a.id, kept.stage);
        return { statusCode: 200, body: await attachmentObjectBody(kept.attachments, attachmentId, link) };
      },
    },

    'GET /emails': {
      permission: 'full_access',
      async handle(ctx) {
        const query = parsePageQuery(ctx.request.query, 'an email');
        // Sesame's extension: `status` lists the failed, bounced or complained emails only, from the
        // sparse problem index (docs/console.md); no other filter, since no other index serves one.
        const status = ctx.request.query.status;
        if (status !== undefined && !isProblemStatus(status)) {
          throw new HttpError(422, 'validation_error', `The \`status\` filter must be one of ${PROBLEM_STATUSES.join(', ')}.`);
        }
        try {
          const page = status !== undefined ? await deps.emails.listProblems(ctx.auth.tenantId, status, query) : await deps.emails.list(ctx.auth.tenantId, query);
          return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map((e) => summaryBody(e, deps.region)) } };
        } catch (error) {
          if (error instanceof InvalidCursorError) throw new HttpError(422, 'validation_error', error.message);
          throw error;
        }
      },
    },
  };
}
