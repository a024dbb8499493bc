/**
 * Local mode runs invocations concurrently in one process (lambdas/local/invocations.ts): each keeps
 * its own log context, so every line of an invocation carries its own request id, however the two
 * interleave. Real handlers (the API layer with Powertools' middleware), lines as Powertools writes them.
 */
import type { Context } from 'aws-lambda';
import type { Authenticator } from '../../lambdas/core/http/auth';
import { apiEvent } from '../support/api';
import { powertoolsLines } from '../support/logs';

// The level is read once, when the logger is built (as at a cold start): set before the modules load.
process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
const { logger } = require('../../lambdas/core/log') as typeof import('../../lambdas/core/log');
const { createApiHandler } = require('../../lambdas/core/http/api') as typeof import('../../lambdas/core/http/api');
const { concurrentInvocations, ownInvocation } = require('../../lambdas/local/invocations') as typeof import('../../lambdas/local/invocations');
const { localLambdaContext } = require('../../lambdas/local/api-server') as typeof import('../../lambdas/local/api-server');

afterAll(() => {
  delete process.env.AWS_LAMBDA_MAX_CONCURRENCY;
});

it('gives each of two concurrent local invocations its own request id on every line', async () => {
  // Prepare: a route that logs, waits until the other invocation has started and logged, then logs again.
  await concurrentInvocations();
  let arrived = 0;
  let bothArrived!: () => void;
  const together = new Promise<void>((r) => { bothArrived = r; });
  const authenticator = { authenticate: async () => ({ keyId: 'k', tenantId: 't', permission: 'full_access' }) } as unknown as Authenticator;
  const handler = ownInvocation(createApiHandler({
    'GET /emails': {
      permission: 'full_access',
      async handle(ctx) {
        const marker = ctx.request.headers['x-marker'];
        ctx.log.info('started', { marker });
        if (++arrived === 2) bothArrived();
        await together;
        ctx.log.info('finished', { marker });
        return { statusCode: 200, body: { marker } };
      },
    },
  }, authenticator, logger));
  const contexts = { one: localLambdaContext('send'), two: localLambdaContext('send') } as Record<string, Context>;

  // Act: both at once.
  const lines = await powertoolsLines(() => Promise.all(['one', 'two'].map((marker) => handler(apiEvent('GET', '/emails', { headers: { 'x-marker': marker } }), contexts[marker]!))));

  // Assess: every line of each invocation names its own request id, and the two ids differ.
  const marked = lines.filter((l) => l.marker !== undefined);
  expect(marked.map((l) => `${l.message}:${l.marker}`).sort()).toEqual(['finished:one', 'finished:two', 'started:one', 'started:two']);
  for (const line of marked) expect([line.marker, line.function_request_id]).toEqual([line.marker, contexts[line.marker as string]!.awsRequestId]);
  expect(contexts.one!.awsRequestId).not.toBe(contexts.two!.awsRequestId);
});

it('refuses a local invocation before per-invocation state is on', () => {
  jest.isolateModules(() => {
    const fresh = require('../../lambdas/local/invocations') as typeof import('../../lambdas/local/invocations');
    expect(() => fresh.ownInvocation((_event: unknown) => 1)(undefined)).toThrow(/concurrentInvocations/);
  });
});
