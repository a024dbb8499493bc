/**
 * Cold start: a fresh `node` process loads and initialises a bundle (requires it: the handler module
 * reads its configuration and builds its clients at module scope, as at a Lambda INIT), timed inside
 * that process from just before `require` to just after, so that Node's own start-up, the same for
 * every bundle, does not dilute the comparison. Bundles are run in alternation, round after round.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUT_DIR } from './bundles';

/** What the deployed functions would have in their environment; nothing here is contacted. */
export const FAKE_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'ASIABENCHEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_SESSION_TOKEN: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'sesame-bench',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  SESAME_TABLE_NAME: 'sesame',
  SESAME_STACK_NAME: 'sesame',
  SESAME_CONFIGURATION_SET: 'sesame',
  SESAME_CONTENT_BUCKET: 'sesame-content-bench',
  SESAME_WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/sesame-webhooks',
  SESAME_SCHEDULE_GROUP: 'sesame-scheduled',
  SESAME_DISPATCH_QUEUE_ARN: 'arn:aws:sqs:us-east-1:123456789012:sesame-dispatch',
  SESAME_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/sesame-scheduler',
  SESAME_EVENTS_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:sesame-events',
  SESAME_SECRETS_KEY_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sesame-signing-key-AbCdEf',
  SESAME_RETENTION_DAYS: '30',
  SESAME_WEBHOOK_RETRY_SCHEDULE: '0,5,300,1800,7200,18000,36000,36000',
};

const HARNESS = `
const { performance } = require('node:perf_hooks');
const c0 = process.cpuUsage();
const t0 = performance.now();
const mod = require(process.argv[2]);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(c0);
if (typeof mod.handler !== 'function') throw new Error('no handler exported');
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000 }));
`;

/**
 * One start-up: wall-clock milliseconds, and the process's CPU milliseconds over the same span
 * (user + system, every thread). On a machine shared with other work the wall clock mostly
 * measures the wait for a core; CPU time barely moves with the load.
 */
export interface InitSample {
  readonly ms: number;
  readonly cpuMs: number;
}

export function writeHarness(): string {
  const file = join(OUT_DIR, 'init-harness.js');
  writeFileSync(file, HARNESS);
  return file;
}

/** Time to require `bundle` in a fresh process (with NODE_OPTIONS `nodeOptions`, if given). */
export function initOnce(harness: string, bundle: string, nodeOptions?: string): Promise<InitSample> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', ...FAKE_ENV, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
    const child = spawn(process.execPath, [harness, bundle], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`init of ${bundle} failed (${code}): ${err.slice(0, 500)}`));
      resolve(JSON.parse(out) as InitSample);
    });
  });
}

export const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs every bundle `rounds` times, in alternation (the order rotates each round); medians (wall clock, CPU) by key. */
export async function measureInit(
  bundles: Readonly<Record<string, string>>,
  rounds: number,
  nodeOptions: Readonly<Record<string, string>> = {},
): Promise<Record<string, InitSample>> {
  const harness = writeHarness();
  const keys = Object.keys(bundles);
  const samples: Record<string, InitSample[]> = Object.fromEntries(keys.map((k) => [k, []]));
  // One untimed run each: the first read of a file from disk is not what a cold start measures here.
  for (const k of keys) await initOnce(harness, bundles[k]!, nodeOptions[k]);
  for (let r = 0; r < rounds; r++) {
    const order = keys.map((_, i) => keys[(i + r) % keys.length]!);
    for (const k of order) samples[k]!.push(await initOnce(harness, bundles[k]!, nodeOptions[k]));
  }
  return Object.fromEntries(keys.map((k) => [k, { ms: median(samples[k]!.map((x) => x.ms)), cpuMs: median(samples[k]!.map((x) => x.cpuMs)) }]));
}
