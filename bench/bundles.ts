/**
 * Every function's bundle, built as CDK builds it (lib/bundling.ts: the same esbuild settings, through
 * esbuild's JS API), beside its floor: a bundle that only imports and constructs the AWS SDK clients
 * that function uses, built the same way. Each is built twice: with the AWS SDK bundled (what is
 * deployed) and with it left to the runtime (`@aws-sdk/*` external), for the cold-start comparison.
 *
 * Bundles go to node_modules/.cache/sesame-bench, inside the project, so that an SDK-external bundle
 * resolves `@aws-sdk/*` from the project's node_modules as it would from the runtime's.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { esbuildOptions, lambdaBundling } from '../lib/bundling';

export const ROOT = join(__dirname, '..');
export const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'sesame-bench');

export type FunctionName = 'send' | 'domains' | 'account' | 'snsHttps' | 'ingest' | 'deliver';
type Client = 'dynamodb' | 'sesv2' | 'sqs' | 'secretsManager' | 's3';

/** Each function's folder under lambdas/ and the SDK clients it uses (lambdas/core/clients.ts, adapters/secrets.ts). */
export const FUNCTIONS: Record<FunctionName, { readonly dir: string; readonly clients: readonly Client[] }> = {
  send: { dir: 'send', clients: ['dynamodb', 'sesv2', 's3'] },
  domains: { dir: 'domains', clients: ['dynamodb', 'sesv2'] },
  account: { dir: 'account', clients: ['dynamodb', 'sqs', 'secretsManager'] },
  snsHttps: { dir: 'sns-https', clients: ['dynamodb', 'sqs'] },
  ingest: { dir: 'ingest', clients: ['dynamodb', 'sqs'] },
  deliver: { dir: 'deliver', clients: ['dynamodb', 'sqs', 'secretsManager'] },
};

const IMPORTS: Record<Client, { readonly imports: string; readonly construct: string }> = {
  dynamodb: {
    imports: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';",
    construct: 'DynamoDBDocumentClient.from(new DynamoDBClient({}))',
  },
  sesv2: { imports: "import { SESv2Client } from '@aws-sdk/client-sesv2';", construct: 'new SESv2Client({})' },
  sqs: { imports: "import { SQSClient } from '@aws-sdk/client-sqs';", construct: 'new SQSClient({})' },
  secretsManager: { imports: "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';", construct: 'new SecretsManagerClient({})' },
  // The send function presigns download URLs: the presigner is part of what it cannot do without.
  s3: { imports: "import { S3Client } from '@aws-sdk/client-s3';\nimport { getSignedUrl } from '@aws-sdk/s3-request-presigner';", construct: 'new S3Client({}), getSignedUrl' },
};

/** The floor's source: the function's clients, imported and constructed at module scope, nothing else. */
export function floorSource(clients: readonly Client[]): string {
  return [
    ...clients.map((c) => IMPORTS[c].imports),
    `const clients = [${clients.map((c) => IMPORTS[c].construct).join(', ')}];`,
    'export const handler = async () => clients.length;',
  ].join('\n');
}

/** `handlerSourceMaps`: the handler with a source map, to measure NODE_OPTIONS=--enable-source-maps. */
export type Variant = 'handler' | 'floor' | 'handlerSdkExternal' | 'floorSdkExternal' | 'handlerSourceMaps';

export interface BuiltBundle {
  readonly file: string;
  readonly bytes: number;
}

export type BuiltFunction = Record<Variant, BuiltBundle>;

export async function buildBundles(): Promise<Record<FunctionName, BuiltFunction>> {
  rmSync(OUT_DIR, { recursive: true, force: true });
  const out = {} as Record<FunctionName, BuiltFunction>;
  for (const [name, fn] of Object.entries(FUNCTIONS) as [FunctionName, (typeof FUNCTIONS)[FunctionName]][]) {
    const built = {} as BuiltFunction;
    for (const variant of ['handler', 'floor', 'handlerSdkExternal', 'floorSdkExternal', 'handlerSourceMaps'] as const) {
      const outfile = join(OUT_DIR, name, variant, 'index.js');
      mkdirSync(join(OUT_DIR, name, variant), { recursive: true });
      const sdkExternal = variant.endsWith('SdkExternal');
      const options = esbuildOptions(lambdaBundling({ bundleAwsSdk: !sdkExternal, sourceMap: variant === 'handlerSourceMaps' }));
      await build({
        ...options,
        ...(variant.startsWith('handler')
          ? { entryPoints: [join(ROOT, 'lambdas', fn.dir, 'handler.ts')] }
          : { stdin: { contents: floorSource(fn.clients), resolveDir: ROOT, sourcefile: `${name}-floor.ts`, loader: 'ts' } }),
        outfile,
        logLevel: 'error',
      });
      built[variant] = { file: outfile, bytes: statSync(outfile).size };
    }
    out[name] = built;
  }
  return out;
}
