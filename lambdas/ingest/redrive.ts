/**
 * `npx sesame dlq redrive`: moves what the dead-letter queues hold back to where it came from.
 *
 * - The SNS subscription's DLQ (SESAME_EVENTS_DLQ_URL) holds SNS messages that SNS could not
 *   deliver to the ingest function; the ingest function's on-failure destination
 *   (SESAME_INGEST_FAILURE_DLQ_URL) holds invocation records whose `requestPayload` is the SNS
 *   event. Both go back through ingestion itself: the admin tool runs the ingest core with the same
 *   adapters as the function (ingest/deps.ts), rather than invoking the function, so that it needs
 *   no Lambda client and shows per message what happened. It therefore needs the ingest function's
 *   configuration (SESAME_TABLE_NAME, SESAME_EVENTS_TOPIC_ARN) and credentials that may write the
 *   table (and, once webhooks fan out, queue them). A message is deleted once ingestion is done
 *   with it (applied, a duplicate, or dropped as ingestion drops it); one that fails again stays.
 * - The webhook queue's DLQ (SESAME_WEBHOOK_DLQ_URL) is moved back to SESAME_WEBHOOK_QUEUE_URL.
 * - The inbound function's on-failure destination (SESAME_INBOUND_DLQ_URL, receiving on) goes back
 *   through the inbound core (inbound/redrive.ts).
 * - The dispatch queue's DLQ (SESAME_DISPATCH_DLQ_URL, scheduled emails) is moved back to
 *   SESAME_DISPATCH_QUEUE_URL. Dispatch claims an email with a conditional write before it sends, so
 *   a message of an email already sent or cancelled sends nothing when it comes back.
 *
 * A queue whose variable is not set is reported as skipped.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SNSEvent, SNSEventRecord } from 'aws-lambda';
import { ConfigError, type DlqConfig, readDlqConfig, readInboundConfig, readIngestConfig } from '../core/config';
import { sqsClient } from '../core/clients';
import { dlqBodyObject, type DrainOptions, type DrainResult, moveMessages, type ReprocessResult, reprocessQueue } from '../core/adapters/dlq';
import { type Logger, stderrLogger } from '../core/log';
import { type IngestDeps, ingestSnsEvent } from './core';
import { ingestDeps } from './deps';
import type { InboundDeps } from '../inbound/core';
import { inboundDeps } from '../inbound/deps';
import { redriveInboundQueue } from '../inbound/redrive';

/**
 * The SNS event a DLQ message stands for: an invocation record of the Lambda on-failure destination
 * (`requestPayload`), an SNS message as the subscription's DLQ keeps it, or an SNS event itself.
 */
export function snsEventFromDlqBody(body: string): SNSEvent | undefined {
  const value = dlqBodyObject(body);
  if (value === undefined) return undefined;
  const payload = value.requestPayload as { Records?: unknown } | undefined;
  if (payload && Array.isArray(payload.Records)) return payload as SNSEvent;
  if (Array.isArray(value.Records)) return value as unknown as SNSEvent;
  if (typeof value.Type === 'string' && typeof value.TopicArn === 'string' && typeof value.Message === 'string') {
    const sns = { ...value } as Record<string, unknown>;
    // HTTP and DLQ spell these ...URL; a Lambda record spells them ...Url.
    if ('SigningCertURL' in sns) sns.SigningCertUrl = sns.SigningCertURL;
    if ('UnsubscribeURL' in sns) sns.UnsubscribeUrl = sns.UnsubscribeURL;
    delete sns.SigningCertURL;
    delete sns.UnsubscribeURL;
    const record = { EventSource: 'aws:sns', EventVersion: '1.0', EventSubscriptionArn: '', Sns: sns } as unknown as SNSEventRecord;
    return { Records: [record] };
  }
  return undefined;
}

export type IngestRedriveResult = ReprocessResult;

