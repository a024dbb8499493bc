/**
 * `npx sesame`: tenants, API keys, parked messages and `doctor`, against a deployed stack or local mode.
 * Reads the handlers' configuration: SESAME_TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, and the region as
 * the AWS SDK resolves it (AWS_REGION, else the AWS_PROFILE's region).
 */
import { runCli } from '../lambdas/admin/cli';
import { adminDeps } from '../lambdas/admin/deps';
import { resolveRegion } from '../lambdas/admin/region';

async function main() {
  // The handlers' configuration reads AWS_REGION: give it the region the SDK resolved (profile included).
  if (!process.env.AWS_REGION) {
    const region = await resolveRegion();
    if (region) process.env.AWS_REGION = region;
  }
  return runCli(process.argv.slice(2), adminDeps);
}

main().then(
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
