/**
 * Pricing arithmetic, pure: billing units from sizes and durations, and the cost of a list of
 * usages at the prices of bench/prices.ts. No I/O; tested in test/bench/cost.test.ts.
 */
import { type Price, type PriceKey, PRICES } from './prices';

/** DynamoDB bills a write per started KB of the item written (the larger of before and after). */
export const writeUnits = (itemBytes: number): number => Math.max(1, Math.ceil(itemBytes / 1024));

/** DynamoDB bills a read per started 4 KB; an eventually consistent read is half of that. */
export const readUnits = (itemBytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(itemBytes / 4096)) * (consistent ? 1 : 0.5);

/** SQS and SNS bill each started 64 KB of a payload as one request. */
export const chunks64k = (payloadBytes: number): number => Math.max(1, Math.ceil(payloadBytes / 65_536));

/** Lambda bills duration rounded up to the millisecond, times the configured memory. */
export const gbSeconds = (memoryMb: number, durationMs: number): number => (memoryMb / 1024) * (Math.ceil(durationMs) / 1000);

/** Memory at which a function gets one full vCPU; below it, CPU time stretches by this ratio. */
export const FULL_VCPU_MB = 1769;

/**
 * Wall time of an invocation: its CPU time stretched by the vCPU share the memory size buys, plus
 * the time spent waiting on I/O.
 */
export const invocationMs = (cpuMs: number, memoryMb: number, ioMs: number): number =>
  cpuMs * Math.max(1, FULL_VCPU_MB / memoryMb) + ioMs;

export type Basis = 'counted' | 'modelled';

/** Units of one priced thing that one email's life uses. */
export interface Usage {
  readonly item: string;
  readonly price: PriceKey;
  /** Units per email, in the price's unit. */
  readonly quantity: number;
  /** Counted in the local end-to-end run, or modelled (what the SDK middleware cannot see). */
  readonly basis: Basis;
  readonly note?: string;
}

export interface CostLine extends Usage {
  readonly usdPerEmail: number;
  readonly usdPerMillion: number;
}

export interface CostSummary {
  readonly lines: readonly CostLine[];
  readonly usdPerEmail: number;
  readonly usdPerMillion: number;
  /** SES's own price of one email, the yardstick. */
  readonly sesUsdPerEmail: number;
  /** The infrastructure's cost as a percentage of SES's. */
  readonly percentOfSes: number;
}

export function priceUsages(usages: readonly Usage[], prices: Record<PriceKey, Price> = PRICES): CostSummary {
  const lines = usages.map((u): CostLine => {
    if (!Number.isFinite(u.quantity) || u.quantity < 0) throw new Error(`${u.item}: quantity must be a non-negative number, got ${u.quantity}`);
    const usdPerEmail = (u.quantity * prices[u.price].usd) / prices[u.price].per;
    return { ...u, usdPerEmail, usdPerMillion: usdPerEmail * 1_000_000 };
  });
  const usdPerEmail = lines.reduce((sum, l) => sum + l.usdPerEmail, 0);
  const sesUsdPerEmail = prices.sesEmail.usd / prices.sesEmail.per;
  return { lines, usdPerEmail, usdPerMillion: usdPerEmail * 1_000_000, sesUsdPerEmail, percentOfSes: (usdPerEmail / sesUsdPerEmail) * 100 };
}

/** An item's size as DynamoDB counts it: one definition, shared with the STATUS item's size rule. */
export { itemBytes } from '../lambdas/core/adapters/dynamo';

/** DynamoDB adds 100 bytes of overhead to every stored item, in the table and in each index. */
export const STORAGE_OVERHEAD_BYTES = 100;
