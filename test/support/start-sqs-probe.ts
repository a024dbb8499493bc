/**
 * Run by test/local/sqs.test.ts under tsx (as the local runner runs): startSqs() must load the
 * ESM-only fauxqs from CommonJS and serve SQS on 127.0.0.1. Prints one JSON line.
 */
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ensureQueue, startSqs } from '../../lambdas/local/sqs';

async function main(): Promise<void> {
  const sqs = await startSqs({ port: 0 });
  // No endpoint in code: the SDK takes it from AWS_ENDPOINT_URL_SQS, as the handlers' clients do.
  process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
  const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const url = await ensureQueue(client, 'probe');
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'hello' }));
    const { Messages } = await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    process.stdout.write(JSON.stringify({ endpoint: sqs.endpoint, url, bodies: (Messages ?? []).map((m) => m.Body) }) + '\n');
  } finally {
    client.destroy();
    await sqs.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
