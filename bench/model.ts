/**
 * One email's life as billable usage: what the local run counted (AWS requests of the handlers'
 * clients, request units by item size, bytes stored, bytes logged) plus what middleware cannot see,
 * modelled from those counts with the assumptions below, each stated. Pure: tested in
 * test/bench/cost.test.ts.
 */
import { FULL_VCPU_MB, type Usage, chunks64k, gbSeconds, invocationMs } from './cost';

/**
 * Memory of each function, as lib/sesame-stack.ts deploys them (MB). Below FULL_VCPU_MB the CPU
 * part of a duration costs the same GB-seconds at any memory (invocationMs stretches it), while the
 * I/O wait is billed by memory: ingest and deliver, which mostly wait, are cheapest at the least.
 */
export const MEMORY_MB = { send: 256, ingest: 128, deliver: 128, dispatch: 128, inbound: 1024 } as const;

export const ASSUMPTIONS = {
  /** Wall time of one call in the same region (ms): the I/O part of each invocation's duration. */
  dynamodbCallMs: 6,
  sesSendEmailMs: 50,
  sqsCallMs: 10,
  /** The customer's endpoint: TLS on a kept-alive connection, its handler, the answer. */
  webhookEndpointMs: 150,
  /** Invocations that start a new container (INIT is billed since August 2025; Secrets Manager is read once per container). */
  coldStartShare: 0.01,
  /**
   * Lambda's own START/END/REPORT lines per invocation (bytes): none, since the house function logs
   * JSON with the system log level at WARN (lib/sesame-function.ts `platformLogs`); about 300 with them.
   */
  platformLogBytesPerInvocation: 0,
  /** Webhook messages per batch the SQS event source mapping hands the deliver function (1: a quiet queue; up to 10 when busy). */
  messagesPerDeliverBatch: 1,
  /** One S3 request in the same region (ms): the inbound function's GET of the raw message, its PUTs. */
  s3CallMs: 20,
  /** Emails and their events are kept this long (SESAME_RETENTION_DAYS), in the table and its continuous backups. */
  retentionDays: 30,
} as const;

export type Assumptions = { -readonly [K in keyof typeof ASSUMPTIONS]: number };

/** What the local end-to-end run counted for one email. */
export interface CountedLife {
  /** `service:Operation` -> requests, from the handlers' SDK clients. */
  readonly awsRequests: Readonly<Record<string, number>>;
  readonly dynamodbWriteUnits: number;
  readonly dynamodbIndexWriteUnits: number;
  readonly dynamodbReadUnits: number;
  readonly dynamodbStoredBytes: number;
  /** SQS requests as billed (64 KB chunks). */
  readonly sqsBilledRequests: number;
  /** Bytes kept in the content bucket (attachments; their PUTs are `s3:PutObject` in awsRequests). @default 0 */
  readonly s3StoredBytes?: number;
  /** SES events ingested (each is one SNS publish and one ingest invocation). */
  readonly sesEvents: number;
  /** Webhooks delivered (each is one SQS message and one deliver attempt). */
  readonly webhooks: number;
  /** Bytes the handlers logged. */
  readonly logBytes: number;
  /** Size of an SES event as SNS carries it (bytes). */
  readonly sesEventBytes: number;
}

/** From the CPU bench: CPU per operation (µs), the AWS requests each makes, and init per function (ms). */
export interface MeasuredCompute {
  readonly cpuUs: { readonly send: number; readonly ingest: number; readonly deliver: number };
  readonly requests: { readonly send: Readonly<Record<string, number>>; readonly ingest: Readonly<Record<string, number>>; readonly deliver: Readonly<Record<string, number>> };
  readonly initMs: { readonly send: number; readonly ingest: number; readonly deliver: number };
}

/** Time spent waiting on AWS for these requests, at the assumed latencies (sequential: an upper bound). */
export function ioMs(requests: Readonly<Record<string, number>>, a: Assumptions = ASSUMPTIONS): number {
  let ms = 0;
  for (const [key, count] of Object.entries(requests)) {
    const service = key.slice(0, key.indexOf(':'));
    ms += count * (service === 'dynamodb' ? a.dynamodbCallMs : service === 'sesv2' ? a.sesSendEmailMs : service === 'sqs' ? a.sqsCallMs : 0);
  }
  return ms;
}

