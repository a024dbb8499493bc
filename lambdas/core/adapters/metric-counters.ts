/**
 * Metric counters (GET /emails/metrics): per tenant, per UTC hour, per shard, one item whose
 * attributes are the counts (`sent`, `delivered`, ...). Ingestion adds an invocation's applied
 * events with one UpdateItem ADD per counter item they touch; a read is one Query per shard over
 * the hours of the range. Unique opens and clicks count an email's first open or click, which the
 * STATUS write that applies it tells (email-status.ts `firstOfType`).
 */
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { addCounts, COUNTED_METRICS, type CountedEvent, type Counts, countersOf, hourBucket } from '../domain/metrics';
import { keys, METRIC_SHARDS, metricShard } from '../table';
import { type Db, expiresAt } from './dynamo';
import type { Logger } from '../log';

/** Days a counter item is kept (counters outlive the emails they counted). */
export const METRIC_RETENTION_DAYS = 400;

export class MetricCounters {
  constructor(private readonly db: Db) {}

  /**
   * Adds the events' counts: one UpdateItem per (tenant, hour, shard) they fall in.
   */
  async count(events: readonly CountedEvent[]): Promise<number> {
    const groups = new Map<string, { tenantId: string; shard: number; hour: string; counts: Counts }>();
    for (const event of events) {
      const counts = countersOf(event);
      if (Object.keys(counts).length === 0) continue;
      const shard = metricShard(event.emailId);
      const hour = hourBucket(Date.parse(event.timestamp));
      const id = `${event.tenantId}#${shard}#${hour}`;
      const group = groups.get(id) ?? { tenantId: event.tenantId, shard, hour, counts: {} };
      addCounts(group.counts, counts);
      groups.set(id, group);
    }
    await Promise.all([...groups.values()].map((g) => this.add(g.tenantId, g.shard, g.hour, g.counts)));
    return groups.size;
  }

  private async add(tenantId: string, shard: number, hour: string, counts: Counts): Promise<void> {
    const entries = Object.entries(counts);
    const names = Object.fromEntries(entries.map(([k], i) => [`#c${i}`, k]));
    const values = Object.fromEntries(entries.map(([, v], i) => [`:c${i}`, v]));
    await this.db.doc.send(new UpdateCommand({
      TableName: this.db.table,
      Key: keys.metricCounter(tenantId, shard, hour),
      UpdateExpression: `ADD ${entries.map((_, i) => `#c${i} :c${i}`).join(', ')} SET expires_at = if_not_exists(expires_at, :x)`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: { ...values, ':x': expiresAt(Date.parse(`${hour}:00:00.000Z`), METRIC_RETENTION_DAYS) },
    }));
  }

  /** The tenant's counts by UTC hour bucket, for the hours from `fromHour` to `toHour` (inclusive). */
  async read(tenantId: string, fromHour: string, toHour: string): Promise<Map<string, Counts>> {
    const hours = new Map<string, Counts>();
    await Promise.all(Array.from({ length: METRIC_SHARDS }, async (_, shard) => {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.db.doc.send(new QueryCommand({
          TableName: this.db.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
          ExpressionAttributeValues: { ':pk': keys.metricCounterShard(tenantId, shard), ':lo': `H#${fromHour}`, ':hi': `H#${toHour}` },
          ExclusiveStartKey: start,
        }));
        for (const item of page.Items ?? []) {
          const hour = (item.sk as string).slice('H#'.length);
          const counts: Counts = {};
          for (const m of COUNTED_METRICS) if (typeof item[m] === 'number') counts[m] = item[m] as number;
          hours.set(hour, addCounts(hours.get(hour) ?? {}, counts));
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }));
    return hours;
  }
}

export interface AppliedEventCounter {
  /** Never throws. */
  count(events: readonly CountedEvent[]): Promise<void>;
}

/**
 * The counters as ingestion and the send use them: counting runs after the events are applied, so a
 * counter write that fails cannot be retried with them (a retry finds them applied): it is logged
 * with the events' ids and the events stay applied. Counts are exact unless such a failure was logged.
 */
export function createEventCounter(counters: Pick<MetricCounters, 'count'>, log: Logger): AppliedEventCounter {
  return {
    async count(events) {
      if (events.length === 0) return;
      try {
        await counters.count(events);
      } catch (error) {
        log.error('metric counters not updated', { error, eventIds: events.map((e) => e.eventId) });
      }
    },
  };
}
