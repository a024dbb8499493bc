/**
 * `npx sesame`: tenants, API keys, parked messages and `doctor`, against a deployed stack or local mode.
 * Reads the handlers' configuration: SESAME_TABLE_NAME, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB.
 */
import { runCli } from '../lambdas/admin/cli';
import { adminDeps } from '../lambdas/admin/deps';

runCli(process.argv.slice(2), adminDeps).then(
  ({ code, stdout, stderr }) => {
    if (stdout) process.stdout.write(stdout + '\n');
    if (stderr) process.stderr.write(stderr + '\n');
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`sesame: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