/** Re-ingests every message of an ingest DLQ; deletes those ingestion is done with. */
export function redriveIngestQueue(client: SQSClient, queueUrl: string, deps: IngestDeps, options: DrainOptions = {}): Promise<IngestRedriveResult> {
  return reprocessQueue(client, queueUrl, {
    read: snsEventFromDlqBody,
    process: async (event) => { await ingestSnsEvent(deps, event); },
    log: deps.log,
    unreadableMessage: 'DLQ message kept: not an SNS message nor an invocation record',
    failedMessage: 'DLQ message kept: ingestion failed again',
  }, options);
}

export type QueueReport = { readonly skipped: string } | (DrainResult & { readonly unreadable?: number });

export interface RedriveReport {
  readonly events_dlq: QueueReport;
  readonly ingest_failure_dlq: QueueReport;
  readonly webhook_dlq: QueueReport;
  readonly inbound_dlq: QueueReport;
  readonly dispatch_dlq: QueueReport;
}

export interface RedriveDeps {
  readonly sqs: SQSClient;
  readonly config: DlqConfig;
  /** Built only when an ingest DLQ is configured. */
  ingest(): IngestDeps;
  /** Built only when the inbound DLQ is configured. */
  inbound(): InboundDeps;
  readonly options?: DrainOptions;
}

const skipped = (name: string): QueueReport => ({ skipped: `${name} is not set` });

export async function redriveDlqs(deps: RedriveDeps): Promise<RedriveReport> {
  const { config, sqs, options } = deps;
  if (!config.eventsDlqUrl && !config.ingestFailureDlqUrl && !config.webhookDlqUrl && !config.inboundDlqUrl && !config.dispatchDlqUrl) {
    throw new ConfigError(
      'No DLQ to redrive: set SESAME_EVENTS_DLQ_URL, SESAME_INGEST_FAILURE_DLQ_URL, SESAME_WEBHOOK_DLQ_URL, SESAME_INBOUND_DLQ_URL and/or SESAME_DISPATCH_DLQ_URL (the stack\'s AdminEnvironment output names them)',
    );
  }
  let ingest: IngestDeps | undefined;
  const ingestDepsOnce = () => (ingest ??= deps.ingest());
  return {
    events_dlq: config.eventsDlqUrl ? await redriveIngestQueue(sqs, config.eventsDlqUrl, ingestDepsOnce(), options) : skipped('SESAME_EVENTS_DLQ_URL'),
    ingest_failure_dlq: config.ingestFailureDlqUrl
      ? await redriveIngestQueue(sqs, config.ingestFailureDlqUrl, ingestDepsOnce(), options)
      : skipped('SESAME_INGEST_FAILURE_DLQ_URL'),
    webhook_dlq: config.webhookDlqUrl ? await moveMessages(sqs, config.webhookDlqUrl, config.webhookQueueUrl!, options) : skipped('SESAME_WEBHOOK_DLQ_URL'),
    inbound_dlq: config.inboundDlqUrl ? await redriveInboundQueue(sqs, config.inboundDlqUrl, deps.inbound(), options) : skipped('SESAME_INBOUND_DLQ_URL'),
    dispatch_dlq: config.dispatchDlqUrl ? await moveMessages(sqs, config.dispatchDlqUrl, config.dispatchQueueUrl!, options) : skipped('SESAME_DISPATCH_DLQ_URL'),
  };
}

/**
 * The admin command, configured from the environment. The admin tool prints its one result on
 * stdout: what ingestion logs goes to stderr.
 */
export async function redriveFromEnv(env: Record<string, string | undefined> = process.env, log: Logger = stderrLogger({ component: 'dlq-redrive' })): Promise<RedriveReport> {
  return redriveDlqs({
    sqs: sqsClient(),
    config: readDlqConfig(env),
    ingest: () => ({ ...ingestDeps(readIngestConfig(env)), log }),
    inbound: () => ({ ...inboundDeps(readInboundConfig(env)), log }),
  });
}
