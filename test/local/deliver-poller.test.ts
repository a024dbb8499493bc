/**
 * The local stand-in of an SQS event source mapping (lambdas/local/deliver-poller.ts), on the local
 * SQS: it invokes the function it feeds with that function's own Lambda context.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { startDeliverPoller } from '../../lambdas/local/deliver-poller';
import { silentLogger } from '../../lambdas/core/log';
import { startTestSqs, type TestSqs } from '../support/services';

let sqs: TestSqs;
beforeAll(async () => {
  sqs = await startTestSqs();
});
afterAll(() => sqs.close());

it('invokes the function it feeds under that function\'s name (the dispatch function, not deliver)', async () => {
  const { url } = await sqs.freshQueue();
  const invoked: { context: Context; event: SQSEvent }[] = [];
  const poller = startDeliverPoller({
    sqs: sqs.client, queueUrl: url, name: 'dispatch', waitSeconds: 1, log: silentLogger,
    handler: async (event, context) => {
      invoked.push({ event, context });
      return { batchItemFailures: [] };
    },
  });
  try {
    await sqs.client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"v":1}' }));
    for (let i = 0; i < 100 && invoked.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await poller.stop();
  }
  expect(invoked.map((i) => [i.context.functionName, i.event.Records.map((r) => r.body)])).toEqual([['sesame-dispatch', ['{"v":1}']]]);
});
