/**
 * What the end-to-end tests against local mode (test/e2e) share: a data folder of their own, the
 * `resend` SDK pointed at local mode, the admin tool's environment (the line local mode prints) and
 * `npx sesame` run with it, another tenant, a webhook receiver, and waiting for something to happen.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Resend } from 'resend';
import { closeServer, listenOnLoopback } from '../../lambdas/local/listen';
import type { RunningLocal } from './local-mode';

const ROOT = join(__dirname, '..', '..');

/** A new temporary data folder, `sesame-<name>-XXXXXX`. */
export const tempDataDir = (name: string): string => mkdtempSync(join(tmpdir(), `sesame-${name}-`));

/** The `resend` SDK on local mode's API, with its seeded key or `key`. */
export const sdkFor = (local: RunningLocal, key: string = local.apiKey): Resend => new Resend(key, { baseUrl: local.apiUrl });

/** The admin tool's environment line local mode prints (`NAME=value ...`), as printed. */
export function adminLineOf(local: RunningLocal): string {
  const lines = local.output().split('\n');
  return lines[lines.findIndex((l) => l.startsWith('Admin tool environment')) + 1]!.trim();
}

/** The admin tool's environment, as variables. */
export function adminEnvOf(local: RunningLocal): Record<string, string> {
  return Object.fromEntries([...adminLineOf(local).matchAll(/([A-Z][A-Z0-9_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

/**
 * `npx sesame <args>` against local mode, with this process's environment and the admin line, and
 * its JSON answer. `npx`: through `npx --no-install sesame`, as a user types it; otherwise
 * `node bin/sesame.js`.
 */
export async function sesameCli(local: RunningLocal, args: readonly string[], options: { readonly npx?: boolean } = {}): Promise<Record<string, unknown>> {
  const env = { ...process.env, ...adminEnvOf(local) };
  const [command, argv] = options.npx ? ['npx', ['--no-install', 'sesame', ...args]] : [process.execPath, [join(ROOT, 'bin/sesame.js'), ...args]];
  const { stdout } = await promisify(execFile)(command, argv, { env, cwd: ROOT });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Another tenant, made with `npx sesame tenants create <name>`: the SDK with its key, and its id. */
export async function anotherTenant(local: RunningLocal, name: string, options: { readonly npx?: boolean } = {}): Promise<{ resend: Resend; tenantId: string }> {
  const created = await sesameCli(local, ['tenants', 'create', name], options);
  return { resend: sdkFor(local, created.api_key as string), tenantId: created.tenant_id as string };
}

/** One request a receiver got, and the status it answered. */
export interface ReceivedRequest {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port><path>`. */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

/**
 * A webhook endpoint on 127.0.0.1 that records every request and answers the status `answer` gives,
 * called as each request arrives (200 `ok` by default; anything else `try later`).
 */
export async function startReceiver(path: string, answer: (headers: IncomingHttpHeaders, body: string) => number = () => 200): Promise<Receiver> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = answer(req.headers, body);
      received.push({ status, headers: req.headers as Record<string, string>, body });
      res.writeHead(status).end(status === 200 ? 'ok' : 'try later');
    });
  });
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}${path}`, received, close: () => closeServer(server) };
}

/** Reads `read()` every `everyMs` until `done` holds or `ms` have passed, and answers the last value. */
export async function until<T>(read: () => T | Promise<T>, done: (value: T) => boolean, ms = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until `ok()` or `ms` have passed (the test's assertions say which). */
export const waitFor = async (ok: () => boolean, ms = 30_000): Promise<void> => {
  await until(ok, (v) => v, ms);
};
