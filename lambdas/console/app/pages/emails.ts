/** Emails: the list (newest first, by cursor; a filter served by the sparse problem index) and one email's page. */
import { api, ApiError, type ListPage, withQuery } from '../api';
import { badge, copyButton, fill, h, notice, table, time } from '../dom';
import { href, pager, type PageContext } from '../router';
import { showError } from '../errors';

interface EmailSummary {
  id: string; to: string[]; from: string; subject: string; created_at: string; last_event: string;
  cc: string[] | null; bcc: string[] | null; reply_to: string[] | null; scheduled_at: string | null;
  tags?: { name: string; value: string }[]; message_id: string | null;
}
interface Email extends EmailSummary { html: string | null; text: string | null; headers?: Record<string, string> }
interface EmailEvent { id: string; type: string; recipients: string[]; created_at: string; details: Record<string, unknown> }
interface Attachment { id: string; filename: string; size: number; content_type: string; download_url: string }
interface Webhook { id: string; endpoint: string }
interface Delivery { id: string; type: string; created_at: string; status: string; attempts: number; email_id?: string }
interface Attempt { id: string; http_status_code: number | null; response: string | null; sent_at: string; duration_ms: number | null }

const FILTERS = [['', 'All emails'], ['failed', 'Failed'], ['bounced', 'Bounced'], ['complained', 'Complained']] as const;

export async function emailsPage(ctx: PageContext): Promise<void> {
  const status = ctx.query.get('status') ?? '';
  const after = ctx.query.get('after') ?? undefined;
  const before = ctx.query.get('before') ?? undefined;
  const select = h('select', { id: 'status-filter' }, FILTERS.map(([value, label]) => h('option', { value, ...(value === status ? { selected: true } : {}) }, label)));
  select.addEventListener('change', () => (location.hash = href('emails', [], { status: select.value || undefined })));
  const list = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' });
  fill(ctx.root,
    h('h1', {}, 'Emails'),
    h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, 'Show'), select,
      h('span', { class: 'help' }, status ? 'From the index of failed, bounced and complained emails, newest problem first.' : 'Newest first; the first page refreshes itself while you watch it.')),
    list,
  );
  let settled = false;
  const load = async () => {
    const page = await api<ListPage<EmailSummary>>('GET', withQuery('/emails', { limit: 20, status: status || undefined, after, before }));
    if (!ctx.current()) return;
    settled = page.data.every((e) => FINAL.has(e.last_event));
    list.setAttribute('aria-busy', 'false');
    fill(list,
      table('Emails', ['Status', 'To', 'Subject', 'From', 'Sent'], page.data.map((e) => [
        badge(e.last_event),
        e.to.join(', '),
        h('a', { href: href('emails', [e.id]) }, e.subject || '(no subject)'),
        e.from,
        time(e.created_at),
      ]), status ? `No ${status} emails.` : 'No emails yet: send one through the API.'),
      pager('emails', [], page, ctx.query, { status: status || undefined }),
    );
  };
  await load();
  if (after === undefined && before === undefined) refreshWhileWatched(ctx, load, () => settled);
}

/** States after which an email's status changes rarely (an open or a click may still come). */
const FINAL = new Set(['delivered', 'opened', 'clicked', 'bounced', 'complained', 'failed', 'suppressed', 'canceled']);

/**
 * Refreshes the first page while someone watches it: every 3 s while an email on it is still on its
 * way, every 15 s once all have settled, never while the tab is hidden, and not past 10 minutes
 * (each refresh is an API request, and a request log entry).
 */
function refreshWhileWatched(ctx: PageContext, load: () => Promise<void>, settled: () => boolean): void {
  const until = Date.now() + 10 * 60_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const next = () => {
    timer = setTimeout(() => {
      if (!ctx.current() || Date.now() > until) return;
      if (document.visibilityState === 'hidden') return next();
      void load().then(next, (e: unknown) => showError(ctx, e));
    }, settled() ? 15_000 : 3_000);
  };
  next();
  ctx.onLeave(() => clearTimeout(timer));
}

const RANK: Readonly<Record<string, number>> = {
  queued: 0, scheduled: 5, sent: 10, delivery_delayed: 20, delivered: 30, opened: 40, clicked: 50, failed: 60, bounced: 70, suppressed: 80, complained: 90, canceled: 95,
};

