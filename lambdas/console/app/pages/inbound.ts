/** Inbound: received emails (Resend's `GET /emails/receiving`), or a clear note when this Sesame does not receive. */
import { api, ApiError, type ListPage, withQuery } from '../api';
import { fill, h, notice, table, time } from '../dom';
import { pager, type PageContext } from '../router';

interface Received { id: string; to: string[]; from: string; subject: string | null; created_at: string }

export async function inboundPage(ctx: PageContext): Promise<void> {
  const list = h('div', { 'aria-live': 'polite' });
  fill(ctx.root, h('h1', {}, 'Inbound'), list);
  let page: ListPage<Received>;
  try {
    page = await api<ListPage<Received>>('GET', withQuery('/emails/receiving', { limit: 20, after: ctx.query.get('after') ?? undefined, before: ctx.query.get('before') ?? undefined }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      fill(list, notice('info', 'Receiving email is not enabled on this Sesame: it has no inbound route (GET /emails/receiving answered 404).'));
      return;
    }
    throw error;
  }
  if (!ctx.current()) return;
  fill(list,
    table('Received emails', ['From', 'To', 'Subject', 'Received'], page.data.map((e) => [e.from, e.to.join(', '), e.subject ?? '(no subject)', time(e.created_at)]), 'No email received yet.'),
    pager('inbound', [], page, ctx.query),
  );
}