/** Duration (ms) of each kind of invocation: measured CPU stretched to the memory's vCPU share, plus I/O at the assumed latencies. */
export function invocationDurations(compute: MeasuredCompute, a: Assumptions = ASSUMPTIONS) {
  return {
    send: invocationMs(compute.cpuUs.send / 1000, MEMORY_MB.send, ioMs(compute.requests.send, a)),
    ingest: invocationMs(compute.cpuUs.ingest / 1000, MEMORY_MB.ingest, ioMs(compute.requests.ingest, a)),
    deliver: invocationMs(compute.cpuUs.deliver / 1000, MEMORY_MB.deliver, ioMs(compute.requests.deliver, a) + a.webhookEndpointMs),
  };
}

export function lifeUsages(life: CountedLife, compute: MeasuredCompute, a: Assumptions = ASSUMPTIONS): Usage[] {
  const deliverInvocations = life.webhooks / a.messagesPerDeliverBatch;
  const invocations = 1 + life.sesEvents + deliverInvocations;
  const d = invocationDurations(compute, a);
  const durationGbS =
    gbSeconds(MEMORY_MB.send, d.send) + life.sesEvents * gbSeconds(MEMORY_MB.ingest, d.ingest) + life.webhooks * gbSeconds(MEMORY_MB.deliver, d.deliver);
  const stretch = (mb: number) => Math.max(1, FULL_VCPU_MB / mb);
  const initGbS =
    a.coldStartShare *
    (gbSeconds(MEMORY_MB.send, compute.initMs.send * stretch(MEMORY_MB.send)) +
      life.sesEvents * gbSeconds(MEMORY_MB.ingest, compute.initMs.ingest * stretch(MEMORY_MB.ingest)) +
      deliverInvocations * gbSeconds(MEMORY_MB.deliver, compute.initMs.deliver * stretch(MEMORY_MB.deliver)));
  const logBytes = life.logBytes + invocations * a.platformLogBytesPerInvocation;
  const months = a.retentionDays / (365.25 / 12);
  const storedGbMonths = (life.dynamodbStoredBytes / 1024 ** 3) * months;
  const s3Puts = life.awsRequests['s3:PutObject'] ?? 0;
  return [
    { item: 'API Gateway HTTP API request (POST /emails)', price: 'apiGatewayHttpRequest', quantity: 1, basis: 'modelled', note: 'one per send; under 512 KB' },
    {
      item: 'Lambda invocations', price: 'lambdaRequest', quantity: invocations, basis: 'modelled',
      note: `send 1, ingest ${life.sesEvents} (one per SES event), deliver ${deliverInvocations} (${a.messagesPerDeliverBatch} message per batch)`,
    },
    {
      item: 'Lambda compute (arm64)', price: 'lambdaArmGbSecond', quantity: durationGbS + initGbS, basis: 'modelled',
      note: `send ${d.send.toFixed(0)} ms @${MEMORY_MB.send} MB, ingest ${d.ingest.toFixed(0)} ms @${MEMORY_MB.ingest} MB, deliver ${d.deliver.toFixed(0)} ms @${MEMORY_MB.deliver} MB (measured CPU stretched to the vCPU share, plus assumed I/O); INIT for ${a.coldStartShare * 100}% of invocations`,
    },
    { item: 'DynamoDB write request units (table)', price: 'dynamoWriteUnit', quantity: life.dynamodbWriteUnits, basis: 'counted', note: 'as the store reported them, by item size; includes the metric counters (one UpdateItem ADD per ingest invocation) and the request log (one PutItem per API request)' },
    { item: 'DynamoDB write request units (index entries)', price: 'dynamoWriteUnit', quantity: life.dynamodbIndexWriteUnits, basis: 'counted', note: 'one per item carrying an index key (gsi2: the email\'s list entry, and STATUS\'s MessageId entry for events without tags)' },
    { item: 'DynamoDB read request units', price: 'dynamoReadUnit', quantity: life.dynamodbReadUnits, basis: 'counted' },
    { item: 'SQS requests (fan-out)', price: 'sqsRequest', quantity: life.sqsBilledRequests, basis: 'counted' },
    {
      item: 'SQS requests (event source mapping: receive + delete)', price: 'sqsRequest', quantity: 2 * deliverInvocations, basis: 'modelled',
      note: 'idle long polls are a fixed cost per queue, not per email',
    },
    { item: 'SNS publishes (SES event destination)', price: 'snsPublish', quantity: life.sesEvents * chunks64k(life.sesEventBytes), basis: 'modelled', note: 'one per SES event' },
    { item: 'SNS deliveries to the ingest function', price: 'snsLambdaDelivery', quantity: life.sesEvents, basis: 'modelled' },
    {
      item: 'CloudWatch Logs ingestion', price: 'logsIngestedGb', quantity: logBytes / 1024 ** 3, basis: 'modelled',
      note: `${life.logBytes} B logged by the handlers (measured) + ${a.platformLogBytesPerInvocation} B of platform lines per invocation (system log level WARN)`,
    },
    {
      item: 'Secrets Manager GetSecretValue', price: 'secretsManagerCall', quantity: a.coldStartShare * deliverInvocations, basis: 'modelled',
      note: 'one per deliver container, at its first delivery',
    },
    {
      item: `DynamoDB storage (${a.retentionDays} days)`, price: 'dynamoStorageGbMonth', quantity: storedGbMonths, basis: 'counted',
      note: `${life.dynamodbStoredBytes} B: items and index entries, 100 B overhead each`,
    },
    { item: `DynamoDB point-in-time recovery (${a.retentionDays} days)`, price: 'dynamoPitrGbMonth', quantity: storedGbMonths, basis: 'counted' },
    ...(s3Puts > 0 ? [
      { item: 'S3 PUT requests (attachments, content bucket)', price: 's3PutRequest', quantity: s3Puts, basis: 'counted', note: 'one per attachment' } as const,
      {
        item: `S3 storage (${a.retentionDays} days)`, price: 's3StorageGbMonth', quantity: ((life.s3StoredBytes ?? 0) / 1024 ** 3) * months, basis: 'counted',
        note: `${life.s3StoredBytes ?? 0} B of attachments`,
      } as const,
    ] : []),
  ];
}

