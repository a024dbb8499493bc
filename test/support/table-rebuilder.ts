/**
 * Run by test/local/table-rebuild.test.ts as its own process, on a data folder, to be killed at a
 * given moment: it prints `paused at <step>` there and waits.
 *
 * - `<dir> <step>` starts the local DynamoDB on `<dir>/dynamodb` as local mode does and runs
 *   ensureTable (which rebuilds an older table), pausing the first time it reaches the step;
 * - `<dir> creating` creates the table on a dynalite whose creations take a minute, and pauses while
 *   the table is CREATING (what a kill between dynalite's two writes of a creation leaves).
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createTableInput, ensureTable, startDynamo, type RebuildStep } from '../../lambdas/local/dynamodb';

const clientFor = (endpoint: string) => new DynamoDBClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const pause = (step: string) => {
  process.stdout.write(`paused at ${step}\n`);
  return new Promise<never>(() => setInterval(() => undefined, 60_000));
};

async function main(): Promise<void> {
  const [dataDir, pauseAt] = process.argv.slice(2) as [string, RebuildStep | 'creating'];
  if (pauseAt === 'creating') {
    const slow = dynalite({ path: join(dataDir, 'dynamodb'), createTableMs: 60_000 });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    await clientFor(`http://127.0.0.1:${(slow.address() as AddressInfo).port}`).send(new CreateTableCommand(createTableInput('sesame')));
    await pause('creating');
  }
  const dynamo = await startDynamo({ port: 0, dataDir: join(dataDir, 'dynamodb') });
  await ensureTable(clientFor(dynamo.endpoint), 'sesame', {
    rebuildDir: join(dataDir, 'dynamodb-rebuild'),
    afterStep: async (step) => {
      if (step === pauseAt) await pause(step);
    },
  });
  process.stdout.write('finished without pausing\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
