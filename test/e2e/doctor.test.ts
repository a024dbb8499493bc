/**
 * `npx sesame doctor --json` against `npm start`, as an operator runs it: the admin environment
 * line that local mode prints, prefixed to the command in a shell. Every check runs against the
 * local endpoints and none fails; the parts local mode replaces say so.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { adminLineOf, tempDataDir } from '../support/e2e';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
let local: RunningLocal;
let adminLine: string;

beforeAll(async () => {
  local = await startLocalMode({ dataDir: tempDataDir('doctor'), domain: 'doctor.test' });
  adminLine = adminLineOf(local);
});
afterAll(() => local?.stop());

/** `<line> node bin/sesame.js <args>` in a shell, with nothing else of this process's environment but PATH and HOME. */
async function sesame(line: string, args: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  try {
    const { stdout, stderr } = await promisify(execFile)('sh', ['-c', `${line} node bin/sesame.js ${args}`], { cwd: ROOT, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Report {
  checks: { name: string; status: 'ok' | 'warn' | 'fail'; message: string }[];
}

it('prints one admin environment line that names every endpoint the admin tool reads', () => {
  // Assess
  for (const name of ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SESV2', 'AWS_ENDPOINT_URL_SQS', 'SESAME_LOCAL', 'SESAME_TABLE_NAME', 'SESAME_CONFIGURATION_SET', 'SESAME_EVENTS_TOPIC_ARN', 'SESAME_WEBHOOK_QUEUE_URL', 'SESAME_WEBHOOK_DLQ_URL', 'SESAME_INBOUND_DLQ_URL', 'SESAME_CONTENT_BUCKET', 'SESAME_DISPATCH_QUEUE_URL', 'SESAME_DISPATCH_DLQ_URL']) {
    expect(adminLine).toMatch(new RegExp(`(^| )${name}=\\S+`));
  }
});

it('passes doctor --json: every check runs against the local endpoints and none fails', async () => {
  // Act
  const { code, stdout } = await sesame(adminLine, 'doctor --json');

  // Assess
  const report = JSON.parse(stdout) as Report;
  expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
  expect(code).toBe(0);
  const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
  expect(byName['ses sending']!.status).toBe('ok');
  expect(byName['configuration set sesame-open-click']!.status).toBe('ok');
  expect(byName['domain doctor.test']!.status).toBe('ok');
  expect(byName['dlq webhooks']).toMatchObject({ status: 'ok', message: 'empty' });
  expect(byName['dlq inbound']).toMatchObject({ status: 'ok', message: 'empty' });
  expect(byName['dlq dispatch']).toMatchObject({ status: 'ok', message: 'empty' });
  expect(byName['events subscription']!.message).toMatch(/^local mode: /);
  expect(byName['secrets key']!.message).toMatch(/^local mode: /);
});

it('runs the other admin commands from the same line, and exits 1 when a check fails', async () => {
  // Act
  const redrive = await sesame(adminLine, 'dlq redrive');
  const withoutTable = await sesame(adminLine.replace(/SESAME_TABLE_NAME=\S+/, ''), 'doctor');

  // Assess
  expect(redrive.code).toBe(0);
  expect(JSON.parse(redrive.stdout)).toMatchObject({ webhook_dlq: { received: 0 }, inbound_dlq: { received: 0, kept: 0 }, dispatch_dlq: { received: 0, kept: 0 } });
  expect(withoutTable.code).toBe(1);
  expect(withoutTable.stdout).toMatch(/^fail {2}domains {2,}SESAME_TABLE_NAME is not set/m);
});
