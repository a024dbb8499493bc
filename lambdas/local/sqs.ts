/**
 * Local stand-in for SQS: a small HTTP server on 127.0.0.1 that speaks SQS's JSON protocol (the
 * one the current `@aws-sdk/client-sqs` uses) well enough that the real client, pointed at it with
 * `endpoint` or AWS_ENDPOINT_URL_SQS, serialises and parses every call it answers, errors
 * included. Standard queues with what Sesame and its admin tool use:
 *
 *   CreateQueue, GetQueueUrl, GetQueueAttributes, ListQueues, SendMessage, SendMessageBatch,
 *   ReceiveMessage (visibility timeout, long polling, system attributes such as
 *   ApproximateReceiveCount, message attributes), DeleteMessage, DeleteMessageBatch,
 *   ChangeMessageVisibility, ChangeMessageVisibilityBatch, PurgeQueue,
 *   and redrive to a dead-letter queue after maxReceiveCount receives.
 * Anything else answers UnsupportedOperation. Semantics: sqs-state.ts.
 *
 * With a data folder, every change (a send, a receive with its new visibility and receive count, a
 * visibility change, a delete, a move to the DLQ) is journaled and fsynced before the answer
 * (journal.ts), and the queues are rebuilt at start: what SQS acknowledged survives kill -9.
 * Without one, queues live in memory (tests).
 *
 * Queue URLs are http://<the request's Host>/000000000000/<name>. Requests whose Host is not
 * 127.0.0.1 or localhost are refused, as by the local SES server.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Journal } from './journal';
import { ACCOUNT_ID, SqsState, type SqsRecord, type StoredMessage } from './sqs-state';
import {
  hasInvalidCharacters,
  md5Hex,
  md5OfMessageAttributes,
  messageSize,
  parseRequest,
  requests,
  SqsError,
  type SqsOperation,
  type SqsRequest,
  validateMessageAttributes,
  type WireAttributeValue,
} from './sqs-wire';
import { closeServer, listenOnLoopback } from './listen';

export interface StartSqsOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Folder for the queues' journal; in memory when absent. */
  readonly dataDir?: string;
  /** The region queue ARNs name (default us-east-1). */
  readonly region?: string;
}

export interface LocalSqs {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or AWS_ENDPOINT_URL_SQS. */
  readonly endpoint: string;
  readonly port: number;
  /** Answers waiting receives, stops the server, writes what is pending. */
  close(): Promise<void>;
}

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;
const SYSTEM_ATTRIBUTES = ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'SentTimestamp', 'SenderId'] as const;

interface Call {
  readonly host: string;
  /** Aborted when the client goes away or the server closes. */
  readonly signal: AbortSignal;
}

type Handler<O extends SqsOperation> = (input: SqsRequest<O>, call: Call) => Promise<unknown>;

