/**
 * The house esbuild settings of every function, in one place: SesameFunction hands them to
 * NodejsFunction, and the benchmark (bench/) hands the same settings to esbuild's JS API, so that
 * the bundles it measures are the bundles that are deployed.
 */
import type { BuildOptions } from 'esbuild';

export interface LambdaBundling {
  readonly minify: boolean;
  readonly sourceMap: boolean;
  readonly sourcesContent: boolean;
  /** esbuild target; matches the runtime (Node.js 24). */
  readonly target: string;
  readonly format: 'cjs';
  /** Modules left out of the bundle (the runtime provides them). */
  readonly externalModules: string[];
  /**
   * package.json fields esbuild resolves a package by, in order: `module` first, so the AWS SDK,
   * Powertools and smithy come as their ES module builds, which esbuild tree-shakes (a CommonJS
   * client is one file with every command) and evaluates without a wrapper per module.
   * `npm run bench` measured bundles 28 to 35% smaller and start-up 40 to 55% less CPU than with
   * esbuild's default for Node (`main` first); docs/bundles.md has the numbers.
   */
  readonly mainFields: string[];
}

export interface LambdaBundlingOptions {
  /**
   * Bundle the AWS SDK v3 into the function instead of using the copy the Node.js runtime ships.
   * @default true (see README, "Benchmark", for the measurements behind it)
   */
  readonly bundleAwsSdk?: boolean;
  /**
   * Ship a source map (without the sources' text). Off: a map is only used with
   * NODE_OPTIONS=--enable-source-maps, which `npm run bench` measured at 10 to 25% more start-up
   * (README, "Benchmark"), on every cold start, for better stack traces on the rare error.
   * @default false
   */
  readonly sourceMap?: boolean;
}

/** Minified CommonJS for Node.js 24, without a source map unless asked for. */
export function lambdaBundling(options: LambdaBundlingOptions = {}): LambdaBundling {
  return {
    minify: true,
    sourceMap: options.sourceMap ?? false,
    sourcesContent: false,
    target: 'node24',
    format: 'cjs',
    externalModules: (options.bundleAwsSdk ?? true) ? [] : ['@aws-sdk/*'],
    mainFields: ['module', 'main'],
  };
}

/**
 * The same settings for esbuild's JS API: what NodejsFunction passes to esbuild's command line
 * (`--bundle --platform=node --target --format --minify --sourcemap --sources-content=false
 * --external:... --main-fields`).
 */
export function esbuildOptions(bundling: LambdaBundling): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: bundling.target,
    format: bundling.format,
    minify: bundling.minify,
    sourcemap: bundling.sourceMap,
    sourcesContent: bundling.sourcesContent,
    external: [...bundling.externalModules],
    mainFields: [...bundling.mainFields],
  };
}
