/**
 * The console's assets as the console function serves them (no build tool here: build.ts makes
 * them). Hashed names (`app-<hash>.js`) are cached for good; the page itself never.
 */

export interface ConsoleAsset {
  readonly contentType: string;
  readonly body: string;
}

export interface ConsoleAssets {
  /** Hashed file name (`app-1a2b3c4d5e6f.js`) -> content. */
  readonly files: Readonly<Record<string, ConsoleAsset>>;
  /** The script and stylesheet the page loads. */
  readonly script: string;
  readonly stylesheet: string;
}

/** Where the hashed assets are served: `/console/<name>`. */
export const ASSET_PREFIX = '/console/';

/** The name of the assets file beside the deployed function's bundle. */
export const ASSETS_FILE = 'console-assets.json';
