/** The send path's domain cache: only a sendable answer is kept, for at most a minute. */
import { SENDABLE_DOMAIN_CACHE_MS, SendableDomainCache } from '../../lambdas/core/adapters/domain-cache';
import type { DomainRecord } from '../../lambdas/core/adapters/domains';

const domain = (verifiedForSending: boolean): DomainRecord => ({
  id: 'd1', name: 'acme.com', tenantId: 't1', status: verifiedForSending ? 'verified' : 'pending', verifiedForSending, region: 'us-east-1',
  openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: '2026-11-20T00:00:00.000Z',
});

describe('SendableDomainCache', () => {
  /** A lookup (the DomainStore's contract, tested against dynalite in test/domains) that counts its reads. */
  function lookup(answers: (DomainRecord | undefined)[]) {
    const reads: string[] = [];
    return { reads, store: { getByName: async (name: string) => (reads.push(name), answers.shift()) } };
  }

  it('reads a verified domain once a minute per container, whatever the case of its name', async () => {
    const { reads, store } = lookup([domain(true), { ...domain(true), openTracking: true }]);
    let now = 0;
    const cache = new SendableDomainCache(store, { now: () => now });
    expect(await cache.getByName('acme.com')).toMatchObject({ verifiedForSending: true, openTracking: false });
    now = SENDABLE_DOMAIN_CACHE_MS - 1;
    expect(await cache.getByName('ACME.com')).toMatchObject({ openTracking: false });
    expect(reads).toHaveLength(1);
    now = SENDABLE_DOMAIN_CACHE_MS;
    expect(await cache.getByName('acme.com')).toMatchObject({ openTracking: true });
    expect(reads).toHaveLength(2);
  });

  it('does not keep a refusal: a domain verified a moment ago sends at once', async () => {
    const { reads, store } = lookup([undefined, domain(false), domain(true)]);
    const cache = new SendableDomainCache(store, { now: () => 0 });
    expect(await cache.getByName('acme.com')).toBeUndefined();
    expect(await cache.getByName('acme.com')).toMatchObject({ verifiedForSending: false });
    expect(await cache.getByName('acme.com')).toMatchObject({ verifiedForSending: true });
    expect(reads).toHaveLength(3);
  });
});
