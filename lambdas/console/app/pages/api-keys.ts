/** API keys: list, create (the key shown once), rename, revoke. */
import { api, type ListPage } from '../api';
import { copyButton, fill, h, notice, table, time } from '../dom';
import { showError } from '../errors';
import type { PageContext } from '../router';

interface ApiKey { id: string; name: string; permission?: string; created_at: string }

export async function apiKeysPage(ctx: PageContext): Promise<void> {
  const page = await api<ListPage<ApiKey>>('GET', '/api-keys');
  if (!ctx.current()) return;
  const name = h('input', { id: 'key-name', required: true, maxlength: '50', autocomplete: 'off' });
  const permission = h('select', { id: 'key-permission' }, h('option', { value: 'full_access' }, 'Full access'), h('option', { value: 'sending_access' }, 'Sending access'));
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline' },
    h('label', { for: 'key-name' }, 'Name'), name,
    h('label', { for: 'key-permission' }, 'Permission'), permission,
    h('button', { type: 'submit' }, 'Create key'), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void api<{ id: string; token: string }>('POST', '/api-keys', { name: name.value.trim(), permission: permission.value }).then((k) => {
      void apiKeysPage(ctx).then(() => {
        // Shown once, on this page only: it is in no list and goes with the next navigation.
        ctx.root.insertBefore(h('div', { class: 'notice info', role: 'status' }, h('p', {}, 'The new key (shown once: copy it now)'), h('code', { class: 'secret' }, k.token), ' ', copyButton(k.token, 'new API key')), ctx.root.children[2] ?? null);
      });
    }, (e: unknown) => fill(status, notice('error', e instanceof Error ? e.message : 'Not created.')));
  });
  fill(ctx.root,
    h('h1', {}, 'API keys'),
    form,
    table('API keys', ['Name', 'Permission', 'Created', ''], page.data.map((k) => [k.name, (k.permission ?? '-').replace('_', ' '), time(k.created_at), actions(ctx, k)]), 'No key.'),
  );
}

function actions(ctx: PageContext, k: ApiKey): HTMLElement {
  const rename = h('button', { type: 'button', class: 'small', 'aria-label': `Rename ${k.name}` }, 'Rename');
  rename.addEventListener('click', () => {
    const name = prompt('New name', k.name);
    if (!name) return;
    void api('PATCH', `/api-keys/${encodeURIComponent(k.id)}`, { name }).then(() => apiKeysPage(ctx), (e: unknown) => showError(ctx, e));
  });
  const revoke = h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${k.name}` }, 'Revoke');
  revoke.addEventListener('click', () => {
    if (!confirm(`Revoke the key "${k.name}"? Anything using it stops working.`)) return;
    // Listing again right after checks the session's own key (key management is never cached):
    // revoking the key this console signed in with signs it out.
    void api('DELETE', `/api-keys/${encodeURIComponent(k.id)}`).then(() => apiKeysPage(ctx)).catch((e: unknown) => showError(ctx, e));
  });
  return h('div', { class: 'actions' }, rename, revoke);
}
