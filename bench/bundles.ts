/**
 * Every function's bundle, built as CDK builds it (lib/bundling.ts: the same esbuild settings, through
 * esbuild's JS API), beside its floor: a bundle that only imports and constructs the AWS SDK clients
 * that function uses, and imports the SDK commands it sends, built the same way. Each is built twice: with the AWS SDK bundled (what is
 * deployed) and with it left to the runtime (`@aws-sdk/*` external), for the cold-start comparison.
 *
 * Bundles go to node_modules/.cache/sesame-bench, inside the project, so that an SDK-external bundle
 * resolves `@aws-sdk/*` from the project's node_modules as it would from the runtime's.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { esbuildOptions, lambdaBundling } from '../lib/bundling';
import type { SesameFunctionName } from '../lib/sesame-stack';

export const ROOT = join(__dirname, '..');
export const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'sesame-bench');

/**
 * The functions measured: every function of the stack (the inbound one exists when receiving is on),
 * except the console's, which loads no SDK and no library: its handler is 2 KB that read the page's
 * assets from a file beside it, and what it serves is measured in docs/console.md.
 */
export type FunctionName = Exclude<SesameFunctionName, 'console'> | 'inbound';
export type Client = 'dynamodb' | 'sesv2' | 'sqs' | 'secretsManager' | 's3' | 's3Presigner' | 'scheduler' | 'route53';

/**
 * Each function's folder under lambdas/ and the SDK clients it uses: those its role is granted
 * (lib/sesame-stack.ts; Route 53 only for the domains function, and only in a stack given zones).
 */
export const FUNCTIONS: Record<FunctionName, { readonly dir: string; readonly clients: readonly Client[]; readonly libraries?: readonly string[] }> = {
  send: { dir: 'send', clients: ['dynamodb', 'sesv2', 's3', 's3Presigner', 'scheduler', 'sqs'] },
  domains: { dir: 'domains', clients: ['dynamodb', 'sesv2', 'sqs', 'route53'] },
  account: { dir: 'account', clients: ['dynamodb', 'sesv2', 'sqs', 'secretsManager'] },
  snsHttps: { dir: 'sns-https', clients: ['dynamodb', 'sqs'] },
  ingest: { dir: 'ingest', clients: ['dynamodb', 'sqs'] },
  deliver: { dir: 'deliver', clients: ['dynamodb', 'sqs', 'secretsManager'] },
  verifyDomains: { dir: 'verify-domains', clients: ['dynamodb', 'sesv2', 'sqs'] },
  dispatch: { dir: 'dispatch', clients: ['dynamodb', 'sesv2', 'sqs', 's3'] },
  // Received mail is parsed with mailparser, which the function cannot do without: its floor has it too.
  inbound: { dir: 'inbound', clients: ['dynamodb', 's3', 'sqs'], libraries: ["import { MailParser } from 'mailparser';\nconst parsers = [MailParser];"] },
};

