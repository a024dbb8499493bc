/**
 * Inbound: received emails (Resend's `GET /emails/receiving`, newest first, by cursor) and one
 * received email's page: its fields, SES's verdicts, its text, its attachments and its raw message
 * (presigned download links). Its HTML is not rendered: the console's sandboxed frame
 * (`POST /emails/{id}/frame`) serves sent emails only, so the page links the raw message instead.
 */
import { api, ApiError, type ListPage, withQuery } from '../api';
import { badge, copyButton, fill, h, notice, table, time } from '../dom';
import { href, pager, type PageContext } from '../router';

interface Received {
  id: string; to: string[]; from: string; subject: string | null; created_at: string;
  cc: string[] | null; reply_to: string[] | null; received_for?: string[]; message_id: string | null;
  attachments: { id: string }[];
}
interface ReceivedEmail extends Received {
  html: string | null; text: string | null; headers?: Record<string, string>;
  raw: { download_url: string; expires_at: string } | null;
  verdicts?: Record<string, string | null>;
  truncated?: boolean;
}
interface Attachment { id: string; filename?: string; size: number; content_type: string; content_disposition?: string; download_url: string }

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
    table('Received emails', ['From', 'To', 'Subject', 'Attachments', 'Received'], page.data.map((e) => [
      e.from,
      e.to.join(', '),
      h('a', { href: href('inbound', [e.id]) }, e.subject || '(no subject)'),
      String(e.attachments.length),
      time(e.created_at),
    ]), 'No email received yet: turn receiving on for a domain (its Receiving capability), then send mail to it.'),
    pager('inbound', [], page, ctx.query),
  );
}

function field(label: string, value: Node | string | null | undefined): HTMLElement[] {
  return [h('dt', {}, label), h('dd', {}, value === null || value === undefined || value === '' ? '-' : value)];
}

export async function inboundEmailPage(ctx: PageContext): Promise<void> {
  const id = ctx.params[0]!;
  const email = await api<ReceivedEmail>('GET', `/emails/receiving/${encodeURIComponent(id)}`);
  if (!ctx.current()) return;
  const attachments = h('div', {}, h('p', { class: 'help' }, 'Loading…'));
  const verdicts = Object.entries(email.verdicts ?? {}).filter(([, v]) => v !== null);
  fill(ctx.root,
    h('p', {}, h('a', { href: '#/inbound' }, '← Inbound')),
    h('h1', {}, email.subject || '(no subject)'),
    email.truncated ? notice('info', 'This email\'s body was cut for storage: the raw message below has all of it.') : null,
    h('dl', { class: 'fields' },
      field('From', email.from),
      field('To', email.to.join(', ')),
      field('Cc', (email.cc ?? []).join(', ')),
      field('Reply to', (email.reply_to ?? []).join(', ')),
      field('Received for', (email.received_for ?? []).join(', ')),
      field('Received', time(email.created_at)),
      field('ID', h('span', {}, h('code', {}, email.id), ' ', copyButton(email.id, 'received email id'))),
      field('Message-ID', email.message_id ? h('code', {}, email.message_id) : null),
      field('Verdicts', verdicts.length ? h('span', {}, verdicts.map(([k, v]) => h('span', {}, `${k.replace(/_/g, ' ')} `, badge(String(v).toLowerCase()), ' '))) : null),
      field('Raw message', email.raw ? h('a', { href: email.raw.download_url, rel: 'noopener noreferrer', download: `${email.id}.eml` }, 'Download the raw message (.eml)') : null),
    ),
    h('section', { 'aria-labelledby': 'h-text' }, h('h2', { id: 'h-text' }, 'Text'),
      email.text ? h('pre', { class: 'text' }, email.text) : h('p', { class: 'empty' }, 'This email has no text part.')),
    h('section', { 'aria-labelledby': 'h-html' }, h('h2', { id: 'h-html' }, 'HTML'),
      h('p', { class: 'help' }, email.html
        ? 'This email has an HTML part. The console does not render received HTML: download the raw message to see it.'
        : 'This email has no HTML part.')),
    h('section', { 'aria-labelledby': 'h-attachments' }, h('h2', { id: 'h-attachments' }, 'Attachments'), attachments),
    h('section', { 'aria-labelledby': 'h-headers' }, h('h2', { id: 'h-headers' }, 'Headers'),
      table('Headers', ['Name', 'Value'], Object.entries(email.headers ?? {}).map(([k, v]) => [h('code', {}, k), v]), 'No headers.')),
  );
  void api<ListPage<Attachment>>('GET', `/emails/receiving/${encodeURIComponent(id)}/attachments?limit=100`).then((page) => {
    if (!ctx.current()) return;
    fill(attachments, table('Attachments', ['File', 'Type', 'Disposition', 'Size'], page.data.map((a) => [
      h('a', { href: a.download_url, rel: 'noopener noreferrer', download: a.filename ?? a.id }, a.filename ?? a.id), a.content_type, a.content_disposition ?? '-', `${a.size} bytes`,
    ]), 'No attachments.'));
  }, (e: unknown) => fill(attachments, notice('error', e instanceof ApiError ? e.message : 'Could not load the attachments.')));
}
