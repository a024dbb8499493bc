/**
 * Run by test/local/dynamo.test.ts as its own process: starts the local DynamoDB on the folder
 * given, puts the items named on the command line one by one, prints `acknowledged <n>` after
 * each acknowledged put, and then waits to be killed.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTable, startDynamo } from '../../lambdas/local/dynamodb';

async function main(): Promise<void> {
  const [dataDir, count] = process.argv.slice(2);
  const dynamo = await startDynamo({ port: 0, dataDir: dataDir! });
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: dynamo.endpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await ensureTable(client, 'crash');
  const doc = DynamoDBDocumentClient.from(client);
  for (let n = 1; n <= Number(count); n++) {
    await doc.send(new PutCommand({ TableName: 'crash', Item: { pk: `item-${n}`, sk: 'META', n } }));
    process.stdout.write(`acknowledged ${n}\n`);
  }
  setInterval(() => undefined, 60_000);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
