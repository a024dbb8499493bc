/**
 * Local stand-in for the domain verifier's EventBridge schedule: invokes the verifier handler every
 * `intervalMs` (the next run starts that long after the last one ended, so runs never overlap).
 *
 * It keeps no state of its own, as local mode's crash rule asks (docs/local-durability.md): which
 * domains are due, and the events waiting in their outboxes, live in DynamoDB, so after a crash or
 * a restart the first run takes whatever was due, and a run cut short is simply done again (its
 * writes are conditional on each domain's version, its events keep their ids).
 */
import { logger as rootLogger, type Logger } from '../core/log';

export interface DomainChecksOptions {
  /** The verifier handler (lambdas/verify-domains/handler.ts). */
  readonly handler: (event: unknown, context?: { getRemainingTimeInMillis(): number }) => Promise<void>;
  readonly intervalMs: number;
  readonly log?: Logger;
}

export interface DomainChecks {
  /** Stops the timer and waits for a run under way. */
  stop(): Promise<void>;
}

/** What an invocation may take, as the function's 60 s timeout gives it. */
const RUN_BUDGET_MS = 60_000;

export function startDomainChecks(options: DomainChecksOptions): DomainChecks {
  const log = (options.log ?? rootLogger).child({ component: 'domain-checks' });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = () => {
    const started = Date.now();
    running = options
      .handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, { getRemainingTimeInMillis: () => RUN_BUDGET_MS - (Date.now() - started) })
      .catch((error: unknown) => log.error('a domain check run failed; the next run takes its domains', { error }))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  timer = setTimeout(tick, options.intervalMs);

  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
