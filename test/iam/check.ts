/**
 * The IAM check run at the end of every jest run (test/support/global-teardown.ts): each AWS request
 * recorded while the suites ran is evaluated against its principal's policies; after a run of the
 * whole suite, the grants nobody used are listed too. Throws, naming caller, action and resource.
 */
import { ACKNOWLEDGED_UNUSED } from './acknowledged';
import { authorizationsByCaller, denials, formatDenials, formatUnused, readRecordedCalls, unusedGrants } from './evaluate';
import { synthesizeForIam } from './template';

export interface IamCheckOptions {
  /** The whole suite ran: every grant unused by it is reported. */
  readonly wholeSuite: boolean;
  readonly log?: (line: string) => void;
}

export async function runIamCheck(dir: string, options: IamCheckOptions): Promise<void> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const calls = readRecordedCalls(dir);
  if (calls.length === 0 && !options.wholeSuite) return;
  const started = Date.now();
  const stack = synthesizeForIam();
  const byCaller = authorizationsByCaller(calls, stack);
  const problems: string[] = [];
  const denied = await denials(byCaller, stack);
  if (denied.length) problems.push(formatDenials(denied));
  let summary = `IAM: ${calls.length} distinct AWS requests evaluated against the synthesized template`;
  if (options.wholeSuite) {
    const unused = await unusedGrants(byCaller, stack, ACKNOWLEDGED_UNUSED);
    if (unused.unacknowledged.length) problems.push(formatUnused(unused));
    summary += `; unused grants: ${unused.acknowledged.length} acknowledged, ${unused.byRule.length} by rule, ${unused.unacknowledged.length} not acknowledged`;
    for (const stale of unused.stale) log(`IAM: acknowledged-unused ${stale.caller} ${stale.action} is used now (or no longer granted): drop it from test/iam/acknowledged.ts`);
  } else summary += ' (unused grants are listed only when the whole suite runs)';
  log(`${summary} (${((Date.now() - started) / 1000).toFixed(1)} s).`);
  if (problems.length) throw new Error(problems.join('\n\n'));
}
