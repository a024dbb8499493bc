import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Construct } from 'constructs';
import { ApplicationLogLevel } from 'aws-cdk-lib/aws-lambda';
import { ASSETS_FILE } from '../lambdas/console/assets';
import { buildConsoleAssets } from '../lambdas/console/build';
import { SesameFunction } from './sesame-function';

export interface ConsoleSiteProps {
  /** The least level of the function's log lines that is kept. @default ApplicationLogLevel.INFO */
  readonly logLevel?: ApplicationLogLevel;
  /** The stack's metrics namespace (POWERTOOLS_METRICS_NAMESPACE), as every function of the stack has. */
  readonly metricsNamespace?: string;
}

/**
 * The console's function (lambdas/console): serves `GET /` and `GET /console/{asset}` from assets
 * that esbuild builds at synth (lambdas/console/build.ts) and that its bundling puts beside the
 * handler. It has no grant beyond its own logs: the console calls the API from the browser, with
 * the user's key. Its own function rather than a route of an API function: its bundle holds no
 * SDK, so its cold start is the runtime's alone, and the API functions' cold starts are unchanged.
 */
export class ConsoleSite extends Construct {
  readonly function: SesameFunction;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps = {}) {
    super(scope, id);
    this.function = new SesameFunction(this, 'Function', {
      entryDir: 'console',
      description: 'Sesame: the console (its page and assets)',
      memorySize: 128,
      logLevel: props.logLevel,
      ...(props.metricsNamespace ? { environment: { POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace } } : {}),
      afterBundling: (outputDir) => [`cp "${writeAssetsFile()}" "${join(outputDir, ASSETS_FILE)}"`],
    });
  }
}

/** Builds the assets into a file of a fresh temporary folder, and returns its path. */
function writeAssetsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sesame-console-')), ASSETS_FILE);
  writeFileSync(file, JSON.stringify(buildConsoleAssets()));
  return file;
}