const IMPORTS: Record<Client, { readonly imports: string; readonly construct: string }> = {
  dynamodb: {
    imports: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    construct: 'DynamoDBDocumentClient.from(new DynamoDBClient({}))',
  },
  sesv2: { imports: "import { SESv2Client } from '@aws-sdk/client-sesv2';", construct: 'new SESv2Client({})' },
  sqs: { imports: "import { SQSClient } from '@aws-sdk/client-sqs';", construct: 'new SQSClient({})' },
  secretsManager: { imports: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';", construct: 'new SecretsManagerClient({})' },
  s3: { imports: "import { S3Client } from '@aws-sdk/client-s3';", construct: 'new S3Client({})' },
  // The send function presigns download URLs: the presigner is part of what it cannot do without.
  s3Presigner: { imports: "import { getSignedUrl } from '@aws-sdk/s3-request-presigner';", construct: 'getSignedUrl' },
  scheduler: { imports: "import { SchedulerClient } from '@aws-sdk/client-scheduler';", construct: 'new SchedulerClient({})' },
  route53: { imports: "import { Route53Client } from '@aws-sdk/client-route-53';", construct: 'new Route53Client({})' },
};

/** The packages of a client, whose commands a floor imports. */
const packagesOf = (clients: readonly Client[]): Set<string> =>
  new Set(clients.flatMap((c) => [...IMPORTS[c].imports.matchAll(/from '(@aws-sdk\/(?:client-[^']+|lib-dynamodb))'/g)].map((m) => m[1]!)));

/** An SDK command a function sends: the package it comes from and its name. */
export interface SdkCommand {
  readonly pkg: string;
  readonly name: string;
}

/**
 * The floor's source: the function's clients, imported and constructed at module scope, and the
 * commands it sends, imported (a function that sends nothing is no floor); nothing else.
 */
export function floorSource(clients: readonly Client[], commands: readonly SdkCommand[] = [], libraries: readonly string[] = []): string {
  const byPkg = new Map<string, string[]>();
  for (const c of commands) byPkg.set(c.pkg, [...(byPkg.get(c.pkg) ?? []), c.name]);
  return [
    ...clients.map((c) => IMPORTS[c].imports),
    ...[...byPkg].map(([pkg, names]) => `import { ${names.join(', ')} } from '${pkg}';`),
    `const clients = [${clients.map((c) => IMPORTS[c].construct).join(', ')}];`,
    `const commands = [${commands.map((c) => c.name).join(', ')}];`,
    ...libraries,
    'export const handler = async () => clients.length + commands.length;',
  ].join('\n');
}

const COMMAND_FILE = /node_modules\/(@aws-sdk\/(?:client-[^/]+|lib-dynamodb))\/dist-es\/commands\/(\w+Command)\.js$/;

/**
 * The SDK commands a handler sends, from an analysis build of it that takes the SDK's ES module
 * builds (one file per command, the unused ones shaken off; a CommonJS build is one file per client
 * and tells nothing). The same list whatever the house settings, so the floor's definition does not
 * move with them. Only commands of the function's own clients: a command bundled through a shared
 * module but never sent (the verifier's Route 53) is not the floor's.
 */
export async function commandsOf(entry: string, clients: readonly Client[]): Promise<SdkCommand[]> {
  const packages = packagesOf(clients);
  const result = await build({
    ...esbuildOptions(lambdaBundling()),
    mainFields: ['module', 'main'],
    entryPoints: [entry],
    outfile: join(OUT_DIR, 'commands-analysis.js'),
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  const commands: SdkCommand[] = [];
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = COMMAND_FILE.exec(input);
      if (match && bytesInOutput > 0 && packages.has(match[1]!)) commands.push({ pkg: match[1]!, name: match[2]! });
    }
  }
  return commands.sort((a, b) => `${a.pkg}/${a.name}`.localeCompare(`${b.pkg}/${b.name}`));
}

/** `handlerSourceMaps`: the handler with a source map, to measure NODE_OPTIONS=--enable-source-maps. */
export type Variant = 'handler' | 'floor' | 'handlerSdkExternal' | 'floorSdkExternal' | 'handlerSourceMaps';

export interface BuiltBundle {
  readonly file: string;
  readonly bytes: number;
  /** Bytes in the output by where they come from: a package (`zod`, `@aws-sdk/client-sqs`) or a Sesame folder (`lambdas/core`). */
  readonly origins: Readonly<Record<string, number>>;
}

export type BuiltFunction = Record<Variant, BuiltBundle>;

/** The package (or, for Sesame's own code, the folder under lambdas/) an esbuild input path belongs to. */
export function originOf(input: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input);
  if (pkg) return pkg[1]!;
  const own = /^(lambdas\/[^/]+)\//.exec(input);
  return own ? own[1]! : input;
}

/** Bytes of the (single) output by origin, from esbuild's metafile. */
export function originsOf(meta: Metafile): Record<string, number> {
  const origins: Record<string, number> = {};
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const origin = originOf(input);
      origins[origin] = (origins[origin] ?? 0) + bytesInOutput;
    }
  }
  return origins;
}

/**
 * What a function's bundle carries beyond its floor, by origin, largest first: where to look when a
 * ratio is high (`npm run bench -- --only bundles --analyze`).
 */
export function beyondFloor(built: Pick<BuiltFunction, 'handler' | 'floor'>): [origin: string, bytes: number][] {
  const origins = new Set([...Object.keys(built.handler.origins), ...Object.keys(built.floor.origins)]);
  return [...origins]
    .map((o): [string, number] => [o, (built.handler.origins[o] ?? 0) - (built.floor.origins[o] ?? 0)])
    .filter(([, bytes]) => bytes !== 0)
    .sort((a, b) => b[1] - a[1]);
}

export async function buildBundles(): Promise<Record<FunctionName, BuiltFunction>> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const out = {} as Record<FunctionName, BuiltFunction>;
  for (const [name, fn] of Object.entries(FUNCTIONS) as [FunctionName, (typeof FUNCTIONS)[FunctionName]][]) {
    const built = {} as BuiltFunction;
    const entry = join(ROOT, 'lambdas', fn.dir, 'handler.ts');
    const commands = await commandsOf(entry, fn.clients);
    for (const variant of ['handler', 'floor', 'handlerSdkExternal', 'floorSdkExternal', 'handlerSourceMaps'] as const) {
      const outfile = join(OUT_DIR, name, variant, 'index.js');
      mkdirSync(join(OUT_DIR, name, variant), { recursive: true });
      const sdkExternal = variant.endsWith('SdkExternal');
      const options = esbuildOptions(lambdaBundling({ bundleAwsSdk: !sdkExternal, sourceMap: variant === 'handlerSourceMaps' }));
      const result = await build({
        ...options,
        metafile: true,
        ...(variant.startsWith('handler')
          ? { entryPoints: [entry] }
          : { stdin: { contents: floorSource(fn.clients, commands, fn.libraries), resolveDir: ROOT, sourcefile: `${name}-floor.ts`, loader: 'ts' } }),
        outfile,
        logLevel: 'error',
      });
      built[variant] = { file: outfile, bytes: statSync(outfile).size, origins: originsOf(result.metafile) };
    }
    out[name] = built;
  }
  return out;
}
