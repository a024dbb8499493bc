/**
 * Builds the console's browser code with esbuild (TypeScript and CSS in lambdas/console/app/ ->
 * one minified script and one stylesheet, each named by a hash of its content). Run at `npm start`
 * (local mode builds before it serves) and at `cdk synth` (the console function's bundling copies
 * the result beside its handler). Not part of any Lambda bundle.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import type { ConsoleAsset, ConsoleAssets } from './assets';

const APP_DIR = join(__dirname, 'app');

const hashed = (base: string, ext: string, body: string) => `${base}-${createHash('sha256').update(body).digest('hex').slice(0, 12)}.${ext}`;

/** The console's script and stylesheet, minified, with content-hashed names. */
export function buildConsoleAssets(): ConsoleAssets {
  const result = buildSync({
    entryPoints: [join(APP_DIR, 'main.ts'), join(APP_DIR, 'style.css')],
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2022'],
    platform: 'browser',
    write: false,
    outdir: 'out',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'))!.text;
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'))!.text;
  const script = hashed('app', 'js', js);
  const stylesheet = hashed('style', 'css', css);
  const files: Record<string, ConsoleAsset> = {
    [script]: { contentType: 'text/javascript; charset=utf-8', body: js },
    [stylesheet]: { contentType: 'text/css; charset=utf-8', body: css },
  };
  return { files, script, stylesheet };
}
