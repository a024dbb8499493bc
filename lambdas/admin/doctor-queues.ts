/**
 * The depth of every dead-letter queue. A parked message is not lost (each DLQ keeps messages 14
 * days and has an alarm), and the stack still sends, so a non-empty DLQ is a `warn` whose fix is
 * `npx sesame dlq redrive` once the cause is found; a queue that cannot be read is a `fail`.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { type CheckResult, type DoctorDeps, fail, ok, warn } from './doctor-check';
import { type DoctorConfig, type DoctorVariable, unset } from './doctor-config';

interface DeadLetterQueue {
  readonly name: string;
  readonly variable: DoctorVariable;
  readonly url: (config: DoctorConfig) => string | undefined;
  /** What stands in for the queue in local mode, which has none; absent when local mode has the queue. */
  readonly local?: string;
  /** Where the messages come from, for the message. */
  readonly holds: string;
  /** Why the stack has no such queue, when the configuration says so (a feature that is off). */
  readonly absent?: (config: DoctorConfig) => string | undefined;
}

export const DEAD_LETTER_QUEUES: readonly DeadLetterQueue[] = [
  {
    name: 'dlq events',
    variable: 'SESAME_EVENTS_DLQ_URL',
    url: (c) => c.eventsDlqUrl,
    local: 'local mode: no SNS subscription, so no dead-letter queue for it; events go to the ingest handler in-process',
    holds: 'SES events SNS could not hand to the ingest function',
  },
  {
    name: 'dlq ingest failures',
    variable: 'SESAME_INGEST_FAILURE_DLQ_URL',
    url: (c) => c.ingestFailureDlqUrl,
    local: 'local mode: no on-failure queue; local mode retries a failed event in-process and logs what still fails',
    holds: 'SES events whose ingestion failed every attempt',
  },
  {
    name: 'dlq webhooks',
    variable: 'SESAME_WEBHOOK_DLQ_URL',
    url: (c) => c.webhookDlqUrl,
    holds: 'webhook deliveries the deliver function could not finish',
  },
  {
    name: 'dlq inbound',
    variable: 'SESAME_INBOUND_DLQ_URL',
    url: (c) => c.inboundDlqUrl,
    holds: 'SES receipt events the inbound function failed on every attempt',
    absent: (c) => (c.receiptRuleSet === undefined ? 'receiving is off for the stack (SESAME_RECEIPT_RULE_SET is empty): no inbound queue' : undefined),
  },
  {
    name: 'dlq dispatch',
    variable: 'SESAME_DISPATCH_DLQ_URL',
    url: (c) => c.dispatchDlqUrl,
    holds: 'scheduled emails the dispatch function could not process',
  },
];

export async function checkDeadLetterQueues(deps: Pick<DoctorDeps, 'sqs' | 'config'>): Promise<CheckResult[]> {
  return Promise.all(DEAD_LETTER_QUEUES.map((queue) => checkQueue(deps, queue)));
}

const QUEUE_GONE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'QueueDoesNotExistException']);

async function checkQueue(deps: Pick<DoctorDeps, 'sqs' | 'config'>, queue: DeadLetterQueue): Promise<CheckResult> {
  const url = queue.url(deps.config);
  if (url === undefined) {
    const absent = deps.config.local ? undefined : queue.absent?.(deps.config);
    if (absent !== undefined) return ok(queue.name, absent);
    return deps.config.local && queue.local !== undefined ? ok(queue.name, queue.local) : warn(queue.name, `depth unknown: ${unset(queue.variable)}`);
  }
  let attributes: Record<string, string>;
  try {
    const res = await deps.sqs.send(new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }));
    attributes = res.Attributes ?? {};
  } catch (error) {
    if (!QUEUE_GONE.has((error as { name?: string }).name ?? '')) throw error;
    return fail(queue.name, `the queue ${url} does not exist: deploy the stack (cdk deploy), or check ${queue.variable}`);
  }
  const count = (key: string) => Number(attributes[key] ?? 0) || 0;
  const depth = count('ApproximateNumberOfMessages') + count('ApproximateNumberOfMessagesNotVisible') + count('ApproximateNumberOfMessagesDelayed');
  if (depth === 0) return ok(queue.name, 'empty');
  return warn(queue.name, `${depth} message${depth === 1 ? '' : 's'} parked (${queue.holds}): find the cause in the logs, then move them back with npx sesame dlq redrive`);
}
