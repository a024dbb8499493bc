/**
 * Grants that no AWS request made under the tests uses, kept on purpose, each with its reason.
 * (What AWS services do with a function's role is acknowledged by rule in evaluate.ts, not here.)
 */
import type { Acknowledgment } from './evaluate';

const DOCTOR = 'a read-only check of `npx sesame doctor`, which is not exercised by these suites';

export const ACKNOWLEDGED_UNUSED: readonly Acknowledgment[] = [
  { caller: 'admin', action: 'ses:GetAccount', reason: DOCTOR },
  { caller: 'admin', action: 'ses:GetConfigurationSet', reason: DOCTOR },
  { caller: 'admin', action: 'ses:GetConfigurationSetEventDestinations', reason: DOCTOR },
  { caller: 'admin', action: 'ses:GetEmailIdentity', reason: DOCTOR },
  { caller: 'admin', action: 'sns:ListSubscriptionsByTopic', reason: DOCTOR },
  { caller: 'admin', action: 'sns:GetSubscriptionAttributes', reason: DOCTOR },
  { caller: 'admin', action: 'sqs:GetQueueAttributes', reason: DOCTOR },
  { caller: 'admin', action: 'secretsmanager:GetSecretValue', reason: DOCTOR },
  { caller: 'admin', action: 'secretsmanager:DescribeSecret', reason: DOCTOR },
];
