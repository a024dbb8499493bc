/**
 * A request that died mid-way keeps its Idempotency-Key blocked for SESAME_IDEMPOTENCY_LOCK_SECONDS
 * (default 60): a retry meanwhile is told to wait, a retry after it runs the request again.
 */
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { IdempotencyStore, IN_FLIGHT_LOCK_SECONDS } from '../../lambdas/core/adapters/idempotency';
import { readSendConfig } from '../../lambdas/core/config';
import { startTestDynamo, type TestDynamo } from '../support/services';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

const env = {
  SESAME_TABLE_NAME: 't', AWS_REGION: 'us-east-1', SESAME_CONFIGURATION_SET: 'sesame',
  SESAME_WEBHOOK_QUEUE_URL: 'http://127.0.0.1/000000000000/w', SESAME_SCHEDULE_GROUP: 'g',
  SESAME_DISPATCH_QUEUE_ARN: 'arn:aws:sqs:us-east-1:000000000000:d', SESAME_SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/r',
  SESAME_CONTENT_BUCKET: 'content', SESAME_STACK_NAME: 'sesame',
};

it('reads the lock from SESAME_IDEMPOTENCY_LOCK_SECONDS, 60 s when unset, and refuses 0', () => {
  expect(readSendConfig(env).idempotencyLockSeconds).toBe(IN_FLIGHT_LOCK_SECONDS);
  expect(readSendConfig({ ...env, SESAME_IDEMPOTENCY_LOCK_SECONDS: '5' }).idempotencyLockSeconds).toBe(5);
  expect(() => readSendConfig({ ...env, SESAME_IDEMPOTENCY_LOCK_SECONDS: '0' })).toThrow(/SESAME_IDEMPOTENCY_LOCK_SECONDS/);
});

it('lets a retry take over an abandoned claim once the configured lock has passed', async () => {
  // Prepare: a claim whose request died (never completed nor released).
  let now = Date.parse('2024-05-01T12:00:00Z');
  const db = createDb(dynamo.doc, await dynamo.freshTable(), () => now);
  const store = new IdempotencyStore(db, { lockSeconds: 5 });
  expect(await store.begin('tenant', 'key-1', 'fp')).toEqual({ outcome: 'started' });

  // Act
  now += 4_000;
  const early = await store.begin('tenant', 'key-1', 'fp');
  now += 2_000;
  const late = await store.begin('tenant', 'key-1', 'fp');

  // Assess
  expect(early).toEqual({ outcome: 'in_flight' });
  expect(late).toEqual({ outcome: 'started' });
});
