/**
 * The local SQS's queues and messages, in memory, changed only by records: every operation builds
 * the records that describe its change, applies them, and returns them, so that the server can
 * journal them (journal.ts) and a restart rebuilds the same state by applying them again. No I/O.
 *
 * Semantics follow standard SQS queues where a caller can tell:
 * - a message is visible from its send (plus DelaySeconds); a receive hides it for the visibility
 *   timeout, counts the receive, and hands out a new receipt handle; a message not deleted comes
 *   back when its visibility timeout ends;
 * - DeleteMessage and ChangeMessageVisibility take the latest receipt handle; an older one deletes
 *   nothing (and succeeds), as SQS documents; ChangeMessageVisibility on a message that is not in
 *   flight fails with MessageNotInflight, and may not end more than 12 hours after the receive;
 * - with a RedrivePolicy, a message received maxReceiveCount times moves to the dead-letter queue
 *   at the next receive instead of being delivered; it keeps its id, body, attributes and sent
 *   time, and its receive count starts again;
 * - a message older than its queue's MessageRetentionPeriod (from its first send) is deleted.
 * Standard queues only: FIFO queues are refused.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SqsError, type WireAttributeValue } from './sqs-wire';

export const ACCOUNT_ID = '000000000000';
/** SQS's longest visibility, counted from the receive. */
const MAX_VISIBILITY_MS = 12 * 3600 * 1000;

export interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly attributes?: Record<string, WireAttributeValue>;
  readonly md5OfAttributes?: string;
  readonly sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  receivedAt?: number;
  handle?: string;
}

interface Queue {
  readonly name: string;
  readonly createdAt: number;
  modifiedAt: number;
  attributes: Record<string, string>;
  /** In send order: a receive takes the oldest visible messages first. */
  messages: Map<string, StoredMessage>;
}

export type SqsRecord =
  | { readonly t: 'create'; readonly q: string; readonly at: number; readonly attributes: Record<string, string> }
  | { readonly t: 'send'; readonly q: string; readonly m: StoredMessage }
  | { readonly t: 'recv'; readonly q: string; readonly id: string; readonly handle: string; readonly at: number; readonly visibleAt: number }
  | { readonly t: 'vis'; readonly q: string; readonly id: string; readonly visibleAt: number }
  | { readonly t: 'del'; readonly q: string; readonly id: string }
  | { readonly t: 'move'; readonly q: string; readonly id: string; readonly to: string; readonly at: number }
  | { readonly t: 'purge'; readonly q: string; readonly at: number };

export interface SqsSnapshot {
  readonly queues: readonly (Omit<Queue, 'messages'> & { messages: StoredMessage[] })[];
}

const DEFAULTS: Record<string, string> = {
  VisibilityTimeout: '30',
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
  MaximumMessageSize: '1048576',
  SqsManagedSseEnabled: 'true',
};

/** Settable attributes and their ranges (integers), as CreateQueue checks them. */
const RANGES: Record<string, [number, number]> = {
  VisibilityTimeout: [0, 43200],
  MessageRetentionPeriod: [60, 1209600],
  DelaySeconds: [0, 900],
  ReceiveMessageWaitTimeSeconds: [0, 20],
  MaximumMessageSize: [1024, 1048576],
  KmsDataKeyReusePeriodSeconds: [60, 86400],
};
const OTHER_SETTABLE = new Set(['RedrivePolicy', 'RedriveAllowPolicy', 'Policy', 'SqsManagedSseEnabled', 'KmsMasterKeyId']);
const COMPUTED = [
  'QueueArn',
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'CreatedTimestamp',
  'LastModifiedTimestamp',
] as const;

export const isQueueName = (name: string): boolean => /^[A-Za-z0-9_-]{1,80}$/.test(name);

export interface ReceiveOptions {
  readonly max: number;
  /** Seconds; the queue's VisibilityTimeout when absent. */
  readonly visibilityTimeout?: number;
}

