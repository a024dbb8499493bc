/** Metrics: counts over time from `GET /emails/metrics`, as a small SVG chart drawn here and a table. */
import { api, withQuery } from '../api';
import { fill, h, table } from '../dom';
import { href, type PageContext } from '../router';

const METRICS = ['sent', 'delivered', 'bounced', 'complained', 'opened', 'clicked'] as const;
type Metric = (typeof METRICS)[number];
type Row = { period: string } & Record<Metric, number>;
interface MetricsAnswer { totals: Record<Metric, number>; data: Row[]; granularity: string }

const RANGES = { '24h': { days: 1, granularity: 'hourly', label: 'Last 24 hours' }, '7d': { days: 7, granularity: 'daily', label: 'Last 7 days' }, '30d': { days: 30, granularity: 'daily', label: 'Last 30 days' } } as const;
const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** One line per metric over the periods; the legend names each line (not only its colour). */
function chart(rows: readonly Row[], title: string): SVGSVGElement {
  const width = 720, height = 240, left = 40, bottom = 24, top = 10, right = 10;
  const max = Math.max(1, ...rows.flatMap((r) => METRICS.map((m) => r[m] ?? 0)));
  const x = (i: number) => left + (rows.length <= 1 ? 0 : (i * (width - left - right)) / (rows.length - 1));
  const y = (v: number) => top + (height - top - bottom) * (1 - v / max);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': 'chart-title', class: 'chart' }, svg('title', { id: 'chart-title' }, title));
  for (const t of [0, 0.5, 1]) {
    const v = Math.round(max * t);
    root.append(svg('line', { x1: left, x2: width - right, y1: y(v), y2: y(v), class: 'grid' }), svg('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, String(v)));
  }
  METRICS.forEach((m, n) => {
    const points = rows.map((r, i) => `${x(i)},${y(r[m] ?? 0)}`).join(' ');
    root.append(svg('polyline', { points, class: `series s${n}`, fill: 'none' }));
  });
  if (rows.length > 0) {
    root.append(svg('text', { x: left, y: height - 6, class: 'axis' }, new Date(rows[0]!.period).toLocaleDateString()));
    root.append(svg('text', { x: width - right, y: height - 6, 'text-anchor': 'end', class: 'axis' }, new Date(rows[rows.length - 1]!.period).toLocaleDateString()));
  }
  return root;
}

export async function metricsPage(ctx: PageContext): Promise<void> {
  const key = (ctx.query.get('range') ?? '7d') as keyof typeof RANGES;
  const range = RANGES[key] ?? RANGES['7d'];
  const end = new Date();
  const start = new Date(end.getTime() - range.days * 86_400_000);
  const answer = await api<MetricsAnswer>('GET', withQuery('/emails/metrics', {
    start_date: start.toISOString(), end_date: end.toISOString(), granularity: range.granularity, dimensions: 'period', metrics: METRICS.join(','),
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  }));
  if (!ctx.current()) return;
  fill(ctx.root,
    h('h1', {}, 'Metrics'),
    h('nav', { class: 'toolbar', 'aria-label': 'Range' }, Object.entries(RANGES).map(([k, r]) => h('a', { href: href('metrics', [], { range: k }), ...(r === range ? { 'aria-current': 'true' } : {}) }, r.label))),
    h('ul', { class: 'totals' }, METRICS.map((m, n) => h('li', {}, h('span', { class: `swatch s${n}`, 'aria-hidden': 'true' }), h('strong', {}, String(answer.totals[m] ?? 0)), ` ${m}`))),
    chart(answer.data, `${range.label}: ${METRICS.join(', ')} per ${range.granularity === 'hourly' ? 'hour' : 'day'}`),
    h('details', {}, h('summary', {}, 'As a table'),
      table('Metrics per period', ['Period', ...METRICS], answer.data.map((r) => [new Date(r.period).toLocaleString(), ...METRICS.map((m) => String(r[m] ?? 0))]))),
  );
}
