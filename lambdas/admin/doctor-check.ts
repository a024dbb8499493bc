/**
 * The model of `npx sesame doctor`'s checks: a result says `ok`, `warn` or `fail` with a one-line
 * message that carries the fix; a check is a small function over the adapters it reads.
 */
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SESClient } from '@aws-sdk/client-ses';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { DomainStore } from '../core/adapters/domains';
import type { IdentityService } from '../core/adapters/ses-identities';
import type { DoctorConfig } from './doctor-config';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  /** What was found and, unless `ok`, the fix. One line. */
  readonly message: string;
}

export const ok = (name: string, message: string): CheckResult => ({ name, status: 'ok', message });
export const warn = (name: string, message: string): CheckResult => ({ name, status: 'warn', message });
export const fail = (name: string, message: string): CheckResult => ({ name, status: 'fail', message });

/** One line, whatever the error carried. */
export function describeError(error: unknown): string {
  const e = error as { name?: unknown; message?: unknown } | undefined;
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(error);
  return `${name}: ${message}`.replace(/\s+/g, ' ').trim();
}

/** The adapters the checks read. Tests pass clients pointed at the local AWS-protocol services. */
export interface DoctorDeps {
  readonly config: DoctorConfig;
  readonly ses: Pick<SESv2Client, 'send'>;
  readonly sns: Pick<SNSClient, 'send'>;
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly secretsManager: Pick<SecretsManagerClient, 'send'>;
  /** Undefined when SESAME_TABLE_NAME is not set. */
  readonly domains?: Pick<DomainStore, 'listEveryTenant'>;
  readonly identities: Pick<IdentityService, 'get'>;
  /** Present when SESAME_ROUTE53_ZONES names zones. */
  readonly route53?: Pick<Route53Client, 'send'>;
  /** SES (v1 API: receipt rules have no v2 API); present when SESAME_RECEIPT_RULE_SET names Sesame's rule set. */
  readonly sesReceipt?: Pick<SESClient, 'send'>;
}

/** A group of checks; `name` stands for the group when it throws. */
export interface Check {
  readonly name: string;
  run(deps: DoctorDeps): Promise<readonly CheckResult[]>;
}

