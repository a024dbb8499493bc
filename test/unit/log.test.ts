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
import { powertoolsLines } from '../support/logs';

// The level is read once, when the logger is built (as at a cold start): set before the modules load.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
const { lambdaContext, logger } = require('../../lambdas/core/log') as typeof import('../../lambdas/core/log');
const { createApiHandler } = require('../../lambdas/core/http/api') as typeof import('../../lambdas/core/http/api');
const { createDeliverHandler } = require('../../lambdas/deliver/core') as typeof import('../../lambdas/deliver/core');
const { createIngestHandler } = require('../../lambdas/ingest/core') as typeof import('../../lambdas/ingest/core');

const context = (requestId: string): Context =>
  ({ awsRequestId: requestId, functionName: 'sesame-test', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sesame-test', memoryLimitInMB: '256', getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

const stdoutLines = powertoolsLines;

function expectInvocationKeys(lines: Record<string, unknown>[], requestId: string): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect(line).toMatchObject({ function_request_id: requestId, cold_start: expect.any(Boolean), service: expect.any(String), level: expect.stringMatching(/^[A-Z]+$/) });
    expect(new Date(line.timestamp as string).toISOString()).toBe(line.timestamp);
  }
}

describe('log lines', () => {
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
    expect(second.every((l) => l.cold_start === false)).toBe(true);
  });
});
