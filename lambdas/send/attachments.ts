/**
 * The attachment routes' answers, shared by sent emails (GET /emails/{id}/attachments) and received
 * ones (GET /emails/receiving/{id}/attachments): Resend's attachment object with a presigned
 * `download_url`, a page of them by id cursor, or one by its id.
 */
import { parsePageQuery } from '../core/http/paging';
import { HttpError, notFound } from '../core/errors';
import type { DownloadUrl } from '../core/adapters/content';

/** What the answer needs of an attachment, as kept for a sent email or a received one. */
export interface AttachmentFields {
  readonly id: string;
  readonly filename: string | null;
  readonly size: number;
  readonly contentType: string;
  readonly contentId?: string | null;
  readonly disposition: 'inline' | 'attachment';
}

/** Presigns the download URL of one attachment of the email being answered. */
export type AttachmentLink<A> = (a: A) => Promise<DownloadUrl>;

/** One attachment in Resend's shape, with its presigned `download_url` and when it stops working. */
async function attachmentBody<A extends AttachmentFields>(a: A, link: AttachmentLink<A>) {
  const { url, expiresAt } = await link(a);
  return {
    id: a.id,
    filename: a.filename ?? undefined,
    size: a.size,
    content_type: a.contentType,
    content_disposition: a.disposition,
    ...(a.contentId !== undefined && a.contentId !== null ? { content_id: a.contentId } : {}),
    download_url: url,
    expires_at: expiresAt,
  };
}

/** A page of a list kept in order (an email's attachments), by id cursor as Resend pages. */
function pageOf<T extends { id: string }>(items: readonly T[], query: Readonly<Record<string, string>>): { data: T[]; hasMore: boolean } {
  const { limit, after, before } = parsePageQuery(query, 'an attachment of this email');
  const cursor = after ?? before;
  if (cursor === undefined) return { data: items.slice(0, limit), hasMore: items.length > limit };
  const at = items.findIndex((i) => i.id === cursor);
  if (at < 0) throw new HttpError(422, 'validation_error', `No attachment with id ${cursor} to page from.`);
  if (after !== undefined) return { data: items.slice(at + 1, at + 1 + limit), hasMore: items.length > at + 1 + limit };
  return { data: items.slice(Math.max(0, at - limit), at), hasMore: at - limit > 0 };
}

/** The body of a GET …/attachments: the page `query` asks for, each attachment with its download URL. */
export async function attachmentListBody<A extends AttachmentFields>(attachments: readonly A[], query: Readonly<Record<string, string>>, link: AttachmentLink<A>) {
  const page = pageOf(attachments, query);
  const data = await Promise.all(page.data.map((a) => attachmentBody(a, link)));
  return { object: 'list', has_more: page.hasMore, data };
}

/** The body of a GET …/attachments/{attachment_id}; 404 for an id the email has no attachment by. */
export async function attachmentObjectBody<A extends AttachmentFields>(attachments: readonly A[], id: string | undefined, link: AttachmentLink<A>) {
  const attachment = attachments.find((a) => a.id === id);
  if (!attachment) throw notFound('Attachment');
  return { object: 'attachment', ...(await attachmentBody(attachment, link)) };
}
