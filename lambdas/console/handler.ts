/**
 * The console function: the page and its hashed assets, read once at cold start from the file the
 * stack's bundling put beside this handler (lib/console-site.ts). No AWS client is loaded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASSETS_FILE, type ConsoleAssets } from './assets';
import { createConsoleHandler } from './serve';

const assets = JSON.parse(readFileSync(join(__dirname, ASSETS_FILE), 'utf8')) as ConsoleAssets;

export const handler = createConsoleHandler(assets);
