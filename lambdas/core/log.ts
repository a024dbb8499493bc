/**
 * Structured JSON logs through Powertools Logger, sparse at info level. Never log recipient addresses,
 * bodies, keys or secrets.
 *
 * One Powertools logger per process. Every line carries `level`, `message`, `timestamp` (the keys
 * Lambda's JSON log filtering reads), `service`, and, inside an invocation wrapped by
 * `lambdaContext()`, the invocation's `function_request_id` (and `cold_start: true` on a cold start).
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
import { LogFormatter, LogItem, Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

/**
 * Powertools' line without what the log group already says or what never varies: no function ARN,
 * name or memory size (the log group and stream are the function's), no sampling rate (always 0),
 * `cold_start` only when true, and the X-Ray trace id only when the invocation is sampled (the
 * function's `tracing` prop).
 * CloudWatch Logs bills every byte ingested, on every line.
 */
export class LeanLogFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const sampled = attributes.xRayTraceId !== undefined && process.env._X_AMZN_TRACE_ID?.includes('Sampled=1') === true;
    return new LogItem({
      attributes: {
        level: attributes.logLevel,
        message: attributes.message,
        timestamp: this.formatTimestamp(attributes.timestamp),
        service: attributes.serviceName,
        // Only on a cold start's lines: a constant `false` on every other line is bytes, not news.
        ...(attributes.lambdaContext?.coldStart === true ? { cold_start: true } : {}),
        function_request_id: attributes.lambdaContext?.awsRequestId,
        ...(sampled ? { xray_trace_id: attributes.xRayTraceId } : {}),
      },
    }).addAttributes(additional);
  }
}

/** The service every line names: POWERTOOLS_SERVICE_NAME (set per function by the stack), else `sesame`. */
const SERVICE = process.env.POWERTOOLS_SERVICE_NAME || 'sesame';

/** The process's Powertools logger. */
export const powertoolsLogger = new PowertoolsLogger({ serviceName: SERVICE, logFormatter: new LeanLogFormatter() });

/**
 * What an INFO or WARN line also carries: the business metrics counted so far in the invocation, in
 * CloudWatch's embedded metric format (metrics.ts attaches it), so that an operation's one line is
 * also its metrics line. Undefined: the line carries none (they are written at the invocation's end).
 */
let lineMetrics: ((fields: LogFields) => LogFields | undefined) | undefined;

export function attachLineMetrics(take: (fields: LogFields) => LogFields | undefined): void {
  lineMetrics = take;
}

function over(target: PowertoolsLogger, base: LogFields, service: string): Logger {
  const merged = (fields?: LogFields) => (fields === undefined ? base : { ...base, ...fields });
  const withMetrics = (fields: LogFields) => {
    // The line's `service` is the logger's (a reserved key): metrics of another service stay apart.
    const emf = lineMetrics?.({ ...fields, service });
    if (emf === undefined) return fields;
    const { service: _same, ...rest } = emf;
    return { ...fields, ...rest };
  };
  return {
    debug: (m, f) => target.debug(m, merged(f)),
    info: (m, f) => target.info(m, withMetrics(merged(f))),
    warn: (m, f) => target.warn(m, withMetrics(merged(f))),
    error: (m, f) => target.error(m, merged(f)),
    child: (fields) => over(target, merged(fields), service),
  };
}

/** The root logger: Powertools, no fields of its own. */
export const logger: Logger = over(powertoolsLogger, {}, SERVICE);

/**
 * A logger whose lines all go to stderr, for a command-line tool that prints its result on stdout
 * (`npx sesame dlq redrive`). Powertools has no option for its output stream: its console, which it
 * builds over stdout and stderr, is replaced by one over stderr alone.
 */
export function stderrLogger(fields: LogFields = {}): Logger {
  const target = new PowertoolsLogger({ serviceName: 'sesame-admin', logFormatter: new LeanLogFormatter() });
  (target as unknown as { console: Console }).console = new Console({ stdout: process.stderr, stderr: process.stderr });
  return over(target, fields, 'sesame-admin');
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
