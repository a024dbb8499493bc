import { Duration, Stack } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { DeadLetterQueue } from './dead-letter-queue';

export interface SesameDashboardProps {
  /** The HTTP API: 4xx, 5xx, latency. */
  readonly api: IHttpApi;
  /** Every function, by the name shown on the dashboard: errors, throttles, duration. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** Every dead-letter queue: its depth. */
  readonly deadLetterQueues: readonly DeadLetterQueue[];
  /** The namespace of the business metrics the functions write (POWERTOOLS_METRICS_NAMESPACE). */
  readonly metricsNamespace: string;
  /** The `service` dimension of each kind of business metric: the function folder that writes it. */
  readonly services?: { readonly send: string; readonly deliver: string };
  /** Name of the dashboard. @default - the stack name, so two stacks in one account keep apart */
  readonly dashboardName?: string;
  /** Period of every graph. @default 5 minutes */
  readonly period?: Duration;
  /**
   * SES receiving, when on: the inbound function (invocations, errors, duration), the emails it
   * stored and the recipients it dropped (service `inbound`), and its on-failure queue's depth.
   */
  readonly inbound?: { readonly fn: IFunction; readonly deadLetterQueue: DeadLetterQueue; readonly service?: string };
}

/**
 * One CloudWatch dashboard for an operator: the API (4xx, 5xx, latency), every function (errors,
 * throttles, duration), SES reputation, dead-letter queue depths, the webhook success rate, and
 * Sesame's business metrics (emails accepted and refused, SES events, webhooks). Metrics split by a
 * dimension whose values are open (refusal reason, SES event type, the function that ingested) are
 * graphed with SEARCH expressions, so a new value appears without a deploy. With receiving on, a
 * row for inbound email: the inbound function, emails received and dropped, its DLQ's depth.
 */
export class SesameDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: SesameDashboardProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(5);
    const services = props.services ?? { send: 'send', deliver: 'deliver' };
    const business = (metricName: string, service: string, label = metricName) =>
      new Metric({ namespace: props.metricsNamespace, metricName, dimensionsMap: { service }, statistic: 'Sum', period, label });
    const search = (metricName: string, dimension: string, label: string) =>
      new MathExpression({
        expression: `SEARCH('{"${props.metricsNamespace}",service,${dimension}} MetricName="${metricName}"', 'Sum', ${period.toSeconds()})`,
        label,
        period,
      });

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? Stack.of(this).stackName,
      defaultInterval: Duration.hours(6),
    });
    const functions = Object.entries(props.functions);
    const labelled = (name: string, metric: Metric) => metric.with({ label: name });

    this.dashboard.addWidgets(
      new TextWidget({ markdown: '## API', width: 24, height: 1 }),
      new GraphWidget({ title: 'API 4xx and 5xx', left: [props.api.metricClientError({ period, label: '4xx' }), props.api.metricServerError({ period, label: '5xx' })], width: 8 }),
      new GraphWidget({
        title: 'API latency (ms)',
        left: [props.api.metricLatency({ period, statistic: 'p50', label: 'p50' }), props.api.metricLatency({ period, statistic: 'p99', label: 'p99' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Emails accepted and refused',
        left: [business('EmailsAccepted', services.send, 'accepted'), search('EmailsRefused', 'reason', 'refused')],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new TextWidget({ markdown: '## Functions', width: 24, height: 1 }),
      new GraphWidget({ title: 'Lambda errors', left: functions.map(([name, fn]) => labelled(name, fn.metricErrors({ period }))), width: 8 }),
      new GraphWidget({ title: 'Lambda throttles', left: functions.map(([name, fn]) => labelled(name, fn.metricThrottles({ period }))), width: 8 }),
      new GraphWidget({ title: 'Lambda duration p99 (ms)', left: functions.map(([name, fn]) => labelled(name, fn.metricDuration({ period, statistic: 'p99' }))), width: 8 }),
    );
    const delivered = business('WebhooksDelivered', services.deliver, 'delivered');
    const retried = business('WebhooksRetried', services.deliver, 'retried');
    const failed = business('WebhooksFailed', services.deliver, 'failed');
    this.dashboard.addWidgets(
      new TextWidget({ markdown: '## SES and webhooks', width: 24, height: 1 }),
      new GraphWidget({ title: 'SES events by type', left: [search('SesEvents', 'type', 'events'), search('SesEventsUntagged', 'type', 'untagged (dropped)')], width: 6 }),
      new GraphWidget({
        title: 'SES reputation (account)',
        left: ['Reputation.BounceRate', 'Reputation.ComplaintRate'].map((metricName) =>
          new Metric({ namespace: 'AWS/SES', metricName, statistic: 'Maximum', period: Duration.hours(1), label: metricName })),
        width: 6,
      }),
      new GraphWidget({ title: 'Webhooks', left: [delivered, retried, failed], width: 6 }),
      new SingleValueWidget({
        title: 'Webhook success rate (%)',
        metrics: [new MathExpression({
          expression: '100 * FILL(delivered, 0) / (FILL(delivered, 0) + FILL(retried, 0) + FILL(failed, 0))',
          usingMetrics: { delivered, retried, failed },
          label: 'delivered / attempts',
          period,
        })],
        width: 6,
      }),
    );
    if (props.inbound) this.addInbound(props.inbound, period, business, search);
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Dead-letter queue depths',
        left: props.deadLetterQueues.map((dlq) =>
          dlq.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: dlq.purpose.slice(0, 60) })),
        width: 24,
      }),
    );
  }

  private addInbound(
    inbound: NonNullable<SesameDashboardProps['inbound']>,
    period: Duration,
    business: (metricName: string, service: string, label?: string) => Metric,
    search: (metricName: string, dimension: string, label: string) => MathExpression,
  ): void {
    const { fn, deadLetterQueue } = inbound;
    const service = inbound.service ?? 'inbound';
    this.dashboard.addWidgets(
      new TextWidget({ markdown: '## Inbound email', width: 24, height: 1 }),
      new GraphWidget({
        title: 'Inbound invocations and errors',
        left: [fn.metricInvocations({ period, label: 'invocations' }), fn.metricErrors({ period, label: 'errors' })],
        width: 6,
      }),
      new GraphWidget({
        title: 'Inbound duration (ms)',
        left: [fn.metricDuration({ period, statistic: 'p50', label: 'p50' }), fn.metricDuration({ period, statistic: 'p99', label: 'p99' })],
        width: 6,
      }),
      new GraphWidget({
        title: 'Emails received and dropped',
        left: [business('EmailsReceived', service, 'received'), search('InboundDropped', 'reason', 'dropped')],
        width: 6,
      }),
      new GraphWidget({
        title: 'Inbound DLQ depth',
        left: [deadLetterQueue.queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum', label: 'parked receipt events' })],
        width: 6,
      }),
    );
  }
}
