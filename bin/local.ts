/**
 * `npm start`: Sesame on this machine, no AWS account. Reads its configuration once, starts the
 * local stack, prints where everything is, and stops cleanly on SIGINT or SIGTERM.
 */
import { isAbsolute, resolve } from 'node:path';
import { intEnv, LOCAL_STACK_NAME, optionalEnv } from '../lambdas/core/config';
import { LOCAL_CONTENT_BUCKET } from '../lambdas/core/content';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Logs for a person at a terminal: Powertools' development mode indents each line (and turns its
// metric lines off). POWERTOOLS_DEV=false gives the one-line JSON that AWS gets.
process.env.POWERTOOLS_DEV ??= 'true';

/** Local mode's default webhook retry schedule (seconds before each attempt). */
const LOCAL_RETRY_SCHEDULE = '0,5,15,30,60,120,300,300';

const projectRoot = resolve(__dirname, '..');
const dataDir = optionalEnv('SESAME_DATA_DIR', '.sesame');

async function main(): Promise<void> {
  // Imported only now, so that the logger is built with the environment above.
  const { startLocal } = await import('../lambdas/local/runner');
  const stack = await startLocal({
    port: intEnv('PORT', 3000),
    dynamoPort: intEnv('SESAME_DYNAMODB_PORT', 8000),
    sesPort: intEnv('SESAME_SES_PORT', 8005),
    sqsPort: intEnv('SESAME_SQS_PORT', 9324),
    schedulerPort: intEnv('SESAME_SCHEDULER_PORT', 8006),
    ...(process.env.SESAME_LOCAL_SCHEDULER_MINUTE_MS ? { schedulerMinuteMs: intEnv('SESAME_LOCAL_SCHEDULER_MINUTE_MS', 60_000, process.env, 1) } : {}),
    s3Port: intEnv('SESAME_S3_PORT', 4569),
    smtpPort: intEnv('SESAME_SMTP_PORT', 2525),
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(projectRoot, dataDir),
    ...(process.env.SESAME_API_KEY ? { apiKey: process.env.SESAME_API_KEY } : {}),
    domain: optionalEnv('SESAME_DOMAIN', 'example.com').toLowerCase(),
    region: optionalEnv('AWS_REGION', 'us-east-1'),
    tableName: optionalEnv('SESAME_TABLE_NAME', 'sesame'),
    stackName: optionalEnv('SESAME_STACK_NAME', LOCAL_STACK_NAME),
    topicArn: optionalEnv('SESAME_EVENTS_TOPIC_ARN', 'arn:aws:sns:us-east-1:000000000000:sesame-events'),
    retentionDays: intEnv('SESAME_RETENTION_DAYS', 30, process.env, 1),
    allowLoopbackWebhooks: optionalEnv('SESAME_ALLOW_LOOPBACK_WEBHOOKS', '1') === '1',
    // Svix's schedule in minutes instead of hours, so that a developer sees retries happen.
    retrySchedule: optionalEnv('SESAME_WEBHOOK_RETRY_SCHEDULE', LOCAL_RETRY_SCHEDULE),
    // A new domain's records are "published" after 10 s, and pending domains are checked every few
    // seconds: automatic verification and domain.updated show within a quarter of a minute.
    verifyDelaySeconds: intEnv('SESAME_LOCAL_VERIFY_DELAY_SECONDS', 10),
    domainCheckBaseSeconds: intEnv('SESAME_DOMAIN_CHECK_BASE_SECONDS', 5, process.env, 1),
  });

  const out = (line = '') => process.stdout.write(line + '\n');
  out('Sesame is running locally (no AWS account involved).');
  out(`  API          ${stack.apiUrl}`);
  out(`  Console      ${stack.apiUrl}/`);
  out(`  Mailbox      ${stack.mailboxUrl}`);
  out(`  DynamoDB     ${stack.dynamoEndpoint}`);
  out(`  SQS          ${stack.sqsEndpoint}`);
  out(`  S3           ${stack.s3Endpoint} (bucket ${LOCAL_CONTENT_BUCKET}: attachments)`);
  out(`  SMTP         ${stack.smtpEndpoint} (receives mail for domains with receiving on)`);
  out(`  API key      ${stack.apiKey}`);
  out(`  Domain       ${stack.domain} (verified)`);
  out();
  out('Admin tool environment (prefix it to `npx sesame ...` in another shell):');
  out(stack.adminEnv);
  out();
  out('Send a first email:');
  out(`  curl -s ${stack.apiUrl}/emails -H 'Authorization: Bearer ${stack.apiKey}' -H 'Content-Type: application/json' \\`);
  out(`    -d '{"from":"Sesame <hello@${stack.domain}>","to":"delivered@resend.dev","subject":"Hello","text":"It works."}'`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    out(`\n${signal}: stopping Sesame.`);
    stack.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`sesame: could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
