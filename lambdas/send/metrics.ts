/**
 * GET /emails/metrics: the tenant's counts over a date range, totaled and (with the `period`
 * dimension) per hour, day, week or month of a time zone, from the hourly counters that ingestion
 * keeps (metric-counters.ts): never a scan or query over emails. Sesame breaks counts down by period
 * only; the `domain`, `email` and `broadcast` dimensions and filters answer 422.
 */
import type { Routes } from '../core/http/api';
import { HttpError } from '../core/errors';
import type { MetricCounters } from '../core/adapters/metric-counters';
import {
  addCounts, assertTimeZone, type Counts, EMAIL_METRICS, type EmailMetric, type Granularity, hourBucket, localMidnight, metricValues, periods,
} from '../core/domain/metrics';

export interface MetricsRouteDeps {
  readonly counters: Pick<MetricCounters, 'read'>;
  readonly now: () => number;
}

const HOUR = 3_600_000;
/** The longest range answered: counters are kept 400 days. */
export const MAX_RANGE_DAYS = 400;
const GRANULARITIES: readonly Granularity[] = ['hourly', 'daily', 'weekly', 'monthly'];
const DIMENSIONS = ['period', 'domain', 'email', 'broadcast'] as const;

const invalid = (message: string) => new HttpError(422, 'validation_error', message);

function list(raw: string | undefined): string[] {
  return raw === undefined ? [] : raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** A date (`YYYY-MM-DD`, a day of `timeZone`: its start, or with `endOfDay` its end) or an ISO 8601 datetime. */
function parseDate(name: string, raw: string, timeZone: string, endOfDay: boolean): number {
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw);
  if (day) {
    const [y, m, d] = [Number(day[1]), Number(day[2]), Number(day[3])];
    const check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) throw invalid(`\`${name}\` is not a valid date.`);
    if (!endOfDay) return localMidnight(y, m, d, timeZone);
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    return localMidnight(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), timeZone);
  }
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(raw) ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) throw invalid(`\`${name}\` must be an ISO 8601 date or datetime with a time zone offset.`);
  return ms;
}

export function metricsRoutes(deps: MetricsRouteDeps): Routes {
  return {
    'GET /emails/metrics': {
      permission: 'full_access',
      async handle(ctx) {
        const q = ctx.request.query;
        const timeZone = q.timezone ?? 'UTC';
        try {
          assertTimeZone(timeZone);
        } catch {
          throw invalid('`timezone` must be an IANA time zone, e.g. America/New_York.');
        }
        const granularity = (q.granularity ?? 'daily') as Granularity;
        if (!GRANULARITIES.includes(granularity)) throw invalid(`\`granularity\` must be one of ${GRANULARITIES.join(', ')}.`);
        const metrics = list(q.metrics);
        const unknown = metrics.find((m) => !EMAIL_METRICS.includes(m as EmailMetric));
        if (unknown !== undefined) throw invalid(`Unknown metric \`${unknown}\`.`);
        const wanted = (metrics.length > 0 ? [...new Set(metrics)] : EMAIL_METRICS) as EmailMetric[];
        const dimensions = [...new Set(list(q.dimensions))];
        const badDimension = dimensions.find((d) => !(DIMENSIONS as readonly string[]).includes(d));
        if (badDimension !== undefined) throw invalid(`Unknown dimension \`${badDimension}\`.`);
        if (dimensions.some((d) => d !== 'period')) throw invalid('Sesame breaks metrics down by `period` only.');
        for (const filter of ['domain_id', 'email_id', 'broadcast_id']) {
          if (q[filter] !== undefined) throw invalid(`Sesame does not filter metrics by \`${filter}\`.`);
        }

        const now = deps.now();
        const end = Math.min(q.end_date !== undefined ? parseDate('end_date', q.end_date, timeZone, true) : now, now);
        const start = q.start_date !== undefined ? parseDate('start_date', q.start_date, timeZone, false) : end - 6 * 86_400_000;
        if (start > end) throw invalid('`start_date` must be on or before `end_date`.');
        if (end - start > MAX_RANGE_DAYS * 86_400_000) throw invalid(`The date range can be at most ${MAX_RANGE_DAYS} days.`);

        // Counters are hourly: the range covers the whole hours it touches.
        const firstHour = Math.floor(start / HOUR) * HOUR;
        const endHour = Math.max(firstHour + HOUR, Math.ceil(end / HOUR) * HOUR);
        const hours = await deps.counters.read(ctx.auth.tenantId, hourBucket(firstHour), hourBucket(endHour - HOUR));
        const totals: Counts = {};
        for (const counts of hours.values()) addCounts(totals, counts);
        return {
          statusCode: 200,
          body: {
            object: 'metrics',
            start_date: new Date(start).toISOString(),
            end_date: new Date(end).toISOString(),
            metrics: wanted,
            dimensions,
            granularity,
            totals: metricValues(totals, wanted),
            ...(dimensions.includes('period')
              ? { data: periods(firstHour, endHour, granularity, timeZone, hours).map((row) => ({ period: row.period, ...metricValues(row.counts, wanted) })) }
              : {}),
          },
        };
      },
    },
  };
}
