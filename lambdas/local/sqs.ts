/**
 * Local stand-in for SQS: fauxqs (the JSON protocol of the current SDK, visibility timeouts,
 * ChangeMessageVisibility, redrive to a DLQ as SQS does), in memory, on 127.0.0.1.
 *
 * fauxqs's own startFauxqs() binds 0.0.0.0, so this builds its app and listens on 127.0.0.1.
 * Queue URLs are built from the request's Host header: http://127.0.0.1:<port>/000000000000/<name>.
 *
 * fauxqs is ESM-only and this project compiles to CommonJS. A plain `import()` would be rewritten
 * into `require()` by the TypeScript->CJS transforms (esbuild in tsx, SWC in jest) and fail, so the
 * import is hidden in a Function body, which no transform touches. It works under tsx (the local
 * runner). It does not work inside a jest test file: jest runs test code in a vm context without
 * --experimental-vm-modules, where a dynamic import of ESM has no loader. That is why the tests'
 * fauxqs is started by jest's globalSetup (an .mjs file, test/support/global-setup.mjs, which
 * repeats these few lines), and test files only use ensureQueue against it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface StartSqsOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
}

export interface LocalSqs {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or AWS_ENDPOINT_URL_SQS. */
  readonly endpoint: string;
  readonly port: number;
  close(): Promise<void>;
}

type FauxqsApp = typeof import('fauxqs');
/** fauxqs's queue store; not exported by the package, so declared here with the one field used. */
interface SqsStoreClass {
  new (): { host: string };
}

/** A real dynamic import, invisible to the TS->CJS transforms (see the module comment). */
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

async function importEsm(specifier: string): Promise<unknown> {
  try {
    return await dynamicImport(specifier);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG') {
      throw new Error('startSqs cannot load fauxqs (ESM) inside a jest test file: use testSqs() from test/support/services.ts, whose fauxqs the jest globalSetup starts.');
    }
    throw err;
  }
}

/**
 * fauxqs's dist folder. Its package exports only "." (and only for `import`), so neither
 * require.resolve nor a deep import by name reaches dist/sqs/sqsStore.js: look the folder up on
 * Node's own module search path and import by file URL.
 */
function fauxqsDist(): string {
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const app = path.join(dir, 'fauxqs', 'dist', 'app.js');
    if (existsSync(app)) return path.dirname(app);
  }
  throw new Error('fauxqs is not installed (it is a devDependency: run npm install)');
}

export async function startSqs(options: StartSqsOptions = {}): Promise<LocalSqs> {
  const dist = fauxqsDist();
  const { buildApp } = (await importEsm(pathToFileURL(path.join(dist, 'app.js')).href)) as FauxqsApp;
  const { SqsStore } = (await importEsm(pathToFileURL(path.join(dist, 'sqs', 'sqsStore.js')).href)) as { SqsStore: SqsStoreClass };
  // fauxqs names queues http://sqs.<region>.localhost:<port>/..., a host that does not resolve here.
  // The SDK then sends to that host whenever the client's endpoint comes from AWS_ENDPOINT_URL_SQS
  // rather than from code (its QueueUrl middleware prefers the URL's host). With an empty host,
  // fauxqs builds URLs from the request's Host header instead: http://127.0.0.1:<port>/000000000000/<name>.
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  // buildApp's type asks for all three stores; it creates any that is missing (SNS, S3 are unused).
  const app = buildApp({ logger: false, stores: { sqsStore } as unknown as NonNullable<Parameters<FauxqsApp['buildApp']>[0]>['stores'] });
  await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fauxqs did not report a TCP address');
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    close: () => (closing ??= app.close()),
  };
}

export interface EnsureQueueOptions {
  /** A dead-letter queue to create beside the queue, with a redrive policy pointing at it. */
  readonly dlqName?: string;
  /** Receives before a message moves to the DLQ (default 5). Only with dlqName. */
  readonly maxReceiveCount?: number;
}

/** The DLQ keeps what it parks for 14 days, SQS's maximum, as the deployed stack does. */
const DLQ_RETENTION_SECONDS = String(14 * 24 * 3600);

/**
 * Creates the queue (and its DLQ when asked) if absent and returns the queue URL. Idempotent:
 * CreateQueue with the same attributes returns the existing queue.
 */
export async function ensureQueue(client: SQSClient, name: string, options: EnsureQueueOptions = {}): Promise<string> {
  const attributes: Record<string, string> = {};
  if (options.dlqName !== undefined) {
    const dlq = await client.send(
      new CreateQueueCommand({ QueueName: options.dlqName, Attributes: { MessageRetentionPeriod: DLQ_RETENTION_SECONDS } }),
    );
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
    const deadLetterTargetArn = Attributes?.QueueArn;
    if (!deadLetterTargetArn) throw new Error(`Queue ${options.dlqName} has no QueueArn`);
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn, maxReceiveCount: options.maxReceiveCount ?? 5 });
  } else if (options.maxReceiveCount !== undefined) {
    throw new Error('ensureQueue: maxReceiveCount needs a dlqName');
  }
  const queue = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!queue.QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  return queue.QueueUrl;
}
