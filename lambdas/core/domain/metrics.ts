/**
 * Email metrics (GET /emails/metrics), pure: which counters an applied event moves, how hourly
 * counters (UTC) become the periods of a time zone, and the rates derived from the counts.
 */
import type { EmailEventType } from './applied-event';

/** Counts kept by the counters, one attribute each. */
export const COUNTED_METRICS = [
  'received', 'delivered', 'complained', 'suppressed', 'bounced', 'bounced_transient', 'bounced_permanent',
  'bounced_undetermined', 'opened', 'clicked', 'unsubscribed', 'delivery_delayed', 'failed', 'sent',
  'unique_opened', 'unique_clicked',
] as const;
export type CountedMetric = (typeof COUNTED_METRICS)[number];

/** Derived from the counts: numerator over denominator, 0 when the denominator is 0. */
export const RATES = {
  delivery_rate: ['delivered', 'sent'],
  open_rate: ['unique_opened', 'delivered'],
  click_rate: ['unique_clicked', 'delivered'],
  bounce_rate: ['bounced', 'sent'],
  complaint_rate: ['complained', 'delivered'],
  unsubscribe_rate: ['unsubscribed', 'delivered'],
} as const satisfies Record<string, readonly [CountedMetric, CountedMetric]>;
export type RateMetric = keyof typeof RATES;

export type EmailMetric = CountedMetric | RateMetric;
export const EMAIL_METRICS: readonly EmailMetric[] = [...COUNTED_METRICS, ...(Object.keys(RATES) as RateMetric[])];

export type Counts = Partial<Record<CountedMetric, number>>;

/** The counter of each event type; the compiler asks for a new type to be mapped here. */
const METRIC_OF = {
  'email.sent': 'sent',
  'email.delivered': 'delivered',
  'email.delivery_delayed': 'delivery_delayed',
  'email.complained': 'complained',
  'email.bounced': 'bounced',
  'email.opened': 'opened',
  'email.clicked': 'clicked',
  'email.failed': 'failed',
  'email.suppressed': 'suppressed',
  'email.scheduled': undefined,
  'email.received': 'received',
} as const satisfies Record<EmailEventType, CountedMetric | undefined>;

export interface CountedEvent {
  readonly eventId: string;
  readonly tenantId: string;
  readonly emailId: string;
  readonly type: EmailEventType;
  /** The event's time (ISO 8601): its hour is the counter's bucket. */
  readonly timestamp: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** Whether it is its email's first event of its type (the STATUS write tells): an open or click counts as unique. */
  readonly first: boolean;
}

/** The counters one event moves (its own, a bounce's type, and a unique count for a first open or click). */
export function countersOf(event: CountedEvent): Counts {
  const first = event.first;
  const metric = METRIC_OF[event.type];
  if (metric === undefined) return {};
  const counts: Counts = { [metric]: 1 };
  if (metric === 'bounced') {
    const type = String((event.details.bounce as { type?: unknown } | undefined)?.type ?? '').toLowerCase();
    counts[type === 'permanent' ? 'bounced_permanent' : type === 'transient' ? 'bounced_transient' : 'bounced_undetermined'] = 1;
  }
  if (first && metric === 'opened') counts.unique_opened = 1;
  if (first && metric === 'clicked') counts.unique_clicked = 1;
  return counts;
}

export const addCounts = (into: Counts, more: Counts): Counts => {
  for (const [k, v] of Object.entries(more) as [CountedMetric, number][]) into[k] = (into[k] ?? 0) + v;
  return into;
};

/** The UTC hour of a time, as counters are keyed: `YYYY-MM-DDTHH`. */
export const hourBucket = (ms: number): string => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString().slice(0, 13);

/** The start (ms) of an hour bucket. */
export const hourStart = (bucket: string): number => Date.parse(`${bucket}:00:00.000Z`);

export type Granularity = 'hourly' | 'daily' | 'weekly' | 'monthly';

interface LocalTime { readonly year: number; readonly month: number; readonly day: number; readonly hour: number }

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Throws RangeError for a time zone the runtime does not know. */
export function assertTimeZone(timeZone: string): void {
  localTime(0, timeZone);
}

function localTime(ms: number, timeZone: string): LocalTime {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(ms).map((p) => [p.type, p.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour) };
}

/** The local midnight (ms) of a date in a time zone (the first hour whose local date is that date). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day);
  const local = localTime(guess, timeZone);
  const offset = Date.UTC(local.year, local.month - 1, local.day, local.hour) - guess;
  return guess - offset;
}

/**
 * The period an hour belongs to in a time zone, as a sortable key. An hour belongs to the local
 * period its start falls in (zones offset by a fraction of an hour are bucketed by whole UTC hours).
 */
export function periodKey(hourMs: number, granularity: Granularity, timeZone: string): string {
  const t = localTime(hourMs, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  switch (granularity) {
    case 'hourly': return new Date(hourMs).toISOString();
    case 'daily': return `${t.year}-${pad(t.month)}-${pad(t.day)}`;
    case 'monthly': return `${t.year}-${pad(t.month)}`;
    case 'weekly': {
      const date = new Date(Date.UTC(t.year, t.month - 1, t.day));
      date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7)); // back to Monday
      return date.toISOString().slice(0, 10);
    }
  }
}

export interface PeriodRow {
  /** The period's start, as an ISO 8601 UTC time. */
  readonly period: string;
  readonly counts: Counts;
}

/**
 * Every period of [startMs, endMs) (hours, whole), in order, each with the sum of its hours' counts
 * (`hours`: hour bucket -> counts). A period is labelled by the start of its first hour in the range.
 */
export function periods(startMs: number, endMs: number, granularity: Granularity, timeZone: string, hours: ReadonlyMap<string, Counts>): PeriodRow[] {
  const rows: { key: string; period: string; counts: Counts }[] = [];
  for (let h = startMs; h < endMs; h += 3_600_000) {
    const key = periodKey(h, granularity, timeZone);
    let row = rows.at(-1);
    if (!row || row.key !== key) rows.push((row = { key, period: new Date(h).toISOString(), counts: {} }));
    const counts = hours.get(hourBucket(h));
    if (counts) addCounts(row.counts, counts);
  }
  return rows.map(({ period, counts }) => ({ period, counts }));
}

/** The requested metrics of some counts, rates included (fractions between 0 and 1, 4 decimals). */
export function metricValues(counts: Counts, metrics: readonly EmailMetric[]): Partial<Record<EmailMetric, number>> {
  const out: Partial<Record<EmailMetric, number>> = {};
  for (const m of metrics) {
    if (m in RATES) {
      const [num, den] = RATES[m as RateMetric];
      const d = counts[den] ?? 0;
      out[m] = d === 0 ? 0 : Math.round(((counts[num] ?? 0) / d) * 10_000) / 10_000;
    } else {
      out[m] = counts[m as CountedMetric] ?? 0;
    }
  }
  return out;
}
