/**
 * Jest globalTeardown: stops the fauxqs that global-setup.mjs started (same process, same
 * globalThis), then runs the IAM check over the AWS requests recorded during the run (test/iam).
 * A refused request, or after the whole suite an unacknowledged unused grant, fails the run.
 */
import { rmSync } from 'node:fs';
import { CALL_LOG_ENV } from '../../lambdas/core/aws-calls';
import { runIamCheck } from '../iam/check';

interface RunConfig {
  readonly testPathPatterns?: { readonly patterns?: readonly string[] } | readonly string[];
  readonly testNamePattern?: string;
  readonly onlyChanged?: boolean;
  readonly onlyFailures?: boolean;
  readonly findRelatedTests?: boolean;
  readonly changedSince?: string;
  readonly lastCommit?: boolean;
  readonly shard?: unknown;
}

/** Whether jest was asked for every test: no path or name filter, no changed-files selection, no shard. */
function wholeSuite(config: RunConfig): boolean {
  const paths = config.testPathPatterns;
  const patterns = Array.isArray(paths) ? paths : (paths as { patterns?: readonly string[] } | undefined)?.patterns ?? [];
  return patterns.length === 0 && !config.testNamePattern && !config.onlyChanged && !config.onlyFailures
    && !config.findRelatedTests && !config.changedSince && !config.lastCommit && !config.shard;
}

export default async function globalTeardown(globalConfig: RunConfig): Promise<void> {
  const g = globalThis as { __SESAME_TEST_FAUXQS__?: { close(): Promise<void> } };
  const app = g.__SESAME_TEST_FAUXQS__;
  if (app) {
    delete g.__SESAME_TEST_FAUXQS__;
    await app.close();
  }
  const dir = process.env[CALL_LOG_ENV];
  if (!dir) return;
  try {
    await runIamCheck(dir, { wholeSuite: wholeSuite(globalConfig) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
