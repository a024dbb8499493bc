/**
 * What `npx sesame doctor` reads from the environment: the same variables as the handlers and the
 * other admin commands, all optional here. A missing one is not an error of the command: the check
 * that needs it reports `fail` or `warn` and names the variable, and the others still run.
 */
import { flagEnv, optionalEnv } from '../core/config';

type Env = Record<string, string | undefined>;

/**
 * Every variable doctor reads, with what it names. The stack's `AdminEnvironment` output sets each
 * of them but SESAME_LOCAL and SESAME_SECRETS_KEY (lib/admin-environment.ts); local mode's admin
 * line sets those it has.
 */
export const DOCTOR_ENV = {
  SESAME_LOCAL: 'set to 1 by local mode: the parts local mode replaces are reported as such',
  SESAME_TABLE_NAME: 'the DynamoDB table',
  SESAME_CONFIGURATION_SET: 'the prefix of the SES configuration sets',
  SESAME_EVENTS_TOPIC_ARN: 'the SNS topic of SES events',
  SESAME_INGEST_FUNCTION_ARN: 'the ingest function, which the topic must invoke',
  SESAME_EVENTS_DLQ_URL: "the SNS subscription's dead-letter queue",
  SESAME_INGEST_FAILURE_DLQ_URL: "the ingest function's on-failure queue",
  SESAME_WEBHOOK_DLQ_URL: "the webhook queue's dead-letter queue",
  SESAME_SECRETS_KEY_ARN: 'the Secrets Manager secret holding the key of webhook signing secrets',
  SESAME_SECRETS_KEY: 'that key itself (local mode and tests)',
  SESAME_ROUTE53_ZONES: 'the Route 53 zones Sesame writes domain records into (`<zone id>:<zone name>,...`; empty: none)',
  SESAME_RECEIPT_RULE_SET: "Sesame's SES receipt rule set (empty: receiving is off for the stack)",
  SESAME_INBOUND_DLQ_URL: "the inbound function's on-failure queue (empty: receiving is off for the stack)",
  SESAME_DISPATCH_DLQ_URL: "the dispatch queue's dead-letter queue (scheduled emails)",
} as const;

export type DoctorVariable = keyof typeof DOCTOR_ENV;

export interface DoctorConfig {
  /** SESAME_LOCAL=1: running against `npm start`. */
  readonly local: boolean;
  readonly tableName?: string;
  readonly configurationSetPrefix?: string;
  readonly eventsTopicArn?: string;
  readonly ingestFunctionArn?: string;
  readonly eventsDlqUrl?: string;
  readonly ingestFailureDlqUrl?: string;
  readonly webhookDlqUrl?: string;
  readonly secretsKeyArn?: string;
  readonly secretsKey?: string;
  /** SESAME_ROUTE53_ZONES as given (doctor-route53.ts reads it). */
  readonly route53Zones?: string;
  /** SESAME_RECEIPT_RULE_SET: Sesame's receipt rule set, when receiving is on. */
  readonly receiptRuleSet?: string;
  /** SESAME_INBOUND_DLQ_URL: the inbound function's on-failure queue, when receiving is on. */
  readonly inboundDlqUrl?: string;
  /** SESAME_DISPATCH_DLQ_URL: the dispatch queue's DLQ (scheduled emails). */
  readonly dispatchDlqUrl?: string;
}

export function readDoctorConfig(env: Env = process.env): DoctorConfig {
  const pick = (name: DoctorVariable): string | undefined => {
    const value = optionalEnv(name, '', env);
    return value === '' ? undefined : value;
  };
  const fields = {
    tableName: pick('SESAME_TABLE_NAME'),
    configurationSetPrefix: pick('SESAME_CONFIGURATION_SET'),
    eventsTopicArn: pick('SESAME_EVENTS_TOPIC_ARN'),
    ingestFunctionArn: pick('SESAME_INGEST_FUNCTION_ARN'),
    eventsDlqUrl: pick('SESAME_EVENTS_DLQ_URL'),
    ingestFailureDlqUrl: pick('SESAME_INGEST_FAILURE_DLQ_URL'),
    webhookDlqUrl: pick('SESAME_WEBHOOK_DLQ_URL'),
    secretsKeyArn: pick('SESAME_SECRETS_KEY_ARN'),
    secretsKey: pick('SESAME_SECRETS_KEY'),
    route53Zones: pick('SESAME_ROUTE53_ZONES'),
    receiptRuleSet: pick('SESAME_RECEIPT_RULE_SET'),
    inboundDlqUrl: pick('SESAME_INBOUND_DLQ_URL'),
    dispatchDlqUrl: pick('SESAME_DISPATCH_DLQ_URL'),
  };
  const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
  return { local: flagEnv('SESAME_LOCAL', env), ...present };
}

/** The fix for a variable that is not set. */
export const unset = (name: DoctorVariable): string =>
  `${name} is not set: take it from the stack's AdminEnvironment output (${DOCTOR_ENV[name]})`;
