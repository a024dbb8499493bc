/**
 * Jest globalSetup: one fauxqs (SQS) on 127.0.0.1 for the whole run, and an environment that can
 * never reach AWS. Workers are started after this and inherit process.env.
 *
 * Why here: fauxqs is ESM-only, and jest (CommonJS, no --experimental-vm-modules) cannot
 * dynamic-import ESM inside a test file. This file is native ESM, so it imports fauxqs directly.
 * It repeats what lambdas/local/sqs.ts startSqs() does (an .mjs file cannot import a .ts module):
 * build the app around a queue store whose host is empty, so queue URLs are
 * http://127.0.0.1:<port>/000000000000/<name> rather than fauxqs's unresolvable
 * http://sqs.<region>.localhost:<port>/..., and listen on 127.0.0.1 (startFauxqs binds 0.0.0.0).
 */
const appUrl = import.meta.resolve('fauxqs');

export default async function globalSetup() {
  process.env.AWS_REGION ||= 'us-east-1';
  // Fake credentials, always: a developer's real ones must never sign a test's request.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  delete process.env.AWS_SESSION_TOKEN;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

  const { buildApp } = await import(appUrl);
  // The package exports only ".", so the store is reached by its file URL beside dist/app.js.
  const { SqsStore } = await import(new URL('./sqs/sqsStore.js', appUrl).href);
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  const app = buildApp({ logger: false, stores: { sqsStore } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  globalThis.__SESAME_TEST_FAUXQS__ = app;
  process.env.SESAME_TEST_SQS_ENDPOINT = `http://127.0.0.1:${app.server.address().port}`;
}