/** What the request log and the metric counters wrote during one email's life (bench/local-run.ts). */
export interface FeatureWrites {
  readonly request_log_write_units: number;
  /** The request log's bytes, prorated to its retention (7 of the 30 days priced). */
  readonly request_log_stored_bytes: number;
  readonly counter_write_units: number;
}

/**
 * Counter writes at the floor of counting (GET /emails/metrics) for an email with this many SES
 * events. SNS invokes ingest with one event, and an invocation cannot leave its count to a later
 * one without holding it where a crash loses it, so each event that moves a counter costs one
 * counter write (an `UpdateItem ADD`, one unit: a counter item is small); the Send event's `sent`
 * can ride along with the next event's write, since SES follows every Send with a delivery, a
 * bounce, a delay or a rejection. So: one write per event but the Send.
 */
export const floorCounterWrites = (sesEvents: number): number => Math.max(0, sesEvents - 1);

/** The request log's and the counters' own lines, priced apart from the life they are part of. */
export function featureUsages(f: FeatureWrites, a: Assumptions = ASSUMPTIONS): { requestLog: Usage[]; counters: Usage[] } {
  const months = a.retentionDays / (365.25 / 12);
  const storedGbMonths = (f.request_log_stored_bytes / 1024 ** 3) * months;
  return {
    requestLog: [
      { item: 'DynamoDB write request units (request log)', price: 'dynamoWriteUnit', quantity: f.request_log_write_units, basis: 'counted', note: 'one PutItem per API request' },
      { item: 'DynamoDB storage (request log, its retention)', price: 'dynamoStorageGbMonth', quantity: storedGbMonths, basis: 'counted' },
      { item: 'DynamoDB point-in-time recovery (request log)', price: 'dynamoPitrGbMonth', quantity: storedGbMonths, basis: 'counted' },
    ],
    counters: [
      { item: 'DynamoDB write request units (metric counters)', price: 'dynamoWriteUnit', quantity: f.counter_write_units, basis: 'counted', note: 'one UpdateItem ADD per ingest invocation that counts' },
    ],
  };
}

/**
 * The same email's life at the architecture's floor: the fixed requests (one HTTP request, one
 * Lambda per request and per SES event, one SNS publish per event, one SQS message per webhook) and
 * one write per email, per event and per webhook, with nothing else read or logged. It stores the
 * email item as measured (the META item: the email must be kept) and, per event and webhook, one
 * small item (keys and a state: 100 bytes of overhead plus about 100).
 *
 * The features of GET /logs and GET /emails/metrics are part of the scenario, so the floor has
 * them too, at their own floor: one write per API request for its log (stored as measured: the
 * bodies Resend's log shows must be kept, for the log's retention) and floorCounterWrites for the
 * counters.
 */
