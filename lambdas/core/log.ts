/**
 * Structured JSON logs through Powertools Logger, sparse at info level. Never log recipient addresses,
 * bodies, keys or secrets.
 *
 * One Powertools logger per process. Every line carries `level`, `message`, `timestamp` (the keys
 * Lambda's JSON log filtering reads), `service`, and, inside an invocation wrapped by
 * `lambdaContext()`, the invocation's `function_request_id` and `cold_start`.
 *
 * One level setting: in AWS, the function's logging configuration (`AWS_LAMBDA_LOG_LEVEL`, set by
 * `SesameFunction` from its `logLevel`); elsewhere `POWERTOOLS_LOG_LEVEL` (`DEBUG`, `INFO`, `WARN`,
 * `ERROR`, `SILENT`; default `INFO`).
 *
 * Use cases receive the small `Logger` interface below, not Powertools itself: `child(fields)` adds
 * fields to every line of a unit of work (an email, an event, a delivery) without touching the
 * shared logger, so concurrent invocations in one process (local mode) never mix their fields; the
 * invocation's own context (request id, cold start) is kept per invocation there by
 * lambdas/local/invocations.ts.
 */
import { Console } from 'node:console';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/** The process's Powertools logger. Its service name comes from POWERTOOLS_SERVICE_NAME (set per function by the stack). */
export const powertoolsLogger = new PowertoolsLogger(process.env.POWERTOOLS_SERVICE_NAME ? {} : { serviceName: 'sesame' });

function over(target: PowertoolsLogger, base: LogFields): Logger {
  const merged = (fields?: LogFields) => (fields === undefined ? base : { ...base, ...fields });
  return {
    debug: (m, f) => target.debug(m, merged(f)),
    info: (m, f) => target.info(m, merged(f)),
    warn: (m, f) => target.warn(m, merged(f)),
    error: (m, f) => target.error(m, merged(f)),
    child: (fields) => over(target, merged(fields)),
  };
}

/** The root logger: Powertools, no fields of its own. */
export const logger: Logger = over(powertoolsLogger, {});

/**
 * A logger whose lines all go to stderr, for a command-line tool that prints its result on stdout
 * (`npx sesame dlq redrive`). Powertools has no option for its output stream: its console, which it
 * builds over stdout and stderr, is replaced by one over stderr alone.
 */
export function stderrLogger(fields: LogFields = {}): Logger {
  const target = new PowertoolsLogger({ serviceName: 'sesame-admin' });
  (target as unknown as { console: Console }).console = new Console({ stdout: process.stderr, stderr: process.stderr });
  return over(target, fields);
}

/** A logger that writes nothing (local mode's seeding, tests that do not look at logs). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/**
 * The middy middleware that puts the invocation's Lambda context (request id, cold start, function
 * name and ARN) on every line logged during it. Every handler uses it, ingest and deliver included.
 */
export const lambdaContext = () => injectLambdaContext(powertoolsLogger);
