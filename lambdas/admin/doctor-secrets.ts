/**
 * The key that encrypts webhook signing secrets: readable, and a 32-byte key. Read with the
 * operator's credentials, through the same provider the functions use (adapters/secrets.ts); the
 * key itself is never printed.
 */
import { ConfigError } from '../core/config';
import { parseKey, secretsManagerKeyProvider } from '../core/adapters/secrets';
import { type CheckResult, type DoctorDeps, describeError, fail, ok } from './doctor-check';
import { unset } from './doctor-config';

const NAME = 'secrets key';

/** Stands in for Secrets Manager in local mode. */
export const LOCAL_SECRETS_KEY = "local mode: no Secrets Manager; the key is generated once and kept in local mode's data folder (secrets-key)";

export async function checkSecretsKey(deps: Pick<DoctorDeps, 'secretsManager' | 'config'>): Promise<CheckResult[]> {
  const { config } = deps;
  if (config.secretsKey !== undefined) {
    try {
      parseKey(config.secretsKey, 'SESAME_SECRETS_KEY');
    } catch (error) {
      return [fail(NAME, `${describeError(error)}: set it to 32 random bytes, base64 or hex (openssl rand -base64 32)`)];
    }
    return [ok(NAME, `${config.local ? 'local mode: no Secrets Manager; ' : ''}the key is SESAME_SECRETS_KEY, 32 bytes`)];
  }
  if (config.local) return [ok(NAME, LOCAL_SECRETS_KEY)];
  if (config.secretsKeyArn === undefined) return [fail(NAME, unset('SESAME_SECRETS_KEY_ARN'))];
  try {
    await secretsManagerKeyProvider(deps.secretsManager, config.secretsKeyArn).key();
  } catch (error) {
    return [fail(NAME, secretsFix(error))];
  }
  return [ok(NAME, 'readable from Secrets Manager, 32 bytes')];
}

function secretsFix(error: unknown): string {
  if (error instanceof ConfigError) {
    return `${error.message}: its value was changed, and stored webhook secrets no longer open; restore the previous version (aws secretsmanager update-secret-version-stage --version-stage AWSCURRENT ...)`;
  }
  const name = (error as { name?: string }).name;
  if (name === 'ResourceNotFoundException') return `the secret does not exist (${describeError(error)}): check SESAME_SECRETS_KEY_ARN; the stack retains it, so restore it if it was deleted (aws secretsmanager restore-secret)`;
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return `these credentials may not read it (${describeError(error)}): run doctor with the stack's operator policy`;
  }
  if (name === 'DecryptionFailure') return `Secrets Manager cannot decrypt it (${describeError(error)}): check the secret's KMS key and its policy`;
  throw error;
}