export function floorLife(
  life: CountedLife,
  measured: { readonly items: readonly { readonly key: string; readonly bytes: number }[]; readonly features?: FeatureWrites },
): CountedLife {
  const meta = measured.items.filter((i) => i.key === 'E#/META' || i.key.startsWith('E#/BODY')).reduce((s, i) => s + i.bytes + 100, 0);
  // An attachment must be kept somewhere: its PUT and its bytes are part of the floor.
  const s3Puts = life.awsRequests['s3:PutObject'];
  return {
    awsRequests: s3Puts ? { 's3:PutObject': s3Puts } : {},
    ...(life.s3StoredBytes !== undefined ? { s3StoredBytes: life.s3StoredBytes } : {}),
    dynamodbWriteUnits: Math.max(1, Math.ceil(meta / 1024)) + life.sesEvents + life.webhooks + (measured.features ? 1 + floorCounterWrites(life.sesEvents) : 0),
    dynamodbIndexWriteUnits: 0,
    dynamodbReadUnits: 0,
    dynamodbStoredBytes: meta + (life.sesEvents + life.webhooks) * 200 + (measured.features?.request_log_stored_bytes ?? 0),
    sqsBilledRequests: life.webhooks,
    sesEvents: life.sesEvents,
    webhooks: life.webhooks,
    logBytes: 0,
    sesEventBytes: life.sesEventBytes,
  };
}

/**
 * What scheduling adds to an email's life (its SES events, webhooks and storage are an immediate
 * email's): the schedule's one invocation, the dispatch queue (the schedule's SendMessage, the event
 * source mapping's receive and delete), one dispatch invocation, and the table requests scheduling
 * adds (dispatch's claim of META and its consistent read of META and STATUS; reschedule and cancel
 * are not counted). Dispatch does the send's own SendEmail and STATUS writes, which the immediate
 * life already counts, so the send invocation's CPU stands for dispatch's.
 */
export function scheduledExtraUsages(compute: MeasuredCompute, a: Assumptions = ASSUMPTIONS): Usage[] {
  // Dispatch waits on its claim, the read, the domain lookup, SendEmail and the STATUS writes.
  const dispatchIoMs = 5 * a.dynamodbCallMs + a.sesSendEmailMs;
  const dispatchMs = invocationMs(compute.cpuUs.send / 1000, MEMORY_MB.dispatch, dispatchIoMs);
  const stretch = Math.max(1, FULL_VCPU_MB / MEMORY_MB.dispatch);
  return [
    { item: 'EventBridge Scheduler invocation', price: 'schedulerInvocation', quantity: 1, basis: 'modelled', note: 'one one-time schedule; creating, updating and deleting it are free' },
    { item: 'SQS requests (dispatch queue: send, receive, delete)', price: 'sqsRequest', quantity: 3, basis: 'modelled', note: 'one message per email, one per batch at a quiet minute' },
    { item: 'Lambda invocation (dispatch)', price: 'lambdaRequest', quantity: 1, basis: 'modelled' },
    {
      item: 'Lambda compute (dispatch, arm64)', price: 'lambdaArmGbSecond',
      quantity: gbSeconds(MEMORY_MB.dispatch, dispatchMs) + a.coldStartShare * gbSeconds(MEMORY_MB.dispatch, compute.initMs.send * stretch), basis: 'modelled',
      note: `${dispatchMs.toFixed(0)} ms @${MEMORY_MB.dispatch} MB (the send's measured CPU, plus assumed I/O)`,
    },
    { item: 'DynamoDB write request units (the claim of META)', price: 'dynamoWriteUnit', quantity: 2, basis: 'modelled', note: 'META up to 2 KB with its inline body' },
    { item: 'DynamoDB read request units (consistent read of META and STATUS)', price: 'dynamoReadUnit', quantity: 2, basis: 'modelled' },
  ];
}

/** SES bills received mail per email and per started 256 KB chunk of it. */
export const receivedChunks = (rawBytes: number): number => Math.max(1, Math.ceil(rawBytes / (256 * 1024)));

/** What the local run counted of one received email's life (its webhook included). */
export interface InboundLife extends CountedLife {
  /** The raw message's size: SES's chunks, and the object its S3 action writes. */
  readonly rawBytes: number;
  /** CPU of the inbound function's work on it (µs), measured: parsing the MIME, mostly. */
  readonly inboundCpuUs: number;
}

/**
 * One received email's life: SES receiving (per email and per 256 KB chunk), the receipt rule's S3
 * action (one PUT of the raw message, billed to the bucket's owner), the inbound invocation (its
 * measured CPU at 1,024 MB, plus its I/O at the assumed latencies), what the inbound function
 * counted (its GET of the raw message, its PUTs of attachments and bodies, its table requests, its
 * fan-out), the email.received webhook's delivery, and 30 days of storage.
 */
