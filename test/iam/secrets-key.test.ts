/**
 * account and deliver read the key of webhook signing secrets from Secrets Manager in AWS; the
 * other suites run with SESAME_SECRETS_KEY instead. No local service speaks the Secrets Manager
 * protocol, so this test answers GetSecretValue in memory at the SDK's HTTP handler (the SDK still
 * builds, signs and parses the request, and the recording middleware sees it): the production
 * path, from the configuration to the SDK client of lambdas/core/clients.ts, runs under each
 * function's name, and the IAM check evaluates its call like any other.
 */
import { randomBytes } from 'node:crypto';
import { configureClients } from '../../lambdas/core/clients';
import { runAs } from '../../lambdas/core/aws-calls';
import { keyProviderFromConfig } from '../../lambdas/core/adapters/secrets';

const key = randomBytes(32);
const secretArn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:sesame-secrets-key-AbCdEf';
const requests: { target: string; body: string }[] = [];

beforeAll(() => {
  configureClients({
    requestHandler: {
      metadata: { handlerProtocol: 'http/1.1' },
      async handle(request: { headers: Record<string, string>; body?: unknown }) {
        requests.push({ target: request.headers['x-amz-target'] ?? '', body: Buffer.from(request.body as Uint8Array).toString('utf8') });
        const body = JSON.stringify({ ARN: secretArn, Name: 'sesame-secrets-key', SecretString: key.toString('hex'), VersionId: 'v1' });
        return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: Buffer.from(body) } };
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs: () => ({}),
      destroy() {},
    } as never,
  });
});

it.each(['account', 'deliver'] as const)('%s reads the signing-secrets key named by SESAME_SECRETS_KEY_ARN from Secrets Manager, once', async (fn) => {
  // Prepare
  const provider = keyProviderFromConfig({ secretsKeyArn: secretArn });
  const before = requests.length;
  // Act
  const first = await runAs(fn, () => provider.key());
  const second = await runAs(fn, () => provider.key());
  // Assess
  expect(first).toEqual(key);
  expect(second).toEqual(key);
  expect(requests.slice(before)).toEqual([{ target: 'secretsmanager.GetSecretValue', body: JSON.stringify({ SecretId: secretArn }) }]);
});
