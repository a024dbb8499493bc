/** Hash routes (`#/emails/<id>?after=...`): a reload never reaches an API route. */
import { h } from './dom';

export interface PageContext {
  /** The path's segments after the page's name (`#/emails/<id>` -> [id]). */
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** The page's main region. */
  readonly root: HTMLElement;
  /** Runs when the user leaves the page (stops a refresh timer). */
  onLeave(fn: () => void): void;
  /** Whether the user is still on this page (an answer that arrives later is dropped otherwise). */
  current(): boolean;
}

export type Page = (ctx: PageContext) => Promise<void> | void;

export function parseHash(hash: string): { name: string; params: string[]; query: URLSearchParams } {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', qs = ''] = raw.split('?', 2);
  const [name = '', ...params] = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
  return { name, params, query: new URLSearchParams(qs) };
}

/** `#/name/param?query` */
export function href(name: string, params: readonly string[] = [], query: Readonly<Record<string, string | undefined>> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, v);
  const qs = q.toString();
  return `#/${[name, ...params.map(encodeURIComponent)].join('/')}${qs ? `?${qs}` : ''}`;
}

/** Newer / older links by the API's cursors (`after`: older, `before`: newer). */
export function pager(name: string, params: readonly string[], page: { has_more: boolean; data: readonly { id: string }[] }, query: URLSearchParams, extra: Readonly<Record<string, string | undefined>> = {}): HTMLElement {
  const first = page.data[0]?.id;
  const last = page.data[page.data.length - 1]?.id;
  const backwards = query.has('before');
  const hasNewer = backwards ? page.has_more : query.has('after');
  const hasOlder = backwards ? true : page.has_more;
  return h('nav', { class: 'pager', 'aria-label': 'Pages' },
    hasNewer && first ? h('a', { href: href(name, params, { ...extra, before: first }) }, '← Newer') : h('span', { 'aria-hidden': 'true' }),
    hasOlder && last ? h('a', { href: href(name, params, { ...extra, after: last }) }, 'Older →') : h('span', { 'aria-hidden': 'true' }),
  );
}