export function inboundLifeUsages(life: InboundLife, compute: MeasuredCompute, a: Assumptions = ASSUMPTIONS): Usage[] {
  const inboundIoMs = ioMs(Object.fromEntries(Object.entries(life.awsRequests).filter(([k]) => !k.startsWith('s3:'))), a)
    + (life.awsRequests['s3:GetObject'] ?? 0) * a.s3CallMs + (life.awsRequests['s3:PutObject'] ?? 0) * a.s3CallMs;
  const inboundMs = invocationMs(life.inboundCpuUs / 1000, MEMORY_MB.inbound, inboundIoMs);
  const d = invocationDurations(compute, a);
  const deliverInvocations = life.webhooks / a.messagesPerDeliverBatch;
  const months = a.retentionDays / (365.25 / 12);
  const s3Stored = life.rawBytes + (life.s3StoredBytes ?? 0);
  return [
    { item: 'SES receiving (per email)', price: 'sesReceivedEmail', quantity: 1, basis: 'modelled' },
    { item: 'SES receiving (256 KB chunks)', price: 'sesReceivedChunk', quantity: receivedChunks(life.rawBytes), basis: 'counted', note: `${life.rawBytes} B raw message` },
    { item: 'S3 PUT (the receipt rule stores the raw message)', price: 's3PutRequest', quantity: 1, basis: 'modelled', note: 'SES\'s S3 action, billed to the bucket owner' },
    { item: 'S3 GET (the inbound function reads it)', price: 's3GetRequest', quantity: life.awsRequests['s3:GetObject'] ?? 0, basis: 'counted' },
    { item: 'S3 PUT requests (attachments and bodies)', price: 's3PutRequest', quantity: life.awsRequests['s3:PutObject'] ?? 0, basis: 'counted', note: 'one per attachment, one for the bodies' },
    { item: 'Lambda invocations', price: 'lambdaRequest', quantity: 1 + deliverInvocations, basis: 'modelled', note: `inbound 1 (SES's asynchronous invocation), deliver ${deliverInvocations}` },
    {
      item: 'Lambda compute (arm64)', price: 'lambdaArmGbSecond', basis: 'modelled',
      quantity: gbSeconds(MEMORY_MB.inbound, inboundMs) + life.webhooks * gbSeconds(MEMORY_MB.deliver, d.deliver)
        + a.coldStartShare * gbSeconds(MEMORY_MB.deliver, compute.initMs.deliver * Math.max(1, FULL_VCPU_MB / MEMORY_MB.deliver)),
      note: `inbound ${inboundMs.toFixed(0)} ms @${MEMORY_MB.inbound} MB (measured parse CPU, plus assumed I/O), deliver ${d.deliver.toFixed(0)} ms @${MEMORY_MB.deliver} MB`,
    },
    { item: 'DynamoDB write request units (table)', price: 'dynamoWriteUnit', quantity: life.dynamodbWriteUnits, basis: 'counted', note: 'the received email (put once) and the delivery' },
    { item: 'DynamoDB write request units (index entries)', price: 'dynamoWriteUnit', quantity: life.dynamodbIndexWriteUnits, basis: 'counted', note: 'gsi2: the received email\'s list entry' },
    { item: 'DynamoDB read request units', price: 'dynamoReadUnit', quantity: life.dynamodbReadUnits, basis: 'counted', note: 'the recipient\'s domain, the endpoint' },
    { item: 'SQS requests (fan-out)', price: 'sqsRequest', quantity: life.sqsBilledRequests, basis: 'counted' },
    { item: 'SQS requests (event source mapping: receive + delete)', price: 'sqsRequest', quantity: 2 * deliverInvocations, basis: 'modelled' },
    { item: 'CloudWatch Logs ingestion', price: 'logsIngestedGb', quantity: life.logBytes / 1024 ** 3, basis: 'counted', note: `${life.logBytes} B logged by the handlers` },
    { item: `DynamoDB storage (${a.retentionDays} days)`, price: 'dynamoStorageGbMonth', quantity: (life.dynamodbStoredBytes / 1024 ** 3) * months, basis: 'counted' },
    { item: `DynamoDB point-in-time recovery (${a.retentionDays} days)`, price: 'dynamoPitrGbMonth', quantity: (life.dynamodbStoredBytes / 1024 ** 3) * months, basis: 'counted' },
    { item: `S3 storage (${a.retentionDays} days)`, price: 's3StorageGbMonth', quantity: (s3Stored / 1024 ** 3) * months, basis: 'counted', note: `${life.rawBytes} B raw + ${life.s3StoredBytes ?? 0} B attachments and bodies` },
  ];
}

/** Lines that are not per-request charges: reported apart so that both totals can be read. */
export const isStorage = (u: Usage): boolean => u.price === 'dynamoStorageGbMonth' || u.price === 'dynamoPitrGbMonth' || u.price === 's3StorageGbMonth';
