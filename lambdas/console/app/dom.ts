/**
 * A few DOM helpers. Every value is put in the page as a text node or an attribute value set
 * through the DOM, never as HTML: nothing an email, a tenant or the API says is parsed as markup.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined | ((event: Event) => void);

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Readonly<Record<string, AttrValue>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

const STATUS_TONE: Readonly<Record<string, string>> = {
  delivered: 'good', opened: 'good', clicked: 'good', success: 'good', sent: 'info', queued: 'info', scheduled: 'info', verified: 'good', enabled: 'good',
  delivery_delayed: 'warn', pending: 'warn', not_started: 'warn', temporary_failure: 'warn',
  bounced: 'bad', complained: 'bad', failed: 'bad', suppressed: 'bad', canceled: 'muted', disabled: 'muted', failure: 'bad',
  // SES's verdicts on a received email.
  pass: 'good', fail: 'bad',
};

/** A status badge: the word itself (never colour alone) on a tone. */
export function badge(status: string | null | undefined): HTMLElement {
  const s = status ?? 'unknown';
  return h('span', { class: `badge tone-${STATUS_TONE[s] ?? 'muted'}` }, s.replace(/_/g, ' '));
}

/** A table with a caption (for screen readers), header cells and rows; an empty message when no rows. */
export function table(caption: string, headers: readonly string[], rows: readonly (readonly Child[])[], empty = 'Nothing yet.'): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h('table', {},
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))),
  );
}

export const time = (iso: string | null | undefined): HTMLElement =>
  iso ? h('time', { datetime: iso, title: iso }, new Date(iso).toLocaleString()) : h('span', {}, '-');

/** A button that copies a value to the clipboard and says so. */
export function copyButton(value: string, label: string): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'small', 'aria-label': `Copy ${label}` }, 'Copy');
  button.addEventListener('click', () => {
    void navigator.clipboard.writeText(value).then(
      () => (button.textContent = 'Copied'),
      () => (button.textContent = 'Copy failed'),
    );
  });
  return button;
}

/** A message region that screen readers announce. */
export function notice(kind: 'error' | 'info', message: string): HTMLElement {
  return h('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
}
