/** Logs: the tenant's recent API requests (`GET /logs`), and one request with its bodies (secrets redacted by the API). */
import { api, type ListPage, withQuery } from '../api';
import { badge, fill, h, table, time } from '../dom';
import { href, pager, type PageContext } from '../router';

interface Log { id: string; created_at: string; endpoint: string; method: string; response_status: number; user_agent: string | null; api_key_name?: string | null }
interface LogDetail extends Log { request_body: unknown; response_body: unknown }

const tone = (status: number) => (status >= 500 ? 'failed' : status >= 400 ? 'bounced' : 'delivered');

export async function logsPage(ctx: PageContext): Promise<void> {
  const page = await api<ListPage<Log>>('GET', withQuery('/logs', { limit: 50, after: ctx.query.get('after') ?? undefined, before: ctx.query.get('before') ?? undefined }));
  if (!ctx.current()) return;
  fill(ctx.root,
    h('h1', {}, 'Logs'),
    table('API requests', ['Time', 'Method', 'Endpoint', 'Status', 'Key', 'User agent'], page.data.map((l) => [
      h('a', { href: href('logs', [l.id]) }, time(l.created_at)), l.method, h('code', {}, l.endpoint),
      h('span', { class: `badge tone-${tone(l.response_status) === 'delivered' ? 'good' : tone(l.response_status) === 'bounced' ? 'warn' : 'bad'}` }, String(l.response_status)),
      l.api_key_name ?? '-', l.user_agent ?? '-',
    ]), 'No request logged yet.'),
    pager('logs', [], page, ctx.query),
  );
}

export async function logPage(ctx: PageContext): Promise<void> {
  const l = await api<LogDetail>('GET', `/logs/${encodeURIComponent(ctx.params[0]!)}`);
  if (!ctx.current()) return;
  fill(ctx.root,
    h('p', {}, h('a', { href: '#/logs' }, '← Logs')),
    h('h1', {}, `${l.method} `, h('code', {}, l.endpoint)),
    h('p', {}, badge(String(l.response_status)), ' ', time(l.created_at), ` · key ${l.api_key_name ?? '-'}`),
    h('h2', {}, 'Request body'), h('pre', {}, JSON.stringify(l.request_body, null, 2)),
    h('h2', {}, 'Response body'), h('pre', {}, JSON.stringify(l.response_body, null, 2)),
  );
}
