import { Template } from 'aws-cdk-lib/assertions';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { DeadLetterQueue } from '../../lib/dead-letter-queue';
import { SesameDashboard } from '../../lib/sesame-dashboard';
import { SesameFunction } from '../../lib/sesame-function';
import { minimalStack } from './helpers';

describe('SesameDashboard', () => {
  const stack = minimalStack();
  const api = new HttpApi(stack, 'Api');
  const send = new SesameFunction(stack, 'Send', { entryDir: 'send' });
  const deliver = new SesameFunction(stack, 'Deliver', { entryDir: 'deliver' });
  const dlq = new DeadLetterQueue(stack, 'Dlq', { purpose: 'parked things' });
  new SesameDashboard(stack, 'Dashboard', {
    api, functions: { send: send.fn, deliver: deliver.fn }, deadLetterQueues: [dlq], metricsNamespace: 'Sesame/Test',
  });
  const template = Template.fromStack(stack);
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  /** The dashboard's widgets, its CloudFormation references rendered as `REF`. */
  const widgets = (): { properties: { title?: string; metrics?: unknown[] } }[] => {
    const text = (dashboard!.Properties.DashboardBody['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'REF')).join('');
    return JSON.parse(text).widgets;
  };
  const metricsOf = (title: string) => JSON.stringify(widgets().find((w) => w.properties.title === title)?.properties.metrics);

  it('is named after the stack', () => {
    expect(dashboard!.Properties.DashboardName).toBe('Test');
  });

  it('shows the API\'s 4xx, 5xx and latency', () => {
    expect(metricsOf('API 4xx and 5xx')).toMatch(/"AWS\/ApiGateway","4xx".*"AWS\/ApiGateway","5xx"/);
    expect(metricsOf('API latency (ms)')).toMatch(/"AWS\/ApiGateway","Latency".*"stat":"p99"/);
  });

  it('shows every function\'s errors, throttles and p99 duration', () => {
    for (const [title, metric] of [['Lambda errors', 'Errors'], ['Lambda throttles', 'Throttles'], ['Lambda duration p99 (ms)', 'Duration']] as const) {
      expect(metricsOf(title).match(new RegExp(`"AWS/Lambda","${metric}"`, 'g'))).toHaveLength(2);
    }
  });

  it('shows SES reputation and every dead-letter queue\'s depth', () => {
    expect(metricsOf('SES reputation (account)')).toMatch(/"AWS\/SES","Reputation.BounceRate".*"AWS\/SES","Reputation.ComplaintRate"/);
    expect(metricsOf('Dead-letter queue depths')).toMatch(/"AWS\/SQS","ApproximateNumberOfMessagesVisible"/);
  });

  it('shows the business metrics in the stack\'s namespace, and the webhook success rate', () => {
    expect(metricsOf('Emails accepted and refused')).toContain('"Sesame/Test","EmailsAccepted","service","send"');
    expect(metricsOf('Emails accepted and refused')).toMatch(/SEARCH\(.*Sesame\/Test.*service,reason.*EmailsRefused/);
    expect(metricsOf('SES events by type')).toMatch(/SEARCH\(.*Sesame\/Test.*service,type.*SesEvents/);
    expect(metricsOf('Webhooks')).toMatch(/"WebhooksDelivered".*"WebhooksRetried".*"WebhooksFailed"/);
    expect(metricsOf('Webhook success rate (%)')).toContain('100 * FILL(delivered, 0) / (FILL(delivered, 0) + FILL(retried, 0) + FILL(failed, 0))');
  });

  it('has no inbound row when receiving is off', () => {
    expect(widgets().filter((w) => /inbound|received/i.test(w.properties.title ?? ''))).toEqual([]);
  });
});

describe('SesameDashboard, receiving on', () => {
  const stack = minimalStack();
  const inbound = new SesameFunction(stack, 'Inbound', { entryDir: 'inbound' });
  const dlq = new DeadLetterQueue(stack, 'InboundDlq', { purpose: 'receipt events' });
  new SesameDashboard(stack, 'Dashboard', {
    api: new HttpApi(stack, 'Api'), functions: {}, deadLetterQueues: [], metricsNamespace: 'Sesame/Test', inbound: { fn: inbound.fn, deadLetterQueue: dlq },
  });
  const [dashboard] = Object.values(Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard'));
  const body = (dashboard!.Properties.DashboardBody['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'REF')).join('');
  const metricsOf = (title: string) => JSON.stringify((JSON.parse(body).widgets as { properties: { title?: string; metrics?: unknown[] } }[]).find((w) => w.properties.title === title)?.properties.metrics);

  it('shows the inbound function\'s invocations, errors and duration, emails received and dropped, and its DLQ depth', () => {
    expect(metricsOf('Inbound invocations and errors')).toMatch(/"AWS\/Lambda","Invocations".*"AWS\/Lambda","Errors"/);
    expect(metricsOf('Inbound duration (ms)')).toMatch(/"AWS\/Lambda","Duration".*"stat":"p99"/);
    expect(metricsOf('Emails received and dropped')).toContain('"Sesame/Test","EmailsReceived","service","inbound"');
    expect(metricsOf('Emails received and dropped')).toMatch(/SEARCH\(.*Sesame\/Test.*service,reason.*InboundDropped/);
    expect(metricsOf('Inbound DLQ depth')).toMatch(/"AWS\/SQS","ApproximateNumberOfMessagesVisible"/);
  });
});
