import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { keyProviderFromConfig, parseKey, SecretBox, secretsManagerKeyProvider, staticKeyProvider } from '../../lambdas/core/adapters/secrets';

const key = randomBytes(32);

describe('SecretBox', () => {
  it('seals a secret so that it opens only with the same key and context', async () => {
    const box = new SecretBox(staticKeyProvider(key.toString('base64')));
    const sealed = await box.seal('whsec_abc', 'webhook-1');
    expect(sealed).not.toContain('whsec_abc');
    expect(sealed).toMatch(/^v1\./);
    await expect(box.open(sealed, 'webhook-1')).resolves.toBe('whsec_abc');
    await expect(box.open(sealed, 'webhook-2')).rejects.toThrow();
    const other = new SecretBox(staticKeyProvider(randomBytes(32).toString('hex')));
    await expect(other.open(sealed, 'webhook-1')).rejects.toThrow();
    expect(await box.seal('whsec_abc', 'webhook-1')).not.toBe(sealed); // fresh IV each time
  });

  it('reads a 32-byte key as 64 hex characters (the deployed secret) or base64 (local mode)', () => {
    expect(parseKey(key.toString('hex'), 'k')).toEqual(key);
    expect(parseKey(key.toString('base64'), 'k')).toEqual(key);
    expect(() => parseKey(randomBytes(16).toString('base64'), 'SESAME_SECRETS_KEY')).toThrow(/SESAME_SECRETS_KEY must be 32 bytes/);
  });

  it('fetches the key from Secrets Manager once per container, retrying after a failure', async () => {
    const calls: string[] = [];
    let fail = true;
    const client = {
      send: async (cmd: GetSecretValueCommand) => {
        calls.push(cmd.input.SecretId!);
        if (fail) throw new Error('throttled');
        return { SecretString: key.toString('hex') };
      },
    };
    const provider = secretsManagerKeyProvider(client as never, 'arn:aws:secretsmanager:us-east-1:123456789012:secret:k');
    await expect(provider.key()).rejects.toThrow('throttled');
    fail = false;
    await expect(provider.key()).resolves.toEqual(key);
    await expect(provider.key()).resolves.toEqual(key);
    expect(calls).toHaveLength(2);
  });

  it('fails loudly when neither the key nor its ARN is configured', () => {
    expect(() => keyProviderFromConfig({})).toThrow(/SESAME_SECRETS_KEY_ARN/);
  });
});
