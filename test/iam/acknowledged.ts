/**
 * Grants that no AWS request made under the tests uses, kept on purpose, each with its reason.
 * (What AWS services do with a function's role is acknowledged by rule in evaluate.ts, not here.)
 */
import type { Acknowledgment } from './evaluate';

const DOCTOR = 'a read-only check of `npx sesame doctor` that no admin-tool call recorded by these suites reaches (its unit tests call the checks directly, with stand-in clients)';

const SNS_HTTPS_IS_INGEST =
  "snsHttps applies each event with the ingest function's own code (ingestSnsMessage, ingestDeps), whose recorded calls use this; the SNS-over-HTTPS tests check signatures and topics, not the fan-out again";

const API_EVENTS =
  'the webhooks of events the API originates (email.scheduled, email.failed) are queued by the same WebhookFanOut as ingestion\'s, whose SendMessage and subscriber Query are recorded; the scheduling tests record these events at the EventFanOut seam';

const DISPATCH_IS_SEND =
  "dispatch sends with the send path's own code (sendToSes, configurationSetName), whose recorded calls use every configuration set; the scheduled emails of the suites come from domains without tracking";

const PREVIOUS_LAYOUT =
  'UpdateItem raises the recipient and status items of emails written before the one-write layout (applyPreviousLayout), for as long as such emails live (the retention); the suites exercise that path through the events adapter directly, and every new email is applied with one conditional PutItem';

export const ACKNOWLEDGED_UNUSED: readonly Acknowledgment[] = [
  { caller: 'snsHttps', action: 'dynamodb:UpdateItem', reason: PREVIOUS_LAYOUT },
  { caller: 'send', action: 'sqs:SendMessage', reason: API_EVENTS },
  { caller: 'dispatch', action: 'sqs:SendMessage', reason: API_EVENTS },
  { caller: 'dispatch', action: 'dynamodb:Query', reason: `${API_EVENTS}; on the table, the BODY# chunks of an email whose gzipped body is over 2 KB (EmailStore.get, recorded for send)` },
  { caller: 'dispatch', action: 'ses:SendEmail', reason: DISPATCH_IS_SEND },
  { caller: 'snsHttps', action: 'dynamodb:Query', reason: SNS_HTTPS_IS_INGEST },
  { caller: 'snsHttps', action: 'sqs:SendMessage', reason: SNS_HTTPS_IS_INGEST },
  {
    caller: 'admin',
    action: 'sqs:ReceiveMessage',
    reason: '`dlq redrive` drains the SNS subscription\'s DLQ (SESAME_EVENTS_DLQ_URL) with the code that drains the ingest failure DLQ (redriveIngestQueue), whose calls the suites record',
  },
  {
    caller: 'admin',
    action: 'sqs:DeleteMessage',
    reason: '`dlq redrive` drains the SNS subscription\'s DLQ (SESAME_EVENTS_DLQ_URL) with the code that drains the ingest failure DLQ (redriveIngestQueue), whose calls the suites record',
  },
  { caller: 'admin', action: 'ses:GetEmailIdentity', reason: DOCTOR },
  { caller: 'admin', action: 'sns:ListSubscriptionsByTopic', reason: DOCTOR },
  { caller: 'admin', action: 'sns:GetSubscriptionAttributes', reason: DOCTOR },
  { caller: 'admin', action: 'secretsmanager:GetSecretValue', reason: DOCTOR },
  { caller: 'admin', action: 'secretsmanager:DescribeSecret', reason: DOCTOR },
];
