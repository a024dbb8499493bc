/**
 * The SES account, from one GetAccount: whether it may send at all, the sandbox, the send quota and
 * rate, and the account-level suppression list.
 */
import { GetAccountCommand, type GetAccountCommandOutput } from '@aws-sdk/client-sesv2';
import { SUPPRESSED_REASONS } from '../core/domain/configuration-sets';
import { type CheckResult, type DoctorDeps, fail, ok, warn } from './doctor-check';

/** Past this share of the 24-hour quota, the quota check warns. */
export const QUOTA_WARNING_SHARE = 0.8;

export async function checkAccount(deps: Pick<DoctorDeps, 'ses'>): Promise<CheckResult[]> {
  return assessAccount(await deps.ses.send(new GetAccountCommand({})));
}

/** The checks of a GetAccount answer. Pure. */
export function assessAccount(account: Omit<GetAccountCommandOutput, '$metadata'>): CheckResult[] {
  return [sending(account), productionAccess(account), quota(account), suppression(account)];
}

function sending(account: Omit<GetAccountCommandOutput, '$metadata'>): CheckResult {
  const name = 'ses sending';
  const enforcement = account.EnforcementStatus ?? 'HEALTHY';
  if (account.SendingEnabled !== true) {
    return fail(name, 'sending is disabled for the account: re-enable it (aws sesv2 put-account-sending-attributes --sending-enabled) once the cause is fixed; if AWS paused it, answer the case in the AWS console');
  }
  if (enforcement === 'SHUTDOWN') return fail(name, 'AWS shut sending down for the account (enforcement status SHUTDOWN): see the SES console\'s reputation page and contact AWS Support');
  if (enforcement === 'PROBATION') {
    return warn(name, 'the account is on probation (bounce or complaint rate too high): find the cause in the SES console\'s reputation page before AWS pauses sending');
  }
  return ok(name, `enabled, enforcement status ${enforcement}`);
}

function productionAccess(account: Omit<GetAccountCommandOutput, '$metadata'>): CheckResult {
  const name = 'ses production access';
  if (account.ProductionAccessEnabled === true) return ok(name, 'production access (out of the sandbox)');
  return warn(
    name,
    'the account is in the SES sandbox: it sends only to verified addresses and the mailbox simulator (Resend\'s test addresses work); request production access: aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL --website-url <url> --use-case-description "<text>"',
  );
}

function quota(account: Omit<GetAccountCommandOutput, '$metadata'>): CheckResult {
  const name = 'ses send quota';
  const max = account.SendQuota?.Max24HourSend;
  const rate = account.SendQuota?.MaxSendRate;
  const sent = account.SendQuota?.SentLast24Hours ?? 0;
  if (max === undefined || rate === undefined) return warn(name, 'SES did not report a send quota: see the SES console\'s account dashboard');
  const summary = `${sent} of ${max} sent in the last 24 hours, at most ${rate} per second`;
  // SES reports -1 for an unlimited quota.
  if (max < 0) return ok(name, `${sent} sent in the last 24 hours (no daily limit), at most ${rate} per second`);
  if (sent >= max) return fail(name, `${summary}: SES refuses every send until the window moves on; ask for a higher quota (Service Quotas, "Sending quota")`);
  if (sent >= max * QUOTA_WARNING_SHARE) return warn(name, `${summary}: ask for a higher quota before SES refuses sends (Service Quotas, "Sending quota")`);
  return ok(name, summary);
}

function suppression(account: Omit<GetAccountCommandOutput, '$metadata'>): CheckResult {
  const name = 'ses suppression';
  const reasons = account.SuppressionAttributes?.SuppressedReasons ?? [];
  const missing = SUPPRESSED_REASONS.filter((r) => !reasons.includes(r));
  if (missing.length === 0) return ok(name, `the account suppression list takes ${reasons.join(' and ')}`);
  return warn(
    name,
    `the account suppression list does not take ${missing.join(' or ')} (Sesame's configuration sets set their own, mail sent outside them is unprotected): aws sesv2 put-account-suppression-attributes --suppressed-reasons ${SUPPRESSED_REASONS.join(' ')}`,
  );
}
