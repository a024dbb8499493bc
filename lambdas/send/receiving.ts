/**
 * The /emails/receiving routes (Resend's received emails): list, get (with a presigned `raw`
 * download), and the attachments with presigned URLs. Every route needs a full-access key; another
 * tenant's email is 404, as an unknown one is. Served by the send function with the other /emails
 * routes (lambdas/core/routes.ts).
 */
import type { Routes } from '../core/http/api';
import { parsePageQuery } from '../core/http/paging';
import { HttpError, notFound } from '../core/errors';
import { isId } from '../core/domain/ids';
import { INLINE_BODY_BYTES, type ReceivedAttachment } from '../core/domain/inbound';
import { InvalidCursorError } from '../core/adapters/emails';
import type { ContentStore } from '../core/adapters/content';
import { attachmentListBody, attachmentObjectBody } from './attachments';
import type { ReceivedEmailStore, StoredReceivedEmail } from '../core/adapters/received-emails';

export interface ReceivingRouteDeps {
  readonly received: Pick<ReceivedEmailStore, 'get' | 'list'>;
  readonly content: Pick<ContentStore, 'readReceivedBody' | 'readReceivedAttachment' | 'receivedAttachmentUrl' | 'rawUrl'>;
}

/** An attachment as embedded in the email object (no URL: the attachment routes give one). */
const embedded = (a: ReceivedAttachment) => ({
  id: a.id, filename: a.filename, size: a.size, content_type: a.contentType, content_id: a.contentId, content_disposition: a.disposition,
});

function summary(e: StoredReceivedEmail) {
  return {
    id: e.id,
    to: e.to,
    from: e.from,
    created_at: e.createdAt,
    subject: e.subject,
    bcc: e.bcc,
    cc: e.cc,
    reply_to: e.replyTo,
    received_for: e.receivedFor,
    message_id: e.messageId,
    attachments: e.attachments.map(embedded),
  };
}

/** Sesame's own fields: SES's verdicts, and what was cut or could not be parsed. */
const sesameFields = (e: StoredReceivedEmail, truncated: boolean) => ({
  verdicts: {
    spam: e.verdicts.spam, virus: e.verdicts.virus, spf: e.verdicts.spf, dkim: e.verdicts.dkim, dmarc: e.verdicts.dmarc,
    dmarc_policy: e.verdicts.dmarcPolicy ?? null,
  },
  truncated,
  attachments_omitted: e.attachmentsOmitted,
  parse_error: e.parseError ?? null,
});

const emailId = (params: Readonly<Record<string, string>>): string => {
  const id = params.id ?? '';
  if (!isId(id)) throw notFound('Email');
  return id;
};

/**
 * Resend's default `html_format=data_uri`: inline images referenced as `cid:` become data URIs, as
 * long as the body stays within INLINE_BODY_BYTES; an image that would not fit keeps its `cid:`
 * reference (its attachment has a download URL).
 */
async function inlineImages(deps: ReceivingRouteDeps, e: StoredReceivedEmail, html: string): Promise<string> {
  let out = html;
  let room = INLINE_BODY_BYTES - Buffer.byteLength(html, 'utf8');
  for (const a of e.attachments) {
    if (a.contentId === null || !/^image\//i.test(a.contentType)) continue;
    const cid = a.contentId.replace(/^<|>$/g, '');
    const ref = `cid:${cid}`;
    if (!out.includes(ref)) continue;
    const encoded = Math.ceil(a.size / 3) * 4 + a.contentType.length + 13;
    if (encoded > room) continue;
    const bytes = await deps.content.readReceivedAttachment(e.tenantId, e.id, a.id);
    const uri = `data:${a.contentType};base64,${Buffer.from(bytes).toString('base64')}`;
    out = out.split(ref).join(uri);
    room -= encoded;
  }
  return out;
}

export function receivingRoutes(deps: ReceivingRouteDeps): Routes {
  const own = async (tenantId: string, id: string): Promise<StoredReceivedEmail> => {
    const email = await deps.received.get(tenantId, id);
    if (!email) throw notFound('Email');
    return email;
  };
  return {
    'GET /emails/receiving': {
      permission: 'full_access',
      async handle(ctx) {
        const query = parsePageQuery(ctx.request.query, 'a received email');
        try {
          const page = await deps.received.list(ctx.auth.tenantId, query);
          return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map(summary) } };
        } catch (error) {
          if (error instanceof InvalidCursorError) throw new HttpError(422, 'validation_error', error.message);
          throw error;
        }
      },
    },

    'GET /emails/receiving/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const format = ctx.request.query.html_format ?? 'data_uri';
        if (format !== 'data_uri' && format !== 'cid') throw new HttpError(422, 'validation_error', 'The `html_format` parameter must be `data_uri` or `cid`.');
        const email = await own(ctx.auth.tenantId, emailId(ctx.request.params));
        const [body, raw] = await Promise.all([deps.content.readReceivedBody(email.tenantId, email.id), deps.content.rawUrl(email.sesMessageId, email.id)]);
        const html = body.html === undefined ? null : format === 'cid' ? body.html : await inlineImages(deps, email, body.html);
        return {
          statusCode: 200,
          body: {
            object: 'email',
            ...summary(email),
            html,
            text: body.text ?? null,
            headers: email.headers,
            raw: { download_url: raw.url, expires_at: raw.expiresAt },
            ...sesameFields(email, email.bodyTruncated || body.truncated === true),
          },
        };
      },
    },

    'GET /emails/receiving/{id}/attachments': {
      permission: 'full_access',
      async handle(ctx) {
        const email = await own(ctx.auth.tenantId, emailId(ctx.request.params));
        const link = (a: ReceivedAttachment) => deps.content.receivedAttachmentUrl(email.tenantId, email.id, a.id);
        return { statusCode: 200, body: await attachmentListBody(email.attachments, ctx.request.query, link) };
      },
    },

    'GET /emails/receiving/{id}/attachments/{attachment_id}': {
      permission: 'full_access',
      async handle(ctx) {
        const email = await own(ctx.auth.tenantId, emailId(ctx.request.params));
        const link = (a: ReceivedAttachment) => deps.content.receivedAttachmentUrl(email.tenantId, email.id, a.id);
        return { statusCode: 200, body: await attachmentObjectBody(email.attachments, ctx.request.params.attachment_id, link) };
      },
    },
  };
}
