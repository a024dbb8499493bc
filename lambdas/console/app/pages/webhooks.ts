/** Webhooks: endpoints; an endpoint's deliveries and attempts, replay, recover and secret rotation. */
import { api, type ListPage, withQuery } from '../api';
import { badge, copyButton, fill, h, notice, table, time } from '../dom';
import { showError } from '../errors';
import { href, pager, type PageContext } from '../router';
import { attemptsTable } from './emails';

interface Webhook { id: string; endpoint: string; created_at: string; status: string; events: string[] }
interface Delivery { id: string; type: string; created_at: string; status: string; attempts: number; email_id?: string }

const EVENT_TYPES = ['email.sent', 'email.delivered', 'email.delivery_delayed', 'email.bounced', 'email.complained', 'email.opened', 'email.clicked', 'email.failed'];

/** A secret shown once, with a copy button; it leaves the page with the next navigation. */
function secretShown(label: string, secret: string): HTMLElement {
  return h('div', { class: 'notice info', role: 'status' }, h('p', {}, `${label} (shown once: copy it now)`), h('code', { class: 'secret' }, secret), ' ', copyButton(secret, label));
}

export async function webhooksPage(ctx: PageContext): Promise<void> {
  const page = await api<ListPage<Webhook>>('GET', '/webhooks?limit=100');
  if (!ctx.current()) return;
  const endpoint = h('input', { id: 'webhook-endpoint', type: 'url', required: true, placeholder: 'https://hooks.acme.com/sesame' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline' }, h('label', { for: 'webhook-endpoint' }, 'Add an endpoint (every email event)'), endpoint, h('button', { type: 'submit' }, 'Add'), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void api<{ id: string; signing_secret: string }>('POST', '/webhooks', { endpoint: endpoint.value.trim(), events: EVENT_TYPES }).then(
      (w) => void webhooksPage(ctx).then(() => {
        // Shown once, above the list: it goes with the next navigation.
        ctx.root.insertBefore(h('div', {}, secretShown('Signing secret', w.signing_secret), h('a', { href: href('webhooks', [w.id]) }, 'Open the endpoint')), ctx.root.children[2] ?? null);
      }),
      (e: unknown) => fill(status, notice('error', e instanceof Error ? e.message : 'Not added.')),
    );
  });
  fill(ctx.root,
    h('h1', {}, 'Webhooks'),
    form,
    table('Webhook endpoints', ['Endpoint', 'Status', 'Events', 'Added'], page.data.map((w) => [
      h('a', { href: href('webhooks', [w.id]) }, w.endpoint), badge(w.status), w.events.join(', '), time(w.created_at),
    ]), 'No endpoint yet.'),
  );
}

export async function webhookPage(ctx: PageContext): Promise<void> {
  const id = ctx.params[0]!;
  const base = `/webhooks/${encodeURIComponent(id)}`;
  const [w, deliveries] = await Promise.all([
    api<Webhook>('GET', base),
    api<ListPage<Delivery>>('GET', withQuery(`${base}/events`, { limit: 20, after: ctx.query.get('after') ?? undefined, before: ctx.query.get('before') ?? undefined })),
  ]);
  if (!ctx.current()) return;
  const status = h('div', { 'aria-live': 'polite' });
  const rotate = h('button', { type: 'button' }, 'Rotate signing secret');
  rotate.addEventListener('click', () => {
    if (!confirm('Rotate the signing secret? Deliveries are signed with the new one from now on.')) return;
    void api<{ signing_secret: string }>('POST', `${base}/signing-secret/rotate`).then((r) => fill(status, secretShown('New signing secret', r.signing_secret)), (e: unknown) => showError(ctx, e));
  });
  const since = h('input', { id: 'recover-since', type: 'datetime-local', required: true, value: new Date(Date.now() - 86_400_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16) });
  const recover = h('form', { class: 'inline' }, h('label', { for: 'recover-since' }, 'Replay every failed delivery since'), since, h('button', { type: 'submit' }, 'Recover'));
  recover.addEventListener('submit', (event) => {
    event.preventDefault();
    void api<{ replayed: number; has_more: boolean }>('POST', `${base}/recover`, { since: new Date(since.value).toISOString() }).then(
      (r) => fill(status, notice('info', `${r.replayed} failed deliveries queued again${r.has_more ? ' (more remain: recover again)' : ''}.`)),
      (e: unknown) => showError(ctx, e),
    );
  });
  fill(ctx.root,
    h('p', {}, h('a', { href: '#/webhooks' }, '← Webhooks')),
    h('h1', {}, w.endpoint, ' ', badge(w.status)),
    h('p', { class: 'help' }, `Events: ${w.events.join(', ')}`),
    h('div', { class: 'toolbar' }, rotate),
    recover,
    status,
    h('section', { 'aria-labelledby': 'h-deliveries' }, h('h2', { id: 'h-deliveries' }, 'Deliveries'),
      table('Deliveries', ['Event', 'Status', 'Attempts', 'Created', 'Email', ''], deliveries.data.map((d) => deliveryRow(ctx, base, d)), 'No delivery yet.'),
      pager('webhooks', [id], deliveries, ctx.query)),
  );
}

function deliveryRow(ctx: PageContext, base: string, d: Delivery) {
  const more = h('div');
  const attempts = h('button', { type: 'button', class: 'small' }, 'Attempts');
  attempts.addEventListener('click', () => {
    attempts.disabled = true;
    void api<ListPage<Parameters<typeof attemptsTable>[0][number]>>('GET', `${base}/events/${encodeURIComponent(d.id)}/attempts`).then((p) => fill(more, attemptsTable(p.data)), (e: unknown) => showError(ctx, e));
  });
  const replay = h('button', { type: 'button', class: 'small' }, 'Replay');
  replay.addEventListener('click', () => {
    replay.disabled = true;
    void api('POST', `${base}/events/${encodeURIComponent(d.id)}/replay`).then(() => {
      replay.textContent = 'Replayed';
      fill(more, notice('info', 'Queued again; reload to see the new attempt.'));
    }, (e: unknown) => showError(ctx, e));
  });
  return [d.type, badge(d.status), String(d.attempts), time(d.created_at),
    d.email_id ? h('a', { href: href('emails', [d.email_id]) }, 'Email') : '-',
    h('div', { class: 'actions' }, attempts, replay, more)];
}
