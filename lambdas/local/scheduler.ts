/**
 * Local stand-in for EventBridge Scheduler: a small HTTP server on 127.0.0.1 that speaks the
 * service's REST-JSON protocol for the calls Sesame makes (CreateSchedule, UpdateSchedule,
 * DeleteSchedule, GetSchedule), so the real `@aws-sdk/client-scheduler`, pointed at it with
 * `endpoint` or AWS_ENDPOINT_URL_SCHEDULER, serialises and parses them, errors included. One-time
 * `at()` schedules only (read in UTC); any group name is accepted.
 *
 * At its time a schedule hands its target (an SQS queue ARN) and input to `deliver`, then is
 * deleted, as with `ActionAfterCompletion: DELETE`. A delivery that fails is tried again a second
 * later.
 *
 * Crash rules (docs/local-durability.md): with a data folder each schedule is an atomic JSON file,
 * `<dir>/<group>/<name>.json`, written before the call answers and deleted durably after its
 * target has the message. At start every file is read again, and a schedule that fell due while
 * local mode was stopped fires at once. A crash between the delivery and the delete delivers that
 * message again at the next start: at-least-once, as EventBridge Scheduler itself; the dispatch
 * handler turns the repetition into a no-op.
 *
 * `minuteMs` (SESAME_LOCAL_SCHEDULER_MINUTE_MS, local mode only) makes the wait from a call to
 * the schedule's time pass faster: each minute of it lasts `minuteMs`. The schedule's time itself,
 * and the email's `scheduled_at`, are unchanged.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { atInstant } from '../core/domain/schedule';
import { isTemporaryFile, readJson, removeDurably, writeJsonAtomic } from './json-files';
import { closeServer, listenOnLoopback } from './listen';

export const LOCAL_SCHEDULER_ACCOUNT = '000000000000';
const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
const MINUTE_MS = 60_000;
const RETRY_MS = 1_000;
/** The longest a timer is armed for; a later schedule is looked at again then. */
const MAX_TIMER_MS = 60_000;

export interface StoredSchedule {
  readonly Name: string;
  readonly GroupName: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone?: string;
  readonly FlexibleTimeWindow: { readonly Mode: string; readonly MaximumWindowInMinutes?: number };
  readonly ActionAfterCompletion?: string;
  readonly State?: string;
  readonly Target: { readonly Arn: string; readonly RoleArn: string; readonly Input?: string };
  readonly CreationDate: number;
  readonly LastModificationDate: number;
  /** When this stand-in fires it (epoch ms): the schedule's time, or sooner with `minuteMs`. */
  readonly fireAtMs: number;
}

export interface StartSchedulerOptions {
  readonly port?: number;
  /** Folder for the schedules; in memory when absent. */
  readonly dataDir?: string;
  readonly region?: string;
  /** Hands a fired schedule's input to its target; throws to be tried again. */
  readonly deliver: (targetArn: string, input: string) => Promise<void>;
  /** How long a minute of waiting lasts (default 60 000: real time). */
  readonly minuteMs?: number;
  readonly now?: () => number;
  readonly onError?: (error: unknown) => void;
}

export interface LocalScheduler {
  readonly endpoint: string;
  readonly port: number;
  /** The schedules waiting to fire (tests). */
  pending(): readonly StoredSchedule[];
  close(): Promise<void>;
}

class SchedulerError extends Error {
  constructor(readonly status: number, readonly type: string, message: string) {
    super(message);
  }
}

