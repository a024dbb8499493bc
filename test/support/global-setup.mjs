/**
 * Jest globalSetup: an environment that can never reach AWS, and one fauxqs on 127.0.0.1 for the
 * whole run, used as the SNS stand-in (the doctor's subscription checks). Workers are started after
 * this and inherit process.env. SQS, DynamoDB and SES are started by each test file itself
 * (test/support/services.ts).
 *
 * Why here: fauxqs is ESM-only, and jest (CommonJS, no --experimental-vm-modules) cannot
 * dynamic-import ESM inside a test file. This file is native ESM, so it imports fauxqs directly,
 * and listens on 127.0.0.1 itself (startFauxqs binds 0.0.0.0).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const appUrl = import.meta.resolve('fauxqs');

export default async function globalSetup() {
  process.env.AWS_REGION ||= 'us-east-1';
  // Fake credentials, always: a developer's real ones must never sign a test's request.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  delete process.env.AWS_SESSION_TOKEN;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  // Every AWS request a function or the admin tool makes is recorded here (lambdas/core/aws-calls.ts),
  // by the workers and by the local modes they start; globalTeardown evaluates them (test/iam).
  process.env.SESAME_AWS_CALL_LOG_DIR = mkdtempSync(join(tmpdir(), 'sesame-aws-calls-'));
  // Quiet handlers: no log lines and no metric lines unless asked for (POWERTOOLS_LOG_LEVEL=DEBUG npx jest ...).
  // Tests that assert logs pass their own logger; those that assert metrics build theirs.
  process.env.POWERTOOLS_LOG_LEVEL ||= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ||= 'true';

  const { buildApp } = await import(appUrl);
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  globalThis.__SESAME_TEST_FAUXQS__ = app;
  process.env.SESAME_TEST_SNS_ENDPOINT = `http://127.0.0.1:${app.server.address().port}`;
}
