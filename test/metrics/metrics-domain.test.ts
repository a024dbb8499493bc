import { applyEvent, EMPTY_STATE, isFirstOfStatus } from '../../lambdas/core/domain/email-state';
import { countersOf, hourBucket, localMidnight, metricValues, periods, type Counts } from '../../lambdas/core/domain/metrics';

const event = (type: string, first: boolean, details: Record<string, unknown> = {}) =>
  ({ eventId: 'e', tenantId: 't', emailId: 'm', type, timestamp: '2026-11-29T10:15:00.000Z', details, first }) as Parameters<typeof countersOf>[0];

describe('countersOf', () => {
  it('moves the event type\'s counter, a bounce\'s type, and a unique count only for a first open or click', () => {
    expect(countersOf(event('email.delivered', false))).toEqual({ delivered: 1 });
    expect(countersOf(event('email.bounced', false, { bounce: { type: 'Permanent' } }))).toEqual({ bounced: 1, bounced_permanent: 1 });
    expect(countersOf(event('email.bounced', false, { bounce: { type: 'Transient' } }))).toEqual({ bounced: 1, bounced_transient: 1 });
    expect(countersOf(event('email.bounced', false))).toEqual({ bounced: 1, bounced_undetermined: 1 });
    expect(countersOf(event('email.opened', true))).toEqual({ opened: 1, unique_opened: 1 });
    expect(countersOf(event('email.opened', false))).toEqual({ opened: 1 });
    expect(countersOf(event('email.clicked', true))).toEqual({ clicked: 1, unique_clicked: 1 });
    expect(countersOf(event('email.scheduled', true))).toEqual({});
  });
});

describe('periods', () => {
  // Counts at 03:00Z and 20:00Z on Nov 29: one UTC day; in New York (UTC-5) 22:00 Nov 28 and 15:00 Nov 29; in Tokyo (UTC+9) Nov 29 and Nov 30.
  const hours = new Map<string, Counts>([['2026-11-29T03', { sent: 2 }], ['2026-11-29T20', { sent: 3 }]]);
  const start = Date.parse('2026-11-28T00:00:00Z');
  const end = Date.parse('2026-12-01T00:00:00Z');

  it('sums hours into the days of a time zone, each labelled by its first hour in the range', () => {
    expect(periods(start, end, 'daily', 'UTC', hours).map((r) => [r.period, r.counts.sent ?? 0]))
      .toEqual([['2026-11-28T00:00:00.000Z', 0], ['2026-11-29T00:00:00.000Z', 5], ['2026-11-30T00:00:00.000Z', 0]]);
    expect(periods(start, end, 'daily', 'America/New_York', hours).map((r) => [r.period, r.counts.sent ?? 0]))
      .toEqual([['2026-11-28T00:00:00.000Z', 0], ['2026-11-28T05:00:00.000Z', 2], ['2026-11-29T05:00:00.000Z', 3], ['2026-11-30T05:00:00.000Z', 0]]);
    expect(periods(start, end, 'daily', 'Asia/Tokyo', hours).map((r) => [r.period, r.counts.sent ?? 0]))
      .toEqual([['2026-11-28T00:00:00.000Z', 0], ['2026-11-28T15:00:00.000Z', 2], ['2026-11-29T15:00:00.000Z', 3], ['2026-11-30T15:00:00.000Z', 0]]);
  });

  it('groups hourly, weekly (from Monday) and monthly', () => {
    expect(periods(start, end, 'hourly', 'UTC', hours)).toHaveLength(72);
    expect(periods(start, end, 'weekly', 'UTC', hours).map((r) => [r.period, r.counts.sent ?? 0]))
      .toEqual([['2026-11-28T00:00:00.000Z', 5], ['2026-11-30T00:00:00.000Z', 0]]);
    expect(periods(start, end, 'monthly', 'UTC', hours).map((r) => r.period)).toEqual(['2026-11-28T00:00:00.000Z']);
  });

  it('finds local midnight across offsets and daylight saving', () => {
    expect(new Date(localMidnight(2026, 11, 29, 'America/New_York')).toISOString()).toBe('2026-11-29T05:00:00.000Z');
    expect(new Date(localMidnight(2026, 7, 1, 'America/New_York')).toISOString()).toBe('2026-07-01T04:00:00.000Z');
    expect(new Date(localMidnight(2026, 11, 29, 'Asia/Tokyo')).toISOString()).toBe('2026-11-28T15:00:00.000Z');
    expect(hourBucket(Date.parse('2026-11-29T10:59:59.999Z'))).toBe('2026-11-29T10');
  });
});

describe('metricValues', () => {
  it('answers the requested counts and rates, 0 where there is nothing to divide by', () => {
    expect(metricValues({ sent: 4, delivered: 3, bounced: 1, unique_opened: 1 }, ['sent', 'delivery_rate', 'bounce_rate', 'open_rate', 'click_rate', 'clicked']))
      .toEqual({ sent: 4, delivery_rate: 0.75, bounce_rate: 0.25, open_rate: 0.3333, click_rate: 0, clicked: 0 });
    expect(metricValues({}, ['complaint_rate'])).toEqual({ complaint_rate: 0 });
  });
});

describe('isFirstOfStatus', () => {
  const ev = (id: string, status: 'opened' | 'clicked') =>
    ({ eventId: id, type: `email.${status}`, status, sesType: 'Open', sesMessageId: 'm', timestamp: '2026-11-29T10:00:00.000Z', recipients: ['a@b.test'], details: {} }) as const;

  it('knows an email\'s first open whether earlier events stayed inline or spilled', () => {
    const inline = applyEvent(EMPTY_STATE, ev('00000000-0000-4000-8000-000000000001', 'opened'), { scope: 'recipients', spill: false })!;
    const spilled = applyEvent(EMPTY_STATE, ev('00000000-0000-4000-8000-000000000002', 'opened'), { scope: 'recipients', spill: true })!;
    expect(isFirstOfStatus(EMPTY_STATE, 'opened')).toBe(true);
    expect(isFirstOfStatus(inline, 'opened')).toBe(false);
    expect(isFirstOfStatus(spilled, 'opened')).toBe(false);
    expect(isFirstOfStatus(spilled, 'clicked')).toBe(true);
    // Spilled before their statuses were recorded: unknown, so not claimed.
    expect(isFirstOfStatus({ ...EMPTY_STATE, spilled: ['0000000000000003'] }, 'clicked')).toBe(false);
  });
});
