/** Suppressions: the tenant's list, add, remove. */
import { api, type ListPage, withQuery } from '../api';
import { fill, h, notice, table, time } from '../dom';
import { showError } from '../errors';
import { pager, type PageContext } from '../router';

interface Suppression { id: string; email: string; origin: string; created_at: string }

export async function suppressionsPage(ctx: PageContext): Promise<void> {
  const page = await api<ListPage<Suppression>>('GET', withQuery('/suppressions', { limit: 20, after: ctx.query.get('after') ?? undefined, before: ctx.query.get('before') ?? undefined }));
  if (!ctx.current()) return;
  const email = h('input', { id: 'suppress-email', type: 'email', required: true, autocomplete: 'off' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline' }, h('label', { for: 'suppress-email' }, 'Suppress an address'), email, h('button', { type: 'submit' }, 'Add'), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void api('POST', '/suppressions', { email: email.value.trim() }).then(() => suppressionsPage(ctx), (e: unknown) => fill(status, notice('error', e instanceof Error ? e.message : 'Not added.')));
  });
  fill(ctx.root,
    h('h1', {}, 'Suppressions'),
    form,
    table('Suppressed addresses', ['Address', 'Origin', 'Since', ''], page.data.map((s) => {
      const remove = h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${s.email}` }, 'Remove');
      remove.addEventListener('click', () => {
        remove.disabled = true;
        void api('DELETE', `/suppressions/${encodeURIComponent(s.id)}`).then(() => suppressionsPage(ctx), (e: unknown) => showError(ctx, e));
      });
      return [s.email, s.origin, time(s.created_at), remove];
    }), 'No suppressed address.'),
    pager('suppressions', [], page, ctx.query),
  );
}