export async function startSqs(options: StartSqsOptions = {}): Promise<LocalSqs> {
  const state = new SqsState(options.region ?? 'us-east-1');
  const journal = options.dataDir
    ? await Journal.open<SqsRecord>({ dir: options.dataDir, snapshot: () => state.snapshot() }, ({ state: saved, records }) => state.restore(saved, records))
    : undefined;
  const closing = new AbortController();
  const waiters = new Map<string, Set<() => void>>();

  const persist = async (records: readonly SqsRecord[]): Promise<void> => {
    if (!journal || records.length === 0) return;
    await Promise.all(records.map((r) => journal.append(r)));
  };
  /** Wakes the receives waiting on the queues these records made messages visible in. */
  const notify = (records: readonly SqsRecord[]) => {
    for (const r of records) {
      const queue = r.t === 'move' ? r.to : r.q;
      for (const wake of waiters.get(queue) ?? []) wake();
    }
  };
  const change = async (records: SqsRecord[]): Promise<void> => {
    notify(records);
    await persist(records);
  };

  const queueUrl = (host: string, name: string) => `http://${host}/${ACCOUNT_ID}/${name}`;
  const queueName = (url: string): string => {
    const path = /^https?:\/\/[^/]+(\/.*)$/.exec(url)?.[1] ?? url;
    const m = /^\/(\d{12})\/([^/]+)\/?$/.exec(path);
    if (!m || m[1] !== ACCOUNT_ID) throw new SqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    state.queue(m[2]!);
    return m[2]!;
  };

  /** Checks one message as SendMessage does; its stored form. */
  const checkedMessage = (name: string, body: string, attributes: SqsRequest<'SendMessage'>['MessageAttributes']) => {
    if (body.length === 0) throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
    if (hasInvalidCharacters(body)) {
      throw new SqsError('InvalidMessageContents', 'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF');
    }
    const stored = validateMessageAttributes(attributes);
    const max = state.maximumMessageSize(name);
    if (messageSize(body, stored) > max) throw new SqsError('InvalidParameterValue', `One or more parameters are invalid. Reason: Message must be shorter than ${max} bytes.`);
    return {
      body,
      md5OfBody: md5Hex(body),
      ...(stored ? { attributes: stored, md5OfAttributes: md5OfMessageAttributes(stored) } : {}),
    };
  };

  /** Per-entry outcomes of a batch call, after the checks that fail the whole call. */
  const batch = async <E extends { Id: string }>(entries: readonly E[], each: (entry: E) => Promise<Record<string, unknown>>) => {
    if (entries.length === 0) throw new SqsError('EmptyBatchRequest', 'There should be at least one SendMessageBatchRequestEntry in the request.');
    if (entries.length > 10) throw new SqsError('TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${entries.length}.`);
    const ids = new Set<string>();
    for (const { Id } of entries) {
      if (!BATCH_ID.test(Id)) throw new SqsError('InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.');
      if (ids.has(Id)) throw new SqsError('BatchEntryIdsNotDistinct', `Id ${Id} repeated.`);
      ids.add(Id);
    }
    const Successful: Record<string, unknown>[] = [];
    const Failed: Record<string, unknown>[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id, ...(await each(entry)) });
      } catch (error) {
        if (!(error instanceof SqsError) || error.status >= 500) throw error;
        Failed.push({ Id: entry.Id, SenderFault: true, Code: error.errorName, Message: error.message });
      }
    }
    return { Successful, ...(Failed.length > 0 ? { Failed } : {}) };
  };

  const sendOne = async (name: string, entry: SqsRequest<'SendMessage'>) => {
    const { records, message } = state.send(name, checkedMessage(name, entry.MessageBody, entry.MessageAttributes), entry.DelaySeconds, Date.now());
    await change(records);
    return {
      MessageId: message.id,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfAttributes ? { MD5OfMessageAttributes: message.md5OfAttributes } : {}),
    };
  };

  /** Waits until a message of the queue may be visible, the deadline passes, or the call ends. */
  const waitFor = (name: string, deadline: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const now = Date.now();
      const next = Math.min(deadline, state.nextVisibleAt(name, now) ?? deadline);
      const set = waiters.get(name) ?? new Set();
      waiters.set(name, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, next - now));
      set.add(done);
      signal.addEventListener('abort', done, { once: true });
    });

  const format = (m: StoredMessage, input: SqsRequest<'ReceiveMessage'>) => {
    const systemNames = [...(input.MessageSystemAttributeNames ?? []), ...(input.AttributeNames ?? [])];
    const system: Record<string, string> = {
      ApproximateReceiveCount: String(m.receiveCount),
      ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt ?? m.receivedAt ?? Date.now()),
      SentTimestamp: String(m.sentAt),
      SenderId: ACCOUNT_ID,
    };
    const attributes = Object.fromEntries(SYSTEM_ATTRIBUTES.filter((a) => systemNames.includes('All') || systemNames.includes(a)).map((a) => [a, system[a]!]));
    const wanted = input.MessageAttributeNames ?? [];
    const picked: Record<string, WireAttributeValue> = {};
    for (const [name, value] of Object.entries(m.attributes ?? {})) {
      const match = wanted.some((w) => w === 'All' || w === '.*' || w === name || (w.endsWith('.*') && name.startsWith(w.slice(0, -1))));
      if (match) picked[name] = value;
    }
    const hasPicked = Object.keys(picked).length > 0;
    return {
      MessageId: m.id,
      ReceiptHandle: m.handle,
      MD5OfBody: m.md5OfBody,
      Body: m.body,
      ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
      ...(hasPicked ? { MessageAttributes: picked, MD5OfMessageAttributes: md5OfMessageAttributes(picked) } : {}),
    };
  };

  const handlers: { [O in SqsOperation]: Handler<O> } = {
    CreateQueue: async (input, { host }) => {
      await change(state.createQueue(input.QueueName, input.Attributes ?? {}, Date.now()));
      return { QueueUrl: queueUrl(host, input.QueueName) };
    },
    GetQueueUrl: async (input, { host }) => {
      state.queue(input.QueueName);
      return { QueueUrl: queueUrl(host, input.QueueName) };
    },
    GetQueueAttributes: async (input) => ({ Attributes: state.attributes(queueName(input.QueueUrl), input.AttributeNames ?? [], Date.now()) }),
    ListQueues: async (input, { host }) => {
      const max = input.MaxResults ?? 1000;
      if (max < 1 || max > 1000) throw new SqsError('InvalidParameterValue', 'Value for parameter MaxResults is invalid. Reason: must be between 1 and 1000.');
      const all = state.queueNames().filter((n) => n.startsWith(input.QueueNamePrefix ?? '') && (input.NextToken === undefined || n > input.NextToken));
      const page = all.slice(0, max);
      return {
        ...(page.length > 0 ? { QueueUrls: page.map((n) => queueUrl(host, n)) } : {}),
        ...(all.length > max ? { NextToken: page.at(-1) } : {}),
      };
    },
    SendMessage: async (input) => sendOne(queueName(input.QueueUrl), input),
    SendMessageBatch: async (input) => {
      const name = queueName(input.QueueUrl);
      const total = input.Entries.reduce((s, e) => s + messageSize(e.MessageBody, attributesForSize(e.MessageAttributes)), 0);
      if (total > state.maximumMessageSize(name)) {
        throw new SqsError('BatchRequestTooLong', `Batch requests cannot be longer than ${state.maximumMessageSize(name)} bytes. You have sent ${total} bytes.`);
      }
      return batch(input.Entries, (entry) => sendOne(name, { QueueUrl: input.QueueUrl, ...entry }));
    },
    ReceiveMessage: async (input, { signal }) => {
      const name = queueName(input.QueueUrl);
      const max = input.MaxNumberOfMessages ?? 1;
      if (max < 1 || max > 10) throw new SqsError('InvalidParameterValue', `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
      const wait = input.WaitTimeSeconds ?? Number(state.attributes(name, ['ReceiveMessageWaitTimeSeconds'], Date.now()).ReceiveMessageWaitTimeSeconds);
      if (wait < 0 || wait > 20) throw new SqsError('InvalidParameterValue', `Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`);
      const deadline = Date.now() + wait * 1000;
      for (;;) {
        if (signal.aborted) return {}; // the client left: receive nothing it would never see
        const { records, messages } = state.receive(name, { max, ...(input.VisibilityTimeout !== undefined ? { visibilityTimeout: input.VisibilityTimeout } : {}) }, Date.now());
        await change(records);
        if (messages.length > 0 || Date.now() >= deadline || signal.aborted) {
          return messages.length > 0 ? { Messages: messages.map((m) => format(m, input)) } : {};
        }
        await waitFor(name, deadline, signal);
      }
    },
    DeleteMessage: async (input) => {
      await change(state.deleteMessage(queueName(input.QueueUrl), input.ReceiptHandle));
      return {};
    },
    DeleteMessageBatch: async (input) => {
      const name = queueName(input.QueueUrl);
      return batch(input.Entries, async (entry) => {
        await change(state.deleteMessage(name, entry.ReceiptHandle));
        return {};
      });
    },
    ChangeMessageVisibility: async (input) => {
      await change(state.changeVisibility(queueName(input.QueueUrl), input.ReceiptHandle, input.VisibilityTimeout, Date.now()));
      return {};
    },
    ChangeMessageVisibilityBatch: async (input) => {
      const name = queueName(input.QueueUrl);
      return batch(input.Entries, async (entry) => {
        await change(state.changeVisibility(name, entry.ReceiptHandle, entry.VisibilityTimeout ?? 0, Date.now()));
        return {};
      });
    },
    PurgeQueue: async (input) => {
      await change(state.purge(queueName(input.QueueUrl), Date.now()));
      return {};
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!allowedHost(req.headers.host)) throw new SqsError('InvalidParameterValue', 'Host not allowed: the local SQS answers 127.0.0.1 and localhost only.');
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : '';
    if (req.method !== 'POST' || !(operation in requests)) {
      throw new SqsError('UnsupportedOperation', `The local SQS does not implement ${operation || `${req.method} ${req.url} (it speaks the JSON protocol of the current AWS SDKs)`}.`);
    }
    const raw = await readBody(req);
    let body: unknown;
    try {
      body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SqsError('InvalidParameterValue', 'The request body is not valid JSON.');
    }
    const call = new AbortController();
    const abort = () => call.abort();
    res.once('close', abort);
    closing.signal.addEventListener('abort', abort, { once: true });
    try {
      const op = operation as SqsOperation;
      const result = await (handlers[op] as Handler<SqsOperation>)(parseRequest(op, body), { host: req.headers.host ?? '127.0.0.1', signal: call.signal });
      sendJson(res, 200, result);
    } finally {
      closing.signal.removeEventListener('abort', abort);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const sqsError = error instanceof SqsError ? error : new SqsError('InternalError', 'The local SQS failed to process the request.');
      if (!(error instanceof SqsError)) process.stderr.write(`local SQS: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}\n`);
      if (res.headersSent) return void res.destroy();
      req.resume();
      const wire = sqsError.toWire();
      sendJson(res, wire.status, wire.body, wire.headers);
    });
  });

  const port = await listenOnLoopback(server, options.port);
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      (closed ??= (async () => {
        closing.abort();
        await closeServer(server);
        await journal?.close();
      })()),
  };
}

/** Message attributes as far as the batch size check needs them (each entry is checked fully later). */
function attributesForSize(attributes: SqsRequest<'SendMessage'>['MessageAttributes']): Record<string, WireAttributeValue> {
  const out: Record<string, WireAttributeValue> = {};
  for (const [name, v] of Object.entries(attributes ?? {})) {
    out[name] = v.BinaryValue !== undefined ? { DataType: v.DataType, BinaryValue: v.BinaryValue } : { DataType: v.DataType, StringValue: v.StringValue ?? '' };
  }
  return out;
}

function allowedHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === '127.0.0.1' || name === 'localhost' || name.endsWith('.localhost');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        reject(new SqsError('InvalidParameterValue', 'The request is larger than the local SQS accepts (16 MB).'));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

export interface EnsureQueueOptions {
  /** A dead-letter queue to create beside the queue, with a redrive policy pointing at it. */
  readonly dlqName?: string;
  /** Receives before a message moves to the DLQ (default 5). Only with dlqName. */
  readonly maxReceiveCount?: number;
  /** The queue's own MessageRetentionPeriod, in seconds (a queue that is itself a DLQ: DLQ_RETENTION_SECONDS). */
  readonly retentionSeconds?: string;
}

/** The DLQ keeps what it parks for 14 days, SQS's maximum, as the deployed stack does. */
export const DLQ_RETENTION_SECONDS = String(14 * 24 * 3600);

/**
 * Creates the queue (and its DLQ when asked) if absent and returns the queue URL. Idempotent:
 * CreateQueue with the same attributes returns the existing queue.
 */
export async function ensureQueue(client: SQSClient, name: string, options: EnsureQueueOptions = {}): Promise<string> {
  const attributes: Record<string, string> = {};
  if (options.dlqName !== undefined) {
    const dlq = await client.send(
      new CreateQueueCommand({ QueueName: options.dlqName, Attributes: { MessageRetentionPeriod: DLQ_RETENTION_SECONDS } }),
    );
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }));
    const deadLetterTargetArn = Attributes?.QueueArn;
    if (!deadLetterTargetArn) throw new Error(`Queue ${options.dlqName} has no QueueArn`);
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn, maxReceiveCount: options.maxReceiveCount ?? 5 });
  } else if (options.maxReceiveCount !== undefined) {
    throw new Error('ensureQueue: maxReceiveCount needs a dlqName');
  }
  if (options.retentionSeconds !== undefined) attributes.MessageRetentionPeriod = options.retentionSeconds;
  const queue = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!queue.QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  return queue.QueueUrl;
}
