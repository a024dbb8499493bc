/** The deliver function's business metrics, as EMF lines on stdout: delivered, retried, failed. */
import middy from '@middy/core';
import type { Context, SQSRecord } from 'aws-lambda';
import type { WebhookPoster } from '../../lambdas/core/adapters/http-delivery';
import { silentLogger } from '../../lambdas/core/log';
import { publishMetrics } from '../../lambdas/core/metrics';
import { createDeliverHandler, type VisibilityControl } from '../../lambdas/deliver/core';
import { emfLines, metricValue, testMetrics } from '../support/emf';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { deliveryMessage, sqsRecord, stores, type Stores } from './helpers';

let dynamo: TestDynamo;
let s: Stores;
beforeAll(async () => {
  dynamo = await startTestDynamo();
  s = await stores(dynamo);
});
afterAll(() => dynamo.close());

const visibility: VisibilityControl = { delay: async (_record: SQSRecord, _seconds: number) => undefined };
/** Endpoints answer by their last path segment; what is counted is under test here, not HTTP (see http-delivery.test.ts). */
const poster: WebhookPoster = {
  post: async ({ url }) => ({ statusCode: Number(new URL(url).pathname.split('/').pop()), durationMs: 1, response: '' }),
};

it('counts a delivered, a retried and a failed webhook in one batch as one line', async () => {
  // Prepare: endpoints answering 200, 500 (first attempt: retried) and 410 (failed).
  const metrics = testMetrics();
  const handler = middy(createDeliverHandler({
    webhooks: s.webhooks, deliveries: s.deliveries, poster, visibility, retrySchedule: [0, 5], log: silentLogger, metrics, random: () => 0.5,
  })).use(publishMetrics(metrics));
  const endpoints = await Promise.all([200, 500, 410].map((code) => s.webhooks.create('t1', { endpoint: `https://hooks.example.com/${code}`, events: ['email.delivered'] })));
  const records = endpoints.map(({ webhook }) => sqsRecord(deliveryMessage({ webhook_id: webhook.id, tenant_id: 't1' })));

  // Act
  const lines = await emfLines(() => handler({ Records: records }, { awsRequestId: 'r' } as Context));

  // Assess
  expect(lines).toHaveLength(1);
  expect(metricValue(lines, 'WebhooksDelivered', { service: 'test' })).toBe(1);
  expect(metricValue(lines, 'WebhooksRetried', { service: 'test' })).toBe(1);
  expect(metricValue(lines, 'WebhooksFailed', { service: 'test' })).toBe(1);
});
