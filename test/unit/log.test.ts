/**
 * The handlers' log lines, as Powertools writes them to stdout: what Lambda's JSON log filtering
 * reads (`level`, `timestamp`) and what finds an invocation (`function_request_id`, `cold_start`), on
 * every line of every kind of function, ingest and deliver included. No AWS call is made.
 */
import middy from '@middy/core';
import type { Context, SNSEvent, SQSEvent } from 'aws-lambda';
import type { Authenticator } from '../../lambdas/core/http/auth';
import type { DeliverDeps } from '../../lambdas/deliver/core';
import type { IngestDeps } from '../../lambdas/ingest/core';
import { apiEvent } from '../support/api';
import type { BusinessMetrics } from '../../lambdas/core/metrics';
import { powertoolsLines } from '../support/logs';

// The level is read once, when the logger is built (as at a cold start): set before the modules load.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
const { lambdaContext, logger } = require('../../lambdas/core/log') as typeof import('../../lambdas/core/log');
const { publishMetrics } = require('../../lambdas/core/metrics') as typeof import('../../lambdas/core/metrics');
const { testMetrics } = require('../support/emf') as typeof import('../support/emf');
const { createApiHandler } = require('../../lambdas/core/http/api') as typeof import('../../lambdas/core/http/api');
const { createDeliverHandler } = require('../../lambdas/deliver/core') as typeof import('../../lambdas/deliver/core');
const { createIngestHandler } = require('../../lambdas/ingest/core') as typeof import('../../lambdas/ingest/core');

const context = (requestId: string): Context =>
  ({ awsRequestId: requestId, functionName: 'sesame-test', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sesame-test', memoryLimitInMB: '256', getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

const stdoutLines = powertoolsLines;

function expectInvocationKeys(lines: Record<string, unknown>[], requestId: string): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).toMatchObject({ function_request_id: requestId, service: expect.any(String), level: expect.stringMatching(/^[A-Z]+$/) });
    // Named on a cold start's lines only.
    expect(line.cold_start === undefined || line.cold_start === true).toBe(true);
    expect(new Date(line.timestamp as string).toISOString()).toBe(line.timestamp);
  }
}

describe('an operation\'s line and its metrics', () => {
  const { attachLineMetrics } = require('../../lambdas/core/log') as typeof import('../../lambdas/core/log');
  const root = (require('../../lambdas/core/metrics') as typeof import('../../lambdas/core/metrics')).metrics;
  afterEach(() => attachLineMetrics((line) => root.takeLineFields(line)));

  it('are one line: the INFO line carries what the invocation counted, in the embedded metric format', async () => {
    const m = testMetrics({ service: process.env.POWERTOOLS_SERVICE_NAME || 'sesame' });
    attachLineMetrics((line) => m.takeLineFields(line));
    const handler = middy(async () => {
      m.count('WebhooksDelivered', {});
      logger.info('webhook delivered', { deliveryId: 'd-1' });
    }).use(lambdaContext()).use(publishMetrics(m));
    const lines = await stdoutLines(() => handler({}, context('req-one')));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ message: 'webhook delivered', deliveryId: 'd-1', service: process.env.POWERTOOLS_SERVICE_NAME || 'sesame', WebhooksDelivered: 1, function_request_id: 'req-one' });
    expect((lines[0]!._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] }).CloudWatchMetrics).toEqual([
      { Namespace: 'SesameTest', Dimensions: [['service']], Metrics: [{ Name: 'WebhooksDelivered', Unit: 'Count' }] },
    ]);
  });

  it('stay apart when a field of the line would change a dimension, or when nothing is logged after the count', async () => {
    const m = testMetrics({ service: process.env.POWERTOOLS_SERVICE_NAME || 'sesame' });
    attachLineMetrics((line) => m.takeLineFields(line));
    const handler = middy(async () => {
      (m as BusinessMetrics).count('SesEvents', { type: 'Delivery' });
      logger.info('something else', { type: 'email.delivered' });
      m.count('WebhooksRetried', {});
    }).use(lambdaContext()).use(publishMetrics(m));
    const lines = await stdoutLines(() => handler({}, context('req-two')));
    expect(lines.map((l) => [l.message, l.type, l.SesEvents, l.WebhooksRetried])).toEqual([
      ['something else', 'email.delivered', undefined, undefined],
      [undefined, 'Delivery', 1, undefined],
      [undefined, undefined, undefined, 1],
    ]);
  });
});

describe('log lines', () => {
  it('say nothing the log group already tells or that never varies (CloudWatch bills each byte)', async () => {
    const handler = middy(async () => logger.info('done', { emailId: 'e-1' })).use(lambdaContext());
    const [line, ...rest] = await stdoutLines(() => handler({}, context('req-lean')));
    expect(rest).toEqual([]);
    expect(Object.keys(line!).sort()).toEqual(['emailId', 'function_request_id', 'level', 'message', 'service', 'timestamp']);
  });

  it('carry the request id and cold start in the ingest function', async () => {
    const deps = { topicArn: 'arn:aws:sns:us-east-1:123456789012:sesame-events', log: logger } as unknown as IngestDeps;
    const handler = middy(createIngestHandler(deps)).use(lambdaContext());
    const event = { Records: [{ Sns: { Type: 'Notification', MessageId: 'm-1', TopicArn: 'arn:aws:sns:us-east-1:123456789012:other', Message: '{}' } }] } as unknown as SNSEvent;
    const lines = await stdoutLines(() => handler(event, context('req-ingest')));
    expectInvocationKeys(lines, 'req-ingest');
    expect(lines).toContainEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringContaining('not from the configured topic'), snsMessageId: 'm-1' }));
  });

  it('carry the request id in the deliver function, and an error as its name and message', async () => {
    const deps = { log: logger } as unknown as DeliverDeps;
    const handler = middy(createDeliverHandler(deps)).use(lambdaContext());
    const event = { Records: [{ messageId: 'sqs-1', body: 'not json', attributes: {} }] } as unknown as SQSEvent;
    const lines = await stdoutLines(() => handler(event, context('req-deliver')));
    expectInvocationKeys(lines, 'req-deliver');
    expect(lines).toContainEqual(expect.objectContaining({ message: 'unreadable webhook delivery message', messageId: 'sqs-1', error: expect.objectContaining({ name: expect.any(String), message: expect.any(String) }) }));
  });

  it('carry the request id in an API function, and one invocation\'s id never leaks into the next', async () => {
    const authenticator: Authenticator = { authenticate: async () => ({ keyId: 'k', tenantId: 't', permission: 'full_access' }) } as unknown as Authenticator;
    const handler = createApiHandler({ 'GET /emails': { permission: 'full_access', handle: async () => { throw new Error('boom'); } } }, authenticator, logger);
    const first = await stdoutLines(() => handler(apiEvent('GET', '/emails'), context('req-api-1')));
    const second = await stdoutLines(() => handler(apiEvent('GET', '/emails'), context('req-api-2')));
    expectInvocationKeys(first, 'req-api-1');
    expectInvocationKeys(second, 'req-api-2');
    expect(second.every((l) => l.cold_start === undefined)).toBe(true);
  });
});
