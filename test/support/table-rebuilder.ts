/**
 * Run by test/local/table-rebuild.test.ts as its own process: starts the local DynamoDB on
 * `<data folder>/dynamodb` as local mode does, runs ensureTable (which rebuilds an older table),
 * and at the first time it reaches the step named on the command line prints `paused at <step>`
 * and waits to be killed.
 */
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable, startDynamo, type RebuildStep } from '../../lambdas/local/dynamodb';

async function main(): Promise<void> {
  const [dataDir, pauseAt] = process.argv.slice(2) as [string, RebuildStep];
  const dynamo = await startDynamo({ port: 0, dataDir: join(dataDir, 'dynamodb') });
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureTable(client, 'sesame', {
    rebuildDir: join(dataDir, 'dynamodb-rebuild'),
    afterStep: async (step) => {
      if (step !== pauseAt) return;
      process.stdout.write(`paused at ${step}\n`);
      await new Promise(() => setInterval(() => undefined, 60_000));
    },
  });
  process.stdout.write('finished without pausing\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
