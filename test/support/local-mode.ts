/**
 * Starts local mode as a user would (`npm start` runs `tsx bin/local.ts`), on free ports and a
 * data folder of the test's, and stops it with SIGTERM.
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

export interface RunningLocal {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly output: () => string;
  readonly env: Record<string, string>;
  stop(): Promise<number | null>;
}

const ROOT = join(__dirname, '..', '..');

export async function startLocalMode(options: { dataDir: string; apiKey?: string; domain?: string; extraEnv?: Record<string, string> }): Promise<RunningLocal> {
  const env: Record<string, string> = {
    PORT: String(await freePort()),
    SESAME_DYNAMODB_PORT: String(await freePort()),
    SESAME_SES_PORT: String(await freePort()),
    SESAME_SQS_PORT: String(await freePort()),
    SESAME_DATA_DIR: options.dataDir,
    SESAME_DOMAIN: options.domain ?? 'example.com',
    ...(options.apiKey ? { SESAME_API_KEY: options.apiKey } : {}),
    ...options.extraEnv,
  };
  let out = '';
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'bin/local.ts')], {
    cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!/API key\s+(re_\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`local mode did not start:\n${out}`);
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
  };
}
