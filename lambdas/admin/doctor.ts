/**
 * `npx sesame doctor`: whether a stack can send, as a list of checks that each say `ok`, `warn` or
 * `fail` with a one-line message that carries the fix. Each check is a small function over the
 * adapters it reads (doctor-*.ts); this module runs them, keeps going when one throws (it becomes a
 * `fail` with the error's name and message: the operator's own tool may show what AWS said), and
 * prints the result.
 *
 * Output: one line per check by default (`ok|warn|fail  name  message`, then a count); `--json`
 * prints one JSON object `{"checks":[{"name","status","message"}]}`, the admin tool's rule. Either
 * way the exit status is 1 when any check fails, else 0.
 */
import { type Check, type CheckResult, type CheckStatus, type DoctorDeps, describeError, fail } from './doctor-check';
import { CommandOutput, type ParsedArgs, UsageError } from './cli';
import { checkAccount } from './doctor-account';
import { checkConfigurationSets, checkSubscription } from './doctor-events';
import { checkDeadLetterQueues } from './doctor-queues';
import { checkDomains } from './doctor-domains';
import { checkSecretsKey } from './doctor-secrets';
import { checkRoute53Zones } from './doctor-route53';
import { checkReceiving } from './doctor-receiving';

export const CHECKS: readonly Check[] = [
  { name: 'ses account', run: checkAccount },
  { name: 'configuration sets', run: checkConfigurationSets },
  { name: 'events subscription', run: checkSubscription },
  { name: 'dead-letter queues', run: checkDeadLetterQueues },
  { name: 'domains', run: checkDomains },
  { name: 'secrets key', run: checkSecretsKey },
  { name: 'route53 zones', run: checkRoute53Zones },
  { name: 'receiving', run: checkReceiving },
];

/** Runs every check (at once: they read different services), in a stable order. */
export async function runDoctor(deps: DoctorDeps, checks: readonly Check[] = CHECKS): Promise<CheckResult[]> {
  const groups = await Promise.all(
    checks.map((check) =>
      check.run(deps).then(
        (results) => results,
        (error: unknown) => [fail(check.name, `could not check: ${describeError(error)}`)],
      ),
    ),
  );
  return groups.flat();
}

export const anyFailed = (results: readonly CheckResult[]): boolean => results.some((r) => r.status === 'fail');

/** The default output: one aligned line per check, then the counts. */
export function renderTable(results: readonly CheckResult[]): string {
  const width = Math.max(0, ...results.map((r) => r.name.length));
  const lines = results.map((r) => `${r.status.padEnd(4)}  ${r.name.padEnd(width)}  ${r.message}`);
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  lines.push('', `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail`);
  return lines.join('\n');
}

export function renderJson(results: readonly CheckResult[]): string {
  return JSON.stringify({ checks: results.map(({ name, status, message }) => ({ name, status, message })) });
}

/** The admin command: `doctor` (a table) or `doctor --json`; exit 1 when any check fails. */
export async function doctorCommand(args: ParsedArgs, deps: () => DoctorDeps): Promise<CommandOutput> {
  const unknown = Object.keys(args.flags).filter((flag) => flag !== 'json');
  if (unknown.length > 0 || args.positional.length > 1) throw new UsageError(`doctor takes only --json`);
  const results = await runDoctor(deps());
  return new CommandOutput(args.flags.json ? renderJson(results) : renderTable(results), anyFailed(results) ? 1 : 0);
}