/** Each recipient's state: its highest-ranked event (as Sesame ranks them). */
function recipientStates(email: Email, events: readonly EmailEvent[]): [string, string, string | undefined][] {
  const all = [...email.to, ...(email.cc ?? []), ...(email.bcc ?? [])];
  return all.map((address) => {
    let best: EmailEvent | undefined;
    for (const e of events) {
      if (!e.recipients.some((r) => r.toLowerCase() === address.toLowerCase())) continue;
      const status = e.type.replace(/^email\./, '');
      if (!best || (RANK[status] ?? -1) >= (RANK[best.type.replace(/^email\./, '')] ?? -1)) best = e;
    }
    return [address, best ? best.type.replace(/^email\./, '') : email.last_event, best?.created_at];
  });
}

function field(label: string, value: Node | string | null | undefined): HTMLElement[] {
  return [h('dt', {}, label), h('dd', {}, value === null || value === undefined || value === '' ? '-' : value)];
}

/** The email's HTML in a sandboxed frame of its own URL (its own CSP); remote content only when asked. */
function htmlFrame(ctx: PageContext, id: string): HTMLElement {
  const frame = h('iframe', { title: 'The email as HTML (sandboxed: no scripts, no remote content)', sandbox: '', referrerpolicy: 'no-referrer', loading: 'lazy' });
  const remote = h('button', { type: 'button', class: 'small' }, 'Load remote content');
  const status = h('span', { class: 'help', 'aria-live': 'polite' }, 'Remote images and styles are blocked.');
  const show = async (remoteContent: boolean) => {
    const minted = await api<{ token: string }>('POST', `/emails/${encodeURIComponent(id)}/frame`, { remote_content: remoteContent });
    if (!ctx.current()) return;
    frame.src = `/console/frame/${encodeURIComponent(minted.token)}`;
  };
  remote.addEventListener('click', () => {
    remote.disabled = true;
    void show(true).then(() => (status.textContent = 'Remote content loaded.'), (e: unknown) => showError(ctx, e));
  });
  void show(false).catch((e: unknown) => showError(ctx, e));
  return h('div', { class: 'frame' }, h('div', { class: 'toolbar' }, remote, status), frame);
}

