/**
 * The send path's view of a domain, cached in the container. Only an answer that lets a send
 * through (the domain exists and SES verified it for sending) is kept, for at most
 * SENDABLE_DOMAIN_CACHE_MS, like an API key: a domain just verified sends at once, while a domain
 * deleted, no longer verified, or whose tracking settings changed keeps its previous answer in a
 * warm container for up to that long.
 */
import type { DomainRecord, DomainStore } from './domains';

export const SENDABLE_DOMAIN_CACHE_MS = 60_000;

export type DomainLookup = Pick<DomainStore, 'getByName'>;

export class SendableDomainCache implements DomainLookup {
  private readonly entries = new Map<string, { domain: DomainRecord; until: number }>();

  constructor(
    private readonly store: DomainLookup,
    private readonly options: { readonly ttlMs?: number; readonly now?: () => number; readonly maxEntries?: number } = {},
  ) {}

  async getByName(name: string): Promise<DomainRecord | undefined> {
    const key = name.toLowerCase();
    const now = (this.options.now ?? Date.now)();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.domain;
    const domain = await this.store.getByName(name);
    this.entries.delete(key);
    if (domain?.verifiedForSending) {
      if (this.entries.size >= (this.options.maxEntries ?? 1000)) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { domain, until: now + (this.options.ttlMs ?? SENDABLE_DOMAIN_CACHE_MS) });
    }
    return domain;
  }
}
