/** Send: one email through `POST /emails` (what a sending-only key may do). */
import { api } from '../api';
import { fill, h, notice } from '../dom';
import { href, type PageContext } from '../router';
import { session } from '../api';

export function sendPage(ctx: PageContext): void {
  const input = (id: string, label: string, attrs: Record<string, string | boolean> = {}) =>
    [h('label', { for: id }, label), h('input', { id, name: id, ...attrs })];
  const text = h('textarea', { id: 'send-text', name: 'text', rows: '6' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack' },
    ...input('send-from', 'From', { required: true, placeholder: 'Acme <hello@example.com>' }),
    ...input('send-to', 'To', { required: true, type: 'email', placeholder: 'delivered@resend.dev' }),
    ...input('send-subject', 'Subject', { required: true }),
    h('label', { for: 'send-text' }, 'Text'), text,
    h('button', { type: 'submit' }, 'Send'),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = (id: string) => (form.querySelector<HTMLInputElement>(`#${id}`)!).value;
    void api<{ id: string }>('POST', '/emails', { from: value('send-from'), to: value('send-to'), subject: value('send-subject'), text: text.value }).then((res) => {
      fill(status, session.permission() === 'full_access'
        ? h('p', { class: 'notice info', role: 'status' }, 'Sent: ', h('a', { href: href('emails', [res.id]) }, res.id))
        : notice('info', `Sent: ${res.id}`));
    }, (e: unknown) => fill(status, notice('error', e instanceof Error ? e.message : 'Not sent.')));
  });
  fill(ctx.root, h('h1', {}, 'Send an email'), form);
}
