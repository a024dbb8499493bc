/**
 * The Sesame console: a tenant's emails, events, domains, webhooks and keys, through Sesame's own
 * API with the key the user signs in with. Plain TypeScript and DOM; hash routes; no inline script
 * or style (the page's Content-Security-Policy allows neither).
 */
import { probeKey, session, whenSignedOut } from './api';
import { showError } from './errors';
import { fill, h, notice } from './dom';
import { type Page, type PageContext, parseHash } from './router';
import { emailPage, emailsPage } from './pages/emails';
import { inboundEmailPage, inboundPage } from './pages/inbound';
import { metricsPage } from './pages/metrics';
import { domainPage, domainsPage } from './pages/domains';
import { webhookPage, webhooksPage } from './pages/webhooks';
import { apiKeysPage } from './pages/api-keys';
import { suppressionsPage } from './pages/suppressions';
import { logPage, logsPage } from './pages/logs';
import { sendPage } from './pages/send';

interface Section {
  readonly name: string;
  readonly label: string;
  readonly list: Page;
  readonly detail?: Page;
  /** Pages a sending-only key may open. */
  readonly sending?: boolean;
}

const SECTIONS: readonly Section[] = [
  { name: 'emails', label: 'Emails', list: emailsPage, detail: emailPage },
  { name: 'inbound', label: 'Inbound', list: inboundPage, detail: inboundEmailPage },
  { name: 'send', label: 'Send', list: sendPage, sending: true },
  { name: 'metrics', label: 'Metrics', list: metricsPage },
  { name: 'domains', label: 'Domains', list: domainsPage, detail: domainPage },
  { name: 'webhooks', label: 'Webhooks', list: webhooksPage, detail: webhookPage },
  { name: 'api-keys', label: 'API keys', list: apiKeysPage },
  { name: 'suppressions', label: 'Suppressions', list: suppressionsPage },
  { name: 'logs', label: 'Logs', list: logsPage, detail: logPage },
];

const app = document.getElementById('app')!;
let leaving: (() => void)[] = [];
let visit = 0;

function mailboxUrl(): string | undefined {
  return document.querySelector<HTMLMetaElement>('meta[name="sesame-mailbox"]')?.content || undefined;
}

function signIn(message?: string): void {
  for (const fn of leaving) fn();
  leaving = [];
  document.title = 'Sign in · Sesame console';
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, 'aria-describedby': 'key-help' });
  const status = h('div', { 'aria-live': 'polite' }, message ? notice('info', message) : null);
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sesame console'),
    h('label', { for: 'key' }, 'API key'),
    input,
    h('p', { id: 'key-help', class: 'help' }, 'The key stays in this tab (session storage) and is sent only to this Sesame, as a bearer token.'),
    button,
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    button.disabled = true;
    void probeKey(key).then((result) => {
      button.disabled = false;
      if ('error' in result) {
        fill(status, notice('error', result.error));
        return;
      }
      // The key leaves the DOM: only session storage keeps it.
      input.value = '';
      session.start(key, result.permission);
      const start = result.permission === 'full_access' ? '#/emails' : '#/send';
      // A new hash renders through hashchange; the same one renders now.
      if ((!location.hash || location.hash === '#/' || location.hash === '#') && location.hash !== start) location.hash = start;
      else render();
    }, () => {
      button.disabled = false;
      fill(status, notice('error', 'Sesame could not be reached.'));
    });
  });
  fill(app, h('main', { id: 'main' }, form));
  input.focus();
}

function layout(current: string): HTMLElement {
  const full = session.permission() === 'full_access';
  const mailbox = mailboxUrl();
  const main = h('main', { id: 'main', tabindex: '-1' });
  const signOut = h('button', { type: 'button', class: 'link' }, 'Sign out');
  signOut.addEventListener('click', () => {
    session.end();
    signIn('Signed out.');
  });
  const nav = h('nav', { 'aria-label': 'Console' },
    h('ul', {}, SECTIONS.map((s) => {
      const allowed = full || s.sending === true;
      return h('li', {}, allowed
        ? h('a', { href: `#/${s.name}`, ...(s.name === current ? { 'aria-current': 'page' } : {}) }, s.label)
        : h('span', { class: 'disabled', 'aria-disabled': 'true', title: 'Needs a full-access key' }, s.label));
    }),
    mailbox ? h('li', {}, h('a', { href: mailbox, target: '_blank', rel: 'noopener noreferrer' }, 'Local mailbox ↗')) : null),
  );
  fill(app,
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => { e.preventDefault(); main.focus(); } }, 'Skip to content'),
    h('header', {}, h('span', { class: 'brand' }, 'Sesame'), h('span', { class: 'permission' }, full ? 'full access' : 'sending access'), signOut),
    nav,
    main,
  );
  return main;
}

function render(): void {
  if (!session.key()) return signIn();
  for (const fn of leaving) fn();
  leaving = [];
  const full = session.permission() === 'full_access';
  const { name, params, query } = parseHash(location.hash);
  const section = SECTIONS.find((s) => s.name === name) ?? SECTIONS.find((s) => s.name === (full ? 'emails' : 'send'))!;
  const root = layout(section.name);
  document.title = `${section.label} · Sesame console`;
  if (!full && !section.sending) {
    root.append(h('h1', {}, section.label), notice('info', 'This page needs an API key with full access; this key may only send emails.'));
    return;
  }
  const mine = ++visit;
  const ctx: PageContext = {
    params, query, root,
    onLeave: (fn) => leaving.push(fn),
    current: () => mine === visit,
  };
  const page = params.length > 0 && section.detail ? section.detail : section.list;
  Promise.resolve(page(ctx)).catch((error: unknown) => showError(ctx, error));
}

whenSignedOut((reason) => signIn(reason));
window.addEventListener('hashchange', render);
render();
