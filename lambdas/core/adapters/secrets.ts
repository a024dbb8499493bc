/**
 * Webhook signing secrets at rest: AES-256-GCM under a 32-byte key, with the webhook id as
 * additional authenticated data (a sealed secret copied onto another webhook does not open).
 *
 * The key comes from a KeyProvider: in AWS, the Secrets Manager secret named by
 * SESAME_SECRETS_KEY_ARN (64 hex characters, see lib/secrets-key.ts), fetched once per container
 * on first use; in local mode and tests, SESAME_SECRETS_KEY (base64 of 32 bytes, or 64 hex).
 * Neither the key nor any secret is ever logged.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretsClient } from '../clients';
import { ConfigError } from '../config';

export interface KeyProvider {
  /** The 32-byte key. */
  key(): Promise<Buffer>;
}

/** Reads a 32-byte key written as 64 hex characters or as base64. */
export function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) throw new ConfigError(`${source} must be 32 bytes, as 64 hex characters or base64`);
  return key;
}

export function staticKeyProvider(text: string, source = 'SESAME_SECRETS_KEY'): KeyProvider {
  const key = parseKey(text, source);
  return { key: async () => key };
}

/** Fetches the key once per container; a failed fetch is not cached, so the next call retries. */
export function secretsManagerKeyProvider(client: Pick<SecretsManagerClient, 'send'>, secretArn: string): KeyProvider {
  let pending: Promise<Buffer> | undefined;
  return {
    key() {
      pending ??= client.send(new GetSecretValueCommand({ SecretId: secretArn })).then(
        (res) => {
          if (res.SecretString === undefined) throw new ConfigError('The signing-secrets key has no SecretString');
          return parseKey(res.SecretString, 'The signing-secrets key');
        },
        (error: unknown) => {
          pending = undefined;
          throw error;
        },
      );
      return pending;
    },
  };
}

/**
 * The provider that configuration asks for: SESAME_SECRETS_KEY when set (local mode, tests),
 * else the Secrets Manager secret SESAME_SECRETS_KEY_ARN (client built on first use). Fails at cold
 * start when neither is set.
 */
export function keyProviderFromConfig(config: { readonly secretsKey?: string; readonly secretsKeyArn?: string }): KeyProvider {
  if (config.secretsKey !== undefined) return staticKeyProvider(config.secretsKey);
  if (config.secretsKeyArn !== undefined) {
    const arn = config.secretsKeyArn;
    let provider: KeyProvider | undefined;
    return { key: () => (provider ??= secretsManagerKeyProvider(secretsClient(), arn)).key() };
  }
  throw new ConfigError('Missing required environment variable SESAME_SECRETS_KEY_ARN (or SESAME_SECRETS_KEY in local mode)');
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  constructor(private readonly keys: KeyProvider) {}

  /** `v1.<base64 of iv | tag | ciphertext>`, bound to `context` (the webhook id). */
  async seal(plaintext: string, context: string): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await this.keys.key(), iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
  }

  async open(sealed: string, context: string): Promise<string> {
    const [version, data] = sealed.split('.', 2);
    if (version !== VERSION || data === undefined) throw new Error('Unknown sealed secret format');
    const raw = Buffer.from(data, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', await this.keys.key(), raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