export class SqsState {
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly region: string) {}

  arnOf(name: string): string {
    return `arn:aws:sqs:${this.region}:${ACCOUNT_ID}:${name}`;
  }

  /** Rebuilds the state from a snapshot (SqsSnapshot) and the records journaled after it. */
  restore(snapshot: unknown, records: readonly SqsRecord[]): void {
    this.queues.clear();
    for (const q of (snapshot as SqsSnapshot | undefined)?.queues ?? []) {
      this.queues.set(q.name, { ...q, attributes: { ...q.attributes }, messages: new Map(q.messages.map((m) => [m.id, { ...m }])) });
    }
    for (const record of records) this.apply(record);
  }

  snapshot(): SqsSnapshot {
    return { queues: [...this.queues.values()].map((q) => ({ ...q, messages: [...q.messages.values()] })) };
  }

  /** Applies one record. Replaying tolerates what a crash may leave (a record about a message already gone). */
  apply(record: SqsRecord): void {
    if (record.t === 'create') {
      const existing = this.queues.get(record.q);
      if (existing) {
        existing.attributes = { ...record.attributes };
        existing.modifiedAt = record.at;
      } else {
        this.queues.set(record.q, { name: record.q, createdAt: record.at, modifiedAt: record.at, attributes: { ...record.attributes }, messages: new Map() });
      }
      return;
    }
    const queue = this.queues.get(record.q);
    if (!queue) return;
    switch (record.t) {
      case 'send':
        queue.messages.set(record.m.id, { ...record.m });
        return;
      case 'purge':
        queue.messages.clear();
        return;
      case 'del':
        queue.messages.delete(record.id);
        return;
    }
    const message = queue.messages.get(record.id);
    if (!message) return;
    switch (record.t) {
      case 'recv':
        message.receiveCount += 1;
        message.firstReceiveAt ??= record.at;
        message.receivedAt = record.at;
        message.visibleAt = record.visibleAt;
        message.handle = record.handle;
        return;
      case 'vis':
        message.visibleAt = record.visibleAt;
        return;
      case 'move': {
        queue.messages.delete(record.id);
        const target = this.queues.get(record.to);
        if (!target) return;
        const { id, body, md5OfBody, attributes, md5OfAttributes, sentAt } = message;
        target.messages.set(id, {
          id, body, md5OfBody, sentAt, visibleAt: record.at, receiveCount: 0,
          ...(attributes ? { attributes } : {}), ...(md5OfAttributes ? { md5OfAttributes } : {}),
        });
        return;
      }
    }
  }

  private commit(records: SqsRecord[], record: SqsRecord): void {
    this.apply(record);
    records.push(record);
  }

  queue(name: string): Queue {
    const queue = this.queues.get(name);
    if (!queue) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  queueNames(): string[] {
    return [...this.queues.keys()].sort();
  }

  /**
   * CreateQueue: a new queue, or the existing one when every attribute given has its value
   * (otherwise QueueNameExists, as SQS answers).
   */
  createQueue(name: string, given: Readonly<Record<string, string>>, now: number): SqsRecord[] {
    if (name.endsWith('.fifo') || given.FifoQueue !== undefined) {
      throw new SqsError('InvalidParameterValue', 'The local SQS has standard queues only: FIFO queues are not supported.');
    }
    if (!isQueueName(name)) {
      throw new SqsError('InvalidParameterValue', 'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length');
    }
    const attributes = { ...DEFAULTS, ...this.normalise(given) };
    const existing = this.queues.get(name);
    if (existing) {
      const differs = Object.keys(given).some((key) => existing.attributes[key] !== attributes[key]);
      if (differs) throw new SqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute(s) ${Object.keys(given).join(', ')}`);
      return [];
    }
    const records: SqsRecord[] = [];
    this.commit(records, { t: 'create', q: name, at: now, attributes });
    return records;
  }

  /** Attribute values as CreateQueue checks and stores them. */
  private normalise(given: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(given)) {
      const range = RANGES[key];
      if (range) {
        const n = Number(value);
        if (!/^\d+$/.test(value) || n < range[0] || n > range[1]) {
          throw new SqsError('InvalidAttributeValue', `Invalid value for the parameter ${key}.`);
        }
        out[key] = String(n);
      } else if (key === 'RedrivePolicy') {
        out[key] = this.normaliseRedrivePolicy(value);
      } else if (OTHER_SETTABLE.has(key)) {
        out[key] = value;
      } else {
        throw new SqsError('InvalidAttributeName', `Unknown Attribute ${key}.`);
      }
    }
    return out;
  }

  private normaliseRedrivePolicy(value: string): string {
    const invalid = (why: string) => new SqsError('InvalidParameterValue', `Value ${value} for parameter RedrivePolicy is invalid. Reason: ${why}`);
    let policy: { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    try {
      policy = JSON.parse(value) as typeof policy;
    } catch {
      throw invalid('Redrive policy is not a valid JSON map.');
    }
    const count = Number(policy.maxReceiveCount);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw invalid('Invalid value for maxReceiveCount: 1 to 1000.');
    const arn = typeof policy.deadLetterTargetArn === 'string' ? policy.deadLetterTargetArn : '';
    if (!this.queues.has(this.nameOfArn(arn) ?? '')) throw invalid('Dead letter target does not exist.');
    return JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: count });
  }

  private nameOfArn(arn: string): string | undefined {
    const prefix = `arn:aws:sqs:${this.region}:${ACCOUNT_ID}:`;
    return arn.startsWith(prefix) ? arn.slice(prefix.length) : undefined;
  }

  /** GetQueueAttributes: `All` or the names asked for. */
  attributes(name: string, asked: readonly string[], now: number): Record<string, string> {
    const queue = this.queue(name);
    const known = new Set([...Object.keys(RANGES), ...OTHER_SETTABLE, ...COMPUTED]);
    for (const a of asked) {
      if (a !== 'All' && !known.has(a)) throw new SqsError('InvalidAttributeName', `Unknown Attribute ${a}.`);
    }
    const counts = this.counts(queue, now);
    const all: Record<string, string> = {
      ...queue.attributes,
      QueueArn: this.arnOf(name),
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(queue.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(queue.modifiedAt / 1000)),
    };
    if (asked.includes('All')) return all;
    return Object.fromEntries(asked.filter((a) => all[a] !== undefined).map((a) => [a, all[a]!]));
  }

  private counts(queue: Queue, now: number): { visible: number; inFlight: number; delayed: number } {
    const retention = Number(queue.attributes.MessageRetentionPeriod) * 1000;
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const m of queue.messages.values()) {
      if (m.sentAt + retention <= now) continue;
      if (m.visibleAt <= now) visible++;
      else if (m.receiveCount > 0) inFlight++;
      else delayed++;
    }
    return { visible, inFlight, delayed };
  }

  /** SendMessage of one checked message. */
  send(name: string, message: Pick<StoredMessage, 'body' | 'md5OfBody' | 'attributes' | 'md5OfAttributes'>, delaySeconds: number | undefined, now: number): { records: SqsRecord[]; message: StoredMessage } {
    const queue = this.queue(name);
    const delay = delaySeconds ?? Number(queue.attributes.DelaySeconds);
    if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
      throw new SqsError('InvalidParameterValue', `Value ${delay} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900, if provided.`);
    }
    const stored: StoredMessage = {
      id: randomUUID(),
      body: message.body,
      md5OfBody: message.md5OfBody,
      ...(message.attributes ? { attributes: message.attributes, md5OfAttributes: message.md5OfAttributes! } : {}),
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
    };
    const records: SqsRecord[] = [];
    this.commit(records, { t: 'send', q: name, m: stored });
    return { records, message: stored };
  }

  maximumMessageSize(name: string): number {
    return Number(this.queue(name).attributes.MaximumMessageSize);
  }

  /**
   * ReceiveMessage, once (the server waits and calls again for long polling): the oldest visible
   * messages, each hidden for the visibility timeout; expired ones deleted, spent ones moved to
   * the dead-letter queue.
   */
  receive(name: string, options: ReceiveOptions, now: number): { records: SqsRecord[]; messages: StoredMessage[] } {
    const queue = this.queue(name);
    const timeout = options.visibilityTimeout ?? Number(queue.attributes.VisibilityTimeout);
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 43200) {
      throw new SqsError('InvalidParameterValue', `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.`);
    }
    const retention = Number(queue.attributes.MessageRetentionPeriod) * 1000;
    const redrive = queue.attributes.RedrivePolicy ? (JSON.parse(queue.attributes.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number }) : undefined;
    const deadLetterQueue = redrive ? this.nameOfArn(redrive.deadLetterTargetArn) : undefined;
    const records: SqsRecord[] = [];
    const messages: StoredMessage[] = [];
    for (const m of [...queue.messages.values()]) {
      if (messages.length >= options.max) break;
      if (m.sentAt + retention <= now) {
        this.commit(records, { t: 'del', q: name, id: m.id });
        continue;
      }
      if (m.visibleAt > now) continue;
      if (redrive && deadLetterQueue && this.queues.has(deadLetterQueue) && m.receiveCount >= redrive.maxReceiveCount) {
        this.commit(records, { t: 'move', q: name, id: m.id, to: deadLetterQueue, at: now });
        continue;
      }
      const handle = Buffer.from(`${m.id}:${randomBytes(12).toString('base64url')}`).toString('base64url');
      this.commit(records, { t: 'recv', q: name, id: m.id, handle, at: now, visibleAt: now + timeout * 1000 });
      messages.push({ ...m });
    }
    return { records, messages };
  }

  /** When the next message of the queue becomes visible (undefined: none is waiting). */
  nextVisibleAt(name: string, now: number): number | undefined {
    let next: number | undefined;
    for (const m of this.queues.get(name)?.messages.values() ?? []) {
      if (m.visibleAt > now && (next === undefined || m.visibleAt < next)) next = m.visibleAt;
    }
    return next;
  }

  private messageOf(queue: Queue, handle: string): { id: string; message: StoredMessage | undefined } {
    const decoded = Buffer.from(handle, 'base64url').toString('utf8');
    const id = /^([0-9a-f-]{36}):[A-Za-z0-9_-]{16}$/.exec(decoded)?.[1];
    if (!id || Buffer.from(decoded).toString('base64url') !== handle) {
      throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`);
    }
    return { id, message: queue.messages.get(id) };
  }

  /** DeleteMessage: deletes with the latest receipt handle; an older handle or a message already gone is no error. */
  deleteMessage(name: string, handle: string): SqsRecord[] {
    const queue = this.queue(name);
    const { id, message } = this.messageOf(queue, handle);
    const records: SqsRecord[] = [];
    if (message && message.handle === handle) this.commit(records, { t: 'del', q: name, id });
    return records;
  }

  changeVisibility(name: string, handle: string, timeout: number, now: number): SqsRecord[] {
    const queue = this.queue(name);
    if (!Number.isInteger(timeout) || timeout < 0 || timeout > 43200) {
      throw new SqsError('InvalidParameterValue', `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.`);
    }
    const { id, message } = this.messageOf(queue, handle);
    if (!message) {
      throw new SqsError('InvalidParameterValue', `Value ${handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`);
    }
    if (message.handle !== handle || message.visibleAt <= now) throw new SqsError('MessageNotInflight', 'The message referred to is not in flight.');
    const visibleAt = now + timeout * 1000;
    if (visibleAt - (message.receivedAt ?? now) > MAX_VISIBILITY_MS) {
      throw new SqsError('InvalidParameterValue', `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].`);
    }
    const records: SqsRecord[] = [];
    this.commit(records, { t: 'vis', q: name, id, visibleAt });
    return records;
  }

  purge(name: string, now: number): SqsRecord[] {
    this.queue(name);
    const records: SqsRecord[] = [];
    this.commit(records, { t: 'purge', q: name, at: now });
    return records;
  }
}
