/**
 * Dead-letter queues: drain one, handing each message to a handler, and delete only what the handler
 * dealt with; or move every message to another queue (body and message attributes kept). Used by
 * `npx sesame dlq redrive`. Receive, send, delete: what SQS does for StartMessageMoveTask, done by
 * hand so that it also runs against the local SQS and for queues that need a handler.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '../log';

export interface DrainOptions {
  /** Seconds a received message stays hidden; messages not dealt with reappear after it. @default 300 */
  readonly visibilityTimeout?: number;
  /** Long-poll seconds of each receive; a short poll may miss messages of a small queue. @default 1 */
  readonly waitTimeSeconds?: number;
  /** Stop after this many messages. @default unlimited */
  readonly maxMessages?: number;
}

export interface DrainResult {
  readonly received: number;
  /** Dealt with and deleted from the queue. */
  readonly done: number;
  /** Left in the queue (visible again after the visibility timeout). */
  readonly kept: number;
}

/** Per message: true when it was dealt with and may be deleted. */
export type BatchHandler = (messages: readonly Message[]) => Promise<readonly boolean[]>;

/** A DLQ message's body as a JSON object; undefined when it is not one. */
export function dlqBodyObject(body: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(body);
    return typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface ReprocessResult extends DrainResult {
  /** Messages the reader could not make sense of: kept, logged. */
  readonly unreadable: number;
}

/** How a DLQ's messages are processed again: read a body into work, do it, and what to log when kept. */
export interface Reprocessing<T> {
  /** The work a body stands for; undefined when it is unreadable. */
  readonly read: (body: string) => T | undefined;
  readonly process: (work: T) => Promise<void>;
  readonly log: Logger;
  /** The error line of a message kept as unreadable. */
  readonly unreadableMessage: string;
  /** The error line of a message whose processing failed again. */
  readonly failedMessage: string;
}

/**
 * Drains a DLQ through the function's own processing: a message is deleted once its work is done,
 * kept (and logged) when unreadable or when the work fails again.
 */
export async function reprocessQueue<T>(client: SQSClient, queueUrl: string, how: Reprocessing<T>, options: DrainOptions = {}): Promise<ReprocessResult> {
  let unreadable = 0;
  const result = await drainQueue(client, queueUrl, async (messages: readonly Message[]) => {
    const verdicts: boolean[] = [];
    for (const message of messages) {
      const work = how.read(message.Body ?? '');
      if (work === undefined) {
        unreadable++;
        how.log.error(how.unreadableMessage, { sqsMessageId: message.MessageId });
        verdicts.push(false);
        continue;
      }
      try {
        await how.process(work);
        verdicts.push(true);
      } catch (error) {
        how.log.error(how.failedMessage, { sqsMessageId: message.MessageId, error });
        verdicts.push(false);
      }
    }
    return verdicts;
  }, options);
  return { ...result, unreadable };
}

export async function drainQueue(client: SQSClient, queueUrl: string, handle: BatchHandler, options: DrainOptions = {}): Promise<DrainResult> {
  const seen = new Set<string>();
  let received = 0;
  let done = 0;
  const max = options.maxMessages ?? Number.POSITIVE_INFINITY;
  while (received < max) {
    const res = await client.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(10, max - received),
      WaitTimeSeconds: options.waitTimeSeconds ?? 1,
      VisibilityTimeout: options.visibilityTimeout ?? 300,
      MessageAttributeNames: ['All'],
    }));
    // A message seen already (kept, and visible again in a long run) ends the drain.
    const fresh = (res.Messages ?? []).filter((m) => m.MessageId !== undefined && !seen.has(m.MessageId));
    if (fresh.length === 0) break;
    for (const m of fresh) seen.add(m.MessageId!);
    received += fresh.length;
    const verdicts = await handle(fresh);
    const handled = fresh.filter((_, i) => verdicts[i] === true);
    if (handled.length > 0) done += await deleteMessages(client, queueUrl, handled);
  }
  return { received, done, kept: received - done };
}

async function deleteMessages(client: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<number> {
  const res = await client.send(new DeleteMessageBatchCommand({
    QueueUrl: queueUrl,
    Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
  }));
  return res.Successful?.length ?? 0;
}

/** Received attributes as SendMessage takes them (list values are not supported there). */
function sendableAttributes(attributes: Message['MessageAttributes']): Record<string, MessageAttributeValue> | undefined {
  if (!attributes) return undefined;
  const out: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (!value.DataType) continue;
    out[name] = {
      DataType: value.DataType,
      ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Moves every message of `fromUrl` to `toUrl`: sent there first, then deleted here. */
export async function moveMessages(client: SQSClient, fromUrl: string, toUrl: string, options: DrainOptions = {}): Promise<DrainResult> {
  return drainQueue(client, fromUrl, async (messages) => {
    const res = await client.send(new SendMessageBatchCommand({
      QueueUrl: toUrl,
      Entries: messages.map((m, i) => {
        const attributes = sendableAttributes(m.MessageAttributes);
        return { Id: String(i), MessageBody: m.Body ?? '', ...(attributes ? { MessageAttributes: attributes } : {}) };
      }),
    }));
    const sent = new Set((res.Successful ?? []).map((s) => s.Id));
    return messages.map((_, i) => sent.has(String(i)));
  }, options);
}
