import { RANKS, emailKey, fixedTime, recipientKey } from '../../lambdas/core/domain/status';

describe('status keys', () => {
  it('are fixed-width, so string order is time order', () => {
    const a = emailKey('2024-01-01T00:00:09Z', 'delivered', 'e1');
    const b = emailKey('2024-01-01T00:00:10.5Z', 'sent', 'e2');
    expect(a < b).toBe(true);
    expect(fixedTime('2024-01-01T00:00:09Z')).toHaveLength(24);
  });

  it('break a time tie by rank, then by event id', () => {
    const t = '2024-01-01T00:00:00.000Z';
    expect(emailKey(t, 'sent', 'z') < emailKey(t, 'delivered', 'a')).toBe(true);
    expect(emailKey(t, 'delivered', 'a') < emailKey(t, 'delivered', 'b')).toBe(true);
  });

  it('order a recipient by rank before time', () => {
    expect(recipientKey('2030-01-01T00:00:00Z', 'delivered', 'a') < recipientKey('2020-01-01T00:00:00Z', 'bounced', 'a')).toBe(true);
  });

  it('keep the documented ranks', () => {
    expect(Object.entries(RANKS).sort((x, y) => x[1] - y[1]).map(([k]) => k)).toEqual([
      'queued', 'scheduled', 'sent', 'delivery_delayed', 'delivered', 'opened', 'clicked', 'failed', 'bounced', 'suppressed', 'complained', 'canceled',
    ]);
  });
});