export async function startScheduler(options: StartSchedulerOptions): Promise<LocalScheduler> {
  const now = options.now ?? Date.now;
  const minuteMs = options.minuteMs ?? MINUTE_MS;
  const region = options.region ?? 'us-east-1';
  const schedules = new Map<string, StoredSchedule>();
  const keyOf = (group: string, name: string) => `${group}/${name}`;
  const fileOf = (group: string, name: string) => path.join(options.dataDir!, group, `${name}.json`);
  const arnOf = (group: string, name: string) => `arn:aws:scheduler:${region}:${LOCAL_SCHEDULER_ACCOUNT}:schedule/${group}/${name}`;

  if (options.dataDir) {
    for (const group of await readdir(options.dataDir).catch(() => [] as string[])) {
      for (const file of await readdir(path.join(options.dataDir, group)).catch(() => [] as string[])) {
        const full = path.join(options.dataDir, group, file);
        if (isTemporaryFile(file)) await removeDurably(full);
        else if (file.endsWith('.json')) {
          const s = (await readJson(full)) as StoredSchedule;
          schedules.set(keyOf(s.GroupName, s.Name), s);
        }
      }
    }
  }

  // Every change and every firing runs in this one chain: a firing never races an update.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = chain.then(work);
    chain = run.catch(() => undefined);
    return run;
  };
  const save = async (s: StoredSchedule) => {
    if (options.dataDir) await writeJsonAtomic(fileOf(s.GroupName, s.Name), s);
    schedules.set(keyOf(s.GroupName, s.Name), s);
  };
  const drop = async (group: string, name: string) => {
    if (options.dataDir) await removeDurably(fileOf(group, name));
    schedules.delete(keyOf(group, name));
  };

  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const arm = () => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    const next = Math.min(...[...schedules.values()].map((s) => s.fireAtMs));
    if (!Number.isFinite(next)) return;
    timer = setTimeout(() => void serial(fire).finally(arm), Math.max(0, Math.min(MAX_TIMER_MS, next - now())));
    timer.unref();
  };
  const fire = async () => {
    const due = [...schedules.values()].filter((s) => s.fireAtMs <= now()).sort((a, b) => a.fireAtMs - b.fireAtMs);
    for (const s of due) {
      if (closed) return;
      try {
        await options.deliver(s.Target.Arn, s.Target.Input ?? '{}');
        await drop(s.GroupName, s.Name);
      } catch (error) {
        options.onError?.(error);
        await save({ ...s, fireAtMs: now() + RETRY_MS });
      }
    }
  };

  const definition = (name: string, body: Record<string, unknown>, created?: StoredSchedule): StoredSchedule => {
    const group = typeof body.GroupName === 'string' ? body.GroupName : 'default';
    if (!NAME.test(group)) throw new SchedulerError(400, 'ValidationException', 'Invalid GroupName');
    const expression = body.ScheduleExpression;
    const at = typeof expression === 'string' ? atInstant(expression) : undefined;
    if (at === undefined) throw new SchedulerError(400, 'ValidationException', 'This scheduler supports one-time at(yyyy-mm-ddThh:mm:ss) expressions only');
    if (body.ScheduleExpressionTimezone !== undefined && body.ScheduleExpressionTimezone !== 'UTC') {
      throw new SchedulerError(400, 'ValidationException', 'This scheduler reads times in UTC only');
    }
    const target = body.Target as StoredSchedule['Target'] | undefined;
    if (!target || typeof target.Arn !== 'string' || typeof target.RoleArn !== 'string') throw new SchedulerError(400, 'ValidationException', 'Target with Arn and RoleArn is required');
    const window = body.FlexibleTimeWindow as StoredSchedule['FlexibleTimeWindow'] | undefined;
    if (!window || typeof window.Mode !== 'string') throw new SchedulerError(400, 'ValidationException', 'FlexibleTimeWindow is required');
    const t = now();
    const wait = Math.max(0, at - t);
    return {
      Name: name, GroupName: group, ScheduleExpression: expression as string,
      ...(body.ScheduleExpressionTimezone ? { ScheduleExpressionTimezone: body.ScheduleExpressionTimezone as string } : {}),
      FlexibleTimeWindow: window,
      ...(typeof body.ActionAfterCompletion === 'string' ? { ActionAfterCompletion: body.ActionAfterCompletion } : {}),
      State: typeof body.State === 'string' ? body.State : 'ENABLED',
      Target: { Arn: target.Arn, RoleArn: target.RoleArn, ...(typeof target.Input === 'string' ? { Input: target.Input } : {}) },
      CreationDate: created?.CreationDate ?? t / 1000,
      LastModificationDate: t / 1000,
      fireAtMs: t + Math.ceil((wait * minuteMs) / MINUTE_MS),
    };
  };

  const handle = async (req: IncomingMessage, body: string): Promise<unknown> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const m = /^\/schedules\/([^/]+)$/.exec(url.pathname);
    if (!m) throw new SchedulerError(404, 'UnknownOperationException', 'Unsupported operation');
    const name = decodeURIComponent(m[1]!);
    if (!NAME.test(name)) throw new SchedulerError(400, 'ValidationException', 'Invalid Name');
    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    const group = (req.method === 'GET' || req.method === 'DELETE') ? (url.searchParams.get('groupName') ?? 'default') : (typeof input.GroupName === 'string' ? input.GroupName : 'default');
    const existing = schedules.get(keyOf(group, name));
    const notFound = () => new SchedulerError(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
    switch (req.method) {
      case 'POST': return serial(async () => {
        if (schedules.has(keyOf(group, name))) throw new SchedulerError(409, 'ConflictException', `Schedule ${name} already exists.`);
        await save(definition(name, input));
        arm();
        return { ScheduleArn: arnOf(group, name) };
      });
      case 'PUT': return serial(async () => {
        const current = schedules.get(keyOf(group, name));
        if (!current) throw notFound();
        await save(definition(name, input, current));
        arm();
        return { ScheduleArn: arnOf(group, name) };
      });
      case 'DELETE': return serial(async () => {
        if (!schedules.has(keyOf(group, name))) throw notFound();
        await drop(group, name);
        return {};
      });
      case 'GET': {
        if (!existing) throw notFound();
        const { fireAtMs: _fire, ...rest } = existing;
        return { ...rest, Arn: arnOf(group, name) };
      }
      default:
        throw new SchedulerError(405, 'UnknownOperationException', 'Unsupported method');
    }
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, value: unknown, type?: string) => {
        res.writeHead(status, { 'content-type': 'application/json', ...(type ? { 'x-amzn-errortype': type } : {}) });
        res.end(JSON.stringify(value));
      };
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (host !== '127.0.0.1' && host !== 'localhost') return reply(403, { Message: 'Local requests only' }, 'AccessDeniedException');
      handle(req, Buffer.concat(chunks).toString('utf8')).then(
        (value) => reply(200, value),
        (error) => error instanceof SchedulerError
          ? reply(error.status, { Message: error.message }, error.type)
          : error instanceof SyntaxError
            ? reply(400, { Message: 'The body is not JSON' }, 'ValidationException')
            : (options.onError?.(error), reply(500, { Message: 'Internal error' }, 'InternalServerException')),
      );
    });
  });
  const port = await listenOnLoopback(server, options.port);
  arm();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pending: () => [...schedules.values()],
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await closeServer(server);
      await chain;
    },
  };
}
