/**
 * Starts local mode as a user would (`npm start` runs `tsx bin/local.ts`; here Node loads tsx
 * itself, so that the child is local mode's own process and a signal reaches it), on free ports
 * and a data folder of the test's, and stops it with SIGTERM, or kills it with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/**
 * `count` distinct free ports: each is held until all are picked, so one call never gets the same
 * port twice (freePort() after freePort() may, once the first is closed).
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export interface RunningLocal {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly output: () => string;
  readonly env: Record<string, string>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash would end it; resolves once the process is gone. */
  kill(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

export async function startLocalMode(options: { dataDir: string; apiKey?: string; domain?: string; extraEnv?: Record<string, string> }): Promise<RunningLocal> {
  const [api, dynamo, ses, sqs, s3, scheduler, smtp] = (await freePorts(7)).map(String);
  const env: Record<string, string> = {
    PORT: api!,
    SESAME_DYNAMODB_PORT: dynamo!,
    SESAME_SES_PORT: ses!,
    SESAME_SQS_PORT: sqs!,
    SESAME_S3_PORT: s3!,
    SESAME_SCHEDULER_PORT: scheduler!,
    SESAME_SMTP_PORT: smtp!,
    SESAME_DATA_DIR: options.dataDir,
    SESAME_DOMAIN: options.domain ?? 'example.com',
    ...(options.apiKey ? { SESAME_API_KEY: options.apiKey } : {}),
    ...options.extraEnv,
  };
  let out = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/local.ts')], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const kill = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  while (!/API key\s+(re_\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      if (child.exitCode === null) await kill();
      throw new Error(`local mode did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const apiKey = /API key\s+(re_\S+)/.exec(out)![1]!;
  return {
    apiUrl: `http://127.0.0.1:${env.PORT}`,
    apiKey,
    output: () => out,
    env,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill,
  };
}