export async function emailPage(ctx: PageContext): Promise<void> {
  const id = ctx.params[0]!;
  const [email, events] = await Promise.all([
    api<Email>('GET', `/emails/${encodeURIComponent(id)}`),
    api<ListPage<EmailEvent>>('GET', `/emails/${encodeURIComponent(id)}/events`),
  ]);
  if (!ctx.current()) return;
  const attachments = h('div', {}, h('p', { class: 'help' }, 'Loading…'));
  const hooks = h('div', {}, h('p', { class: 'help' }, 'Loading…'));
  fill(ctx.root,
    h('p', {}, h('a', { href: '#/emails' }, '← Emails')),
    h('h1', {}, email.subject || '(no subject)'),
    h('dl', { class: 'fields' },
      field('Status', badge(email.last_event)),
      field('From', email.from),
      field('To', email.to.join(', ')),
      field('Cc', (email.cc ?? []).join(', ')),
      field('Bcc', (email.bcc ?? []).join(', ')),
      field('Reply to', (email.reply_to ?? []).join(', ')),
      field('Created', time(email.created_at)),
      email.scheduled_at ? field('Scheduled for', time(email.scheduled_at)) : null,
      field('ID', h('span', {}, h('code', {}, email.id), ' ', copyButton(email.id, 'email id'))),
      field('Message-ID', email.message_id ? h('code', {}, email.message_id) : null),
      field('Tags', (email.tags ?? []).map((t) => `${t.name}=${t.value}`).join(', ')),
    ),
    h('section', { 'aria-labelledby': 'h-timeline' }, h('h2', { id: 'h-timeline' }, 'Timeline'),
      events.data.length === 0 ? h('p', { class: 'empty' }, 'No event yet.') :
        h('ol', { class: 'timeline' }, events.data.map((e) => h('li', {},
          badge(e.type.replace(/^email\./, '')), ' ', time(e.created_at), ' ',
          h('span', { class: 'help' }, e.recipients.join(', ')),
          Object.keys(e.details ?? {}).length ? h('details', {}, h('summary', {}, 'Details'), h('pre', {}, JSON.stringify(e.details, null, 2))) : null,
        )))),
    h('section', { 'aria-labelledby': 'h-recipients' }, h('h2', { id: 'h-recipients' }, 'Recipients'),
      table('Recipients and their states', ['Recipient', 'State', 'Since'], recipientStates(email, events.data).map(([a, s, t]) => [a, badge(s), time(t)]))),
    h('section', { 'aria-labelledby': 'h-html' }, h('h2', { id: 'h-html' }, 'HTML'),
      email.html ? htmlFrame(ctx, email.id) : h('p', { class: 'empty' }, 'This email has no HTML part.')),
    h('section', { 'aria-labelledby': 'h-text' }, h('h2', { id: 'h-text' }, 'Text'),
      email.text ? h('pre', { class: 'text' }, email.text) : h('p', { class: 'empty' }, 'This email has no text part.')),
    h('section', { 'aria-labelledby': 'h-headers' }, h('h2', { id: 'h-headers' }, 'Headers'),
      table('Headers', ['Name', 'Value'], Object.entries(email.headers ?? {}).map(([k, v]) => [h('code', {}, k), v]), 'No custom headers.')),
    h('section', { 'aria-labelledby': 'h-attachments' }, h('h2', { id: 'h-attachments' }, 'Attachments'), attachments),
    h('section', { 'aria-labelledby': 'h-webhooks' }, h('h2', { id: 'h-webhooks' }, 'Webhooks it caused'), hooks),
  );
  void api<ListPage<Attachment>>('GET', `/emails/${encodeURIComponent(id)}/attachments?limit=100`).then((page) => {
    fill(attachments, table('Attachments', ['File', 'Type', 'Size'], page.data.map((a) => [
      h('a', { href: a.download_url, rel: 'noopener noreferrer', download: a.filename }, a.filename), a.content_type, `${a.size} bytes`,
    ]), 'No attachments.'));
  }, (e: unknown) => fill(attachments, notice('error', e instanceof ApiError ? e.message : 'Could not load the attachments.')));
  void causedWebhooks(ctx, id).then((node) => fill(hooks, node), (e: unknown) => fill(hooks, notice('error', e instanceof ApiError ? e.message : 'Could not load the webhooks.')));
}

/** The deliveries of this email's events, among each endpoint's 100 most recent, with their attempts. */
async function causedWebhooks(ctx: PageContext, emailId: string): Promise<Node> {
  const webhooks = await api<ListPage<Webhook>>('GET', '/webhooks?limit=100');
  const found = await Promise.all(webhooks.data.map(async (w) => {
    const page = await api<ListPage<Delivery>>('GET', `/webhooks/${encodeURIComponent(w.id)}/events?limit=100`);
    return page.data.filter((d) => d.email_id === emailId).map((d) => ({ w, d }));
  }));
  const rows = found.flat();
  if (!ctx.current()) return h('span');
  return table('Webhook deliveries of this email', ['Endpoint', 'Event', 'Status', 'Attempts', ''], rows.map(({ w, d }) => {
    const more = h('div');
    const show = h('button', { type: 'button', class: 'small' }, 'Show attempts');
    show.addEventListener('click', () => {
      show.disabled = true;
      void api<ListPage<Attempt>>('GET', `/webhooks/${encodeURIComponent(w.id)}/events/${encodeURIComponent(d.id)}/attempts`).then((p) => fill(more, attemptsTable(p.data)), (e: unknown) => showError(ctx, e));
    });
    return [h('a', { href: href('webhooks', [w.id]) }, w.endpoint), d.type, badge(d.status), String(d.attempts), h('div', {}, show, more)];
  }), 'No webhook delivery for this email (among each endpoint\'s 100 most recent).');
}

export function attemptsTable(attempts: readonly Attempt[]): HTMLElement {
  return table('Attempts', ['Sent', 'HTTP status', 'Duration', 'Response'], attempts.map((a) => [
    time(a.sent_at), a.http_status_code === null ? 'no answer' : String(a.http_status_code),
    a.duration_ms === null ? '-' : `${a.duration_ms} ms`, h('code', { class: 'response' }, (a.response ?? '').slice(0, 300)),
  ]), 'No attempt yet.');
}
