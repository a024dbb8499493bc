/**
 * The one real synth: the CDK CLI runs bin/app.ts as `cdk synth` does in CI and for a deploy,
 * esbuild bundles every function, and cdk-nag runs as a validation plugin (a violation fails it).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from './helpers';
import { FAKE_ENV } from '../../bench/cold-start';

const run = promisify(execFile);

describe('cdk synth', () => {
  let outdir: string;
  let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  /** Asset folder (in the cloud assembly) by the S3 key a function's Code points at. */
  let assetDirByKey: Map<string, string>;

  beforeAll(async () => {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sesame-synth-'));
    await run('npx', ['cdk', 'synth', '--quiet', '-o', outdir], {
      cwd: REPO_ROOT,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1' },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    }); // rejects on a non-zero exit, with the CLI's output in the error
    template = JSON.parse(fs.readFileSync(path.join(outdir, 'Sesame.template.json'), 'utf8'));
    const assets = JSON.parse(fs.readFileSync(path.join(outdir, 'Sesame.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }>;
    };
    assetDirByKey = new Map(
      Object.values(assets.files).flatMap((file) =>
        Object.values(file.destinations).map((d) => [d.objectKey, path.join(outdir, file.source.path)] as const),
      ),
    );
  }, 130_000);

  afterAll(() => {
    if (outdir) fs.rmSync(outdir, { recursive: true, force: true });
  });

  const functions = () => Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');

  it('synthesises the nine functions, each from a bundled asset', () => {
    expect(functions()).toHaveLength(9);
    for (const fn of functions()) {
      expect(fn.Properties.Code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
      const assetDir = assetDirByKey.get(fn.Properties.Code.S3Key);
      expect(assetDir && fs.existsSync(path.join(assetDir, 'index.js'))).toBe(true);
    }
  });

  it("puts the console's built assets beside its handler, each named by its content's hash", () => {
    const consoleFn = functions().find((fn) => fn.Properties.Description === 'Sesame: the console (its page and assets)')!;
    const assetDir = assetDirByKey.get(consoleFn.Properties.Code.S3Key)!;
    const assets = JSON.parse(fs.readFileSync(path.join(assetDir, 'console-assets.json'), 'utf8')) as { script: string; stylesheet: string; files: Record<string, { body: string }> };
    expect(assets.script).toMatch(/^app-[0-9a-f]{12}\.js$/);
    expect(assets.stylesheet).toMatch(/^style-[0-9a-f]{12}\.css$/);
    expect(Object.keys(assets.files).sort()).toEqual([assets.script, assets.stylesheet].sort());
    // No SDK in the console's bundle: its cold start is the runtime's alone.
    expect(fs.readFileSync(path.join(assetDir, 'index.js'), 'utf8')).not.toMatch(/@aws-sdk|DynamoDB/);
  });

  it('bundles each handler as one minified CommonJS file, without a source map (not shipped: README, "Benchmark")', () => {
    for (const fn of functions()) {
      const assetDir = assetDirByKey.get(fn.Properties.Code.S3Key)!;
      const code = fs.readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      expect(code).toMatch(/module\.exports|exports\.handler|__export/);
      expect(code).not.toMatch(/^\s*export\s/m);
      // Minified: long lines (esbuild's unminified output averages a few dozen characters a line).
      expect(code.length / code.split('\n').length).toBeGreaterThan(100);
      expect(fs.readdirSync(assetDir).filter((f) => f.endsWith('.map'))).toEqual([]);
      expect(code).not.toMatch(/sourceMappingURL/);
    }
  });

  /**
   * The bundles are what runs in AWS, not the sources the other suites run: each must load in a
   * fresh Node process with a deployed function's environment, and the API functions must answer a
   * request through their whole middleware stack (Powertools, middy, the Resend error format).
   * No AWS request is made: a request without a key is refused before any, and an endpoint that
   * refuses connections stands in for AWS in case one were.
   */
  it('each bundle initialises, and the API bundles answer a request without a key with 401 in Resend\'s format', async () => {
    const apiRoute: Record<string, string> = { send: 'GET /emails', domains: 'GET /domains', account: 'GET /api-keys' };
    const script = `
      const mod = require(process.argv[1]);
      if (typeof mod.handler !== 'function') throw new Error('no handler');
      const routeKey = process.argv[2];
      const [method, path] = (routeKey || 'GET /').split(' ');
      const event = { version: '2.0', routeKey, rawPath: path, rawQueryString: '', headers: {}, isBase64Encoded: false,
        requestContext: { requestId: 'bundle-check', http: { method, path, sourceIp: '127.0.0.1', userAgent: 'bundle-check' } } };
      const context = { awsRequestId: 'bundle-check', functionName: 'sesame-bundle-check', functionVersion: '$LATEST', memoryLimitInMB: '512',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:sesame-bundle-check', getRemainingTimeInMillis: () => 10000 };
      if (!routeKey) process.stderr.write('RESULT {}');
      else Promise.resolve(mod.handler(event, context)).then((r) => process.stderr.write('RESULT ' + JSON.stringify(r)));
    `;
    const checked: string[] = [];
    for (const fn of functions()) {
      const service = String(fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME ?? '');
      const file = path.join(assetDirByKey.get(fn.Properties.Code.S3Key)!, 'index.js');
      const env = { PATH: process.env.PATH ?? '', ...FAKE_ENV, SESAME_REQUEST_LOGS: 'false', AWS_ENDPOINT_URL: 'http://127.0.0.1:9', POWERTOOLS_SERVICE_NAME: service };
      const { stderr } = await run(process.execPath, ['-e', script, file, apiRoute[service] ?? ''], { env, timeout: 30_000 });
      const result = JSON.parse(stderr.slice(stderr.lastIndexOf('RESULT ') + 'RESULT '.length)) as { statusCode?: number; body?: string };
      if (apiRoute[service]) {
        expect(result.statusCode).toBe(401);
        expect(JSON.parse(result.body!)).toEqual({ statusCode: 401, name: 'missing_api_key', message: expect.stringContaining('Missing API key') });
      }
      checked.push(service);
    }
    expect(checked.sort()).toEqual(['account', 'console', 'deliver', 'dispatch', 'domains', 'ingest', 'send', 'sns-https', 'verify-domains']);
  }, 120_000);
});
