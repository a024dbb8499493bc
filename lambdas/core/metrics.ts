/**
 * Business metrics in CloudWatch's Embedded Metric Format, through Powertools Metrics: one JSON line
 * on stdout per distinct set of dimensions, flushed at the end of each invocation, which CloudWatch
 * Logs turns into metrics (no PutMetricData call, no extra latency).
 *
 * Namespace: POWERTOOLS_METRICS_NAMESPACE (the stack sets `Sesame/<stack name>`, so two stacks keep
 * apart); default `Sesame`. Every metric has the `service` dimension (the function, from
 * POWERTOOLS_SERVICE_NAME). Per-tenant metrics: only for the tenants listed in SESAME_METRICS_TENANTS
 * (at most MAX_METRICS_TENANTS): each custom metric per tenant is billed, so the setting is what
 * bounds their number; every count also goes to the all-tenants metric. Off with
 * POWERTOOLS_METRICS_DISABLED=true (tests) and in Powertools' dev mode (local mode).
 */
import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { parseMetricsTenants } from './config';
import { attachLineMetrics } from './log';

/** Every business metric, with the dimension it is split by, if any. */
export const BUSINESS_METRICS = {
  /** Emails SES accepted (a replayed idempotent answer is not counted again). */
  EmailsAccepted: undefined,
  /** Emails refused with a 4xx, by Resend's error name (`validation_error`, `rate_limit_exceeded`, ...). */
  EmailsRefused: 'reason',
  /** SES events applied to an email, by SES type (Delivery, Bounce, ...). */
  SesEvents: 'type',
  /** Event-publishing events without Sesame's tags (mail sent through its configuration set outside Sesame), dropped. */
  SesEventsUntagged: 'type',
  /** Webhook attempts answered with a 2xx. */
  WebhooksDelivered: undefined,
  /** Webhook attempts that failed and will be tried again. */
  WebhooksRetried: undefined,
  /** Webhook deliveries given up (schedule spent, 410 Gone, endpoint disabled). */
  WebhooksFailed: undefined,
  /** Received emails stored for a tenant (one per tenant a message was for; a redelivery is not counted again). */
  EmailsReceived: undefined,
  /** Received mail not kept, by why: `no_receiving_domain` (per recipient), `virus` (per message). */
  InboundDropped: 'reason',
} as const satisfies Record<string, 'reason' | 'type' | undefined>;

export type MetricName = keyof typeof BUSINESS_METRICS;
type DimensionOf<N extends MetricName> = (typeof BUSINESS_METRICS)[N];

/** The port use cases count through; they know nothing of EMF. */
export interface BusinessMetrics {
  count<N extends MetricName>(
    name: N,
    options: (DimensionOf<N> extends string ? { readonly [K in DimensionOf<N>]: string } : object) & { readonly tenantId?: string; readonly value?: number },
  ): void;
}

export interface EmfMetricsOptions {
  readonly namespace?: string;
  readonly service?: string;
  /** Tenants whose counts also get a `tenant` dimension. */
  readonly tenants?: ReadonlySet<string>;
}

/** Counts in memory during an invocation; `flush()` writes them as EMF lines and starts over. */
export class EmfMetrics implements BusinessMetrics {
  private readonly emf: PowertoolsMetrics;
  private readonly tenants: ReadonlySet<string>;
  /** Counts by their dimensions (JSON of the sorted pairs), then by metric name. */
  private readonly groups = new Map<string, { dimensions: Record<string, string>; values: Map<string, number> }>();

  constructor(options: EmfMetricsOptions = {}) {
    this.emf = new PowertoolsMetrics({
      namespace: options.namespace ?? (process.env.POWERTOOLS_METRICS_NAMESPACE || 'Sesame'),
      serviceName: options.service ?? (process.env.POWERTOOLS_SERVICE_NAME || 'sesame'),
    });
    this.tenants = options.tenants ?? new Set();
  }

  count<N extends MetricName>(name: N, options: Parameters<BusinessMetrics['count']>[1]): void {
    const { tenantId, value = 1, ...rest } = options as { tenantId?: string; value?: number } & Record<string, string>;
    const key = BUSINESS_METRICS[name] as string | undefined;
    const dimensions: Record<string, string> = key !== undefined ? { [key]: String(rest[key] || 'unknown') } : {};
    this.add(name, dimensions, value);
    if (tenantId !== undefined && this.tenants.has(tenantId)) this.add(name, { ...dimensions, tenant: tenantId }, value);
  }

  /**
   * What was counted, as the EMF fields of one log line, and forgets it; undefined (kept for
   * `flush`) when metrics are off, nothing or more than one set of dimensions was counted, or a
   * field of the line has a name the EMF fields need with another value.
   */
  takeLineFields(line: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined {
    // Off (POWERTOOLS_METRICS_DISABLED, or Powertools' dev mode): the line carries nothing, as flush writes nothing.
    if (this.groups.size !== 1 || (this.emf as unknown as { isDisabled(): boolean }).isDisabled()) return undefined;
    const [key, { dimensions, values }] = [...this.groups.entries()][0]!;
    for (const [name, value] of Object.entries(dimensions)) this.emf.addDimension(name, value);
    for (const [name, value] of values) this.emf.addMetric(name, MetricUnit.Count, value);
    const emf = this.emf.serializeMetrics() as unknown as Record<string, unknown>;
    this.emf.clearMetrics();
    this.emf.clearDimensions();
    this.emf.clearMetadata();
    if (Object.keys(emf).some((k) => k in line && line[k] !== emf[k])) return undefined;
    this.groups.delete(key);
    return emf;
  }

  /** Writes what was counted (one line per set of dimensions) and forgets it. Writes nothing when nothing was counted. */
  flush(): void {
    const groups = [...this.groups.values()];
    this.groups.clear();
    for (const { dimensions, values } of groups) {
      for (const [name, value] of Object.entries(dimensions)) this.emf.addDimension(name, value);
      for (const [name, value] of values) this.emf.addMetric(name, MetricUnit.Count, value);
      this.emf.publishStoredMetrics();
    }
  }

  private add(name: string, dimensions: Record<string, string>, value: number): void {
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { dimensions, values: new Map() }));
    group.values.set(name, (group.values.get(name) ?? 0) + value);
  }
}

/** The process's metrics, configured from the environment at cold start. */
export const metrics = new EmfMetrics({ tenants: parseMetricsTenants(process.env.SESAME_METRICS_TENANTS) });
// An operation's INFO line carries what it counted: one line, not a log line and a metrics line.
attachLineMetrics((line) => metrics.takeLineFields(line));

/** The middy middleware that flushes `target` when the invocation ends, with a result or an error. */
export function publishMetrics(target: Pick<EmfMetrics, 'flush'> = metrics) {
  return {
    after: async () => target.flush(),
    onError: async () => target.flush(),
  };
}
