/**
 * Local mode in this process (`tsx bench/local-run.ts <out.json>`): the whole pipeline on free ports
 * and a temporary data folder, through startLocal, the same code as `npm start`.
 *
 * 1. One email's life, counted: after a warm-up email (the API key, endpoint and connection caches
 *    then hold what a warm container holds), one email to delivered@resend.dev with one endpoint
 *    subscribed to every event. The handlers' own SDK clients count their AWS requests
 *    (bench/aws-counter.ts); the runner's clients (seeding, the SQS poller standing in for the event
 *    source mapping) and the benchmark's own reads are separate clients and are not counted. What
 *    the handlers log meanwhile is measured in bytes. The items the email leaves are read back
 *    (not counted) for index entries and storage.
 *    Then one received email's life: receiving turned on for the bench domain, the receipt
 *    scenario's content received over SMTP (counted the same way, the raw message's size and the
 *    inbound function's parse CPU measured).
 * 2. Load: 2,000 emails to the four test addresses, sent as batches a few at a time, until every
 *    email reaches its final state and every webhook arrives, or a deadline passes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startLocal } from '../lambdas/local/runner';
import { LOCAL_EVENTS_TOPIC_ARN } from '../lambdas/core/config';
import { keys } from '../lambdas/core/table';
import { documentClient, s3Client, sesSendClient, sqsClient } from '../lambdas/core/clients';
import { AwsTally, countRequests } from './aws-counter';
import { STORAGE_OVERHEAD_BYTES, chunks64k, itemBytes, writeUnits } from './cost';
import { ALL_EVENT_TYPES, BENCH_DOMAIN, TEST_ADDRESSES, inboundMessage, receiptRequest, sendRequest } from './fixtures';
import { Readable } from 'node:stream';
import { createTransport } from 'nodemailer';
import { parseMessage } from '../lambdas/inbound/parse';

/** Retentions (days) of request logs and of emails, as the benchmark prices storage. */
const REQUEST_LOG_DAYS = 7;
const EMAIL_DAYS = 30;
import { type Receiver, startReceiver } from './receiver';

export interface LifecycleResult {
  readonly email_id: string;
  readonly aws_requests: Record<string, number>;
  /** Request units as the store reported them (dynalite computes them by item size, as DynamoDB). */
  readonly dynamodb_write_units: number;
  readonly dynamodb_read_units: number;
  readonly dynamodb_condition_failures: number;
  /** Index entries written: one per item that carries an index's keys (KEYS_ONLY: one unit; ALL: by size). */
  readonly dynamodb_index_write_units: number;
  /** Bytes the email leaves in the table and its indexes, DynamoDB's 100-byte overhead per item included. */
  readonly dynamodb_stored_bytes: number;
  readonly items: readonly { readonly key: string; readonly bytes: number; readonly indexes: readonly string[] }[];
  /** SQS requests billed (a request per started 64 KB of its body). */
  readonly sqs_billed_requests: number;
  /** Bytes written to the content bucket (attachments, one PutObject each). */
  readonly s3_put_bytes: number;
  readonly ses_events: number;
  readonly webhooks: number;
  /** Lines and bytes the handlers logged during the email's life (newlines included). */
  readonly log_lines: number;
  readonly log_bytes: number;
  /**
   * What the features of GET /logs and GET /emails/metrics write, counted apart (also in the totals
   * above): the request log of POST /emails (its write units and its storage, for its retention) and
   * the metric counters' write units.
   */
  readonly features: {
    readonly request_log_write_units: number;
    readonly request_log_stored_bytes: number;
    readonly counter_write_units: number;
  };
}

/** A received email's life: its counts, the raw message's size, and the inbound function's parse CPU. */
export interface InboundLifecycleResult extends LifecycleResult {
  readonly raw_bytes: number;
  readonly inbound_parse_cpu_us: number;
}

export interface LoadResult {
  readonly emails: number;
  readonly accepted: number;
  readonly final_states: number;
  readonly webhooks_expected: number;
  readonly webhooks_delivered: number;
  readonly duplicates: number;
  readonly lost: number;
  readonly webhook_dlq_messages: number;
  readonly seconds: number;
  readonly accept_seconds: number;
  readonly emails_per_second: number;
  readonly batch_size: number;
  readonly concurrency: number;
  readonly timed_out: boolean;
  /** Batch requests answered with this status and retried under their key. */
  readonly retried_batches: Record<string, number>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Captures what is written to stdout (the handlers' logs) instead of printing it. */
function captureStdout(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  let pending = '';
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      lines.push(pending.slice(0, nl + 1));
      pending = pending.slice(nl + 1);
    }
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  }) as typeof process.stdout.write;
  return { lines, restore: () => (process.stdout.write = original) };
}

/** A handler's log line (or metric line, EMF, billed alike): structured, and not from one of local mode's own components. */
function isHandlerLog(line: string): boolean {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    return (typeof entry.level === 'string' || entry._aws !== undefined) && entry.component === undefined;
  } catch {
    return false;
  }
}

export async function runLocal(options: { loadEmails: number; batchSize: number; concurrency: number; loadTimeoutMs: number }): Promise<{ lifecycle: LifecycleResult; lifecycle_receipt: LifecycleResult; lifecycle_inbound: InboundLifecycleResult; load: LoadResult }> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const out = captureStdout();
  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  const region = 'us-east-1';
  // W, the window in which a keyed retry of a send SES has not confirmed answers 409: one minute
  // here, so that a batch whose SendEmail failed before SES accepted it (local mode under this load)
  // is sent again within the load's deadline; the retries below wait that long.
  process.env.SESAME_SEND_RETRY_WINDOW_MINUTES ??= '1';
  const stack = await startLocal({
    port: 0, dynamoPort: 0, sesPort: 0, sqsPort: 0, schedulerPort: 0, s3Port: 0, smtpPort: 0, dataDir,
    domain: BENCH_DOMAIN, region, tableName: 'sesame', topicArn: LOCAL_EVENTS_TOPIC_ARN,
    retentionDays: 30, allowLoopbackWebhooks: true, retrySchedule: '0,5,15,30,60,120,300,300',
  });
  let receiver: Receiver | undefined;
  try {
    // The handlers' clients: the singletons the handler modules built at import.
    const tally = new AwsTally();
    countRequests(documentClient(), 'dynamodb', tally);
    countRequests(sesSendClient(), 'sesv2', tally);
    countRequests(sqsClient(), 'sqs', tally);
    countRequests(s3Client(), 's3', tally);
    tally.enabled = false;

    // The benchmark's own clients: never counted.
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const own = DynamoDBDocumentClient.from(new DynamoDBClient({ region, endpoint: stack.dynamoEndpoint, credentials }));
    const ownSqs = new SQSClient({ region, endpoint: stack.sqsEndpoint, credentials });

    receiver = await startReceiver();
    const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${stack.apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json', ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    };
    const hook = await api('POST', '/webhooks', { endpoint: receiver.url, events: [...ALL_EVENT_TYPES] });
    if (hook.status !== 201 && hook.status !== 200) throw new Error(`POST /webhooks answered ${hook.status}: ${JSON.stringify(hook.body)}`);
    const webhookId = String(hook.body.id);

    const status = async (emailId: string) =>
      (await own.send(new GetCommand({ TableName: 'sesame', Key: { pk: `E#${emailId}`, sk: 'STATUS' }, ConsistentRead: true }))).Item?.last_event as string | undefined;
    const settled = async (emailId: string, webhookTypes: readonly string[]) => {
      if ((await status(emailId)) !== 'delivered') return false;
      const got = receiver!.byEmail.get(emailId) ?? [];
      if (!webhookTypes.every((t) => got.includes(t))) return false;
      const ids = receiver!.received.filter((r) => r.emailId === emailId).map((r) => r.id);
      for (const id of ids) {
        const d = await own.send(new GetCommand({ TableName: 'sesame', Key: keys.webhookDelivery(webhookId, id), ConsistentRead: true }));
        if (d.Item?.status !== 'success') return false;
      }
      return (await appliedEvents(emailId)) >= webhookTypes.length;
    };
    /** Events applied to the email: in STATUS's log, or spilled to their own items. */
    const appliedEvents = async (emailId: string) => {
      const { Item } = await own.send(new GetCommand({ TableName: 'sesame', Key: { pk: `E#${emailId}`, sk: 'STATUS' }, ConsistentRead: true }));
      return ((Item?.lg as unknown[] | undefined)?.length ?? 0) + ((Item?.sp as unknown[] | undefined)?.length ?? 0);
    };
    const sendOne = async (n: number, request = sendRequest) => {
      const res = await api('POST', '/emails', request('delivered@resend.dev', n));
      if (res.status !== 200) throw new Error(`POST /emails answered ${res.status}: ${JSON.stringify(res.body)}`);
      return String(res.body.id);
    };
    const expected = ['email.sent', 'email.delivered'];

    // --- 1. one email's life, for each scenario -------------------------------------------------
    const warm = await sendOne(0);
    await until('the warm-up email to settle', () => settled(warm, expected), 30_000);
    await sleep(300);
    const measureLife = async (n: number, request: typeof sendRequest): Promise<LifecycleResult> => {
      tally.reset();
      tally.enabled = true;
      const logStart = out.lines.length;
      const emailId = await sendOne(n, request);
      await until('the measured email to settle', () => settled(emailId, expected), 30_000);
      await sleep(500); // anything still in flight for it would show up here
      tally.enabled = false;
      return collect(emailId, logStart, await appliedEvents(emailId), String(n));
    };
    /** What the tally counted since it was reset, the items written read back, and the logs since `logStart`. */
    const collect = async (emailId: string, logStart: number, sesEvents: number, label: string): Promise<LifecycleResult> => {
      const logLines = out.lines.slice(logStart).filter(isHandlerLog);
      // BENCH_LOG_DUMP=<file>: the measured email's handler lines, to see what each costs.
      if (process.env.BENCH_LOG_DUMP) writeFileSync(`${process.env.BENCH_LOG_DUMP}.${label}`, logLines.join(''));

      const items = [];
      let indexUnits = 0;
      let stored = 0;
      let requestLogStored = 0;
      for (const { pk, sk } of tally.written.values()) {
        const { Item } = await own.send(new GetCommand({ TableName: 'sesame', Key: { pk, sk }, ConsistentRead: true }));
        if (!Item) continue;
        const bytes = itemBytes(Item);
        const indexes: string[] = [];
        // A metric counter item is shared by every email of its tenant, hour and shard: its storage per
        // email is negligible. A request log is kept SESAME_LOG_RETENTION_DAYS (7) of the 30 days priced.
        if (pk.startsWith('RL#')) {
          requestLogStored += ((bytes + STORAGE_OVERHEAD_BYTES) * REQUEST_LOG_DAYS) / EMAIL_DAYS;
          stored += ((bytes + STORAGE_OVERHEAD_BYTES) * REQUEST_LOG_DAYS) / EMAIL_DAYS;
        }
        else if (!pk.startsWith('MC#')) stored += bytes + STORAGE_OVERHEAD_BYTES;
        if (Item.gsi1pk !== undefined) {
          indexes.push('gsi1');
          indexUnits += writeUnits(bytes);
          stored += bytes + STORAGE_OVERHEAD_BYTES;
        }
        if (Item.gsi2pk !== undefined) {
          // Keys only: one unit when the entry is written (its keys never change afterwards).
          indexes.push('gsi2');
          indexUnits += 1;
          stored += itemBytes({ pk, sk, gsi2pk: Item.gsi2pk, gsi2sk: Item.gsi2sk }) + STORAGE_OVERHEAD_BYTES;
        }
        items.push({ key: `${pk.replace(/#.*/, '#')}/${sk.replace(/#.*/, '#')}`, bytes, indexes });
        if (process.env.BENCH_LOG_DUMP) writeFileSync(`${process.env.BENCH_LOG_DUMP}.${label}.items`, JSON.stringify(Item) + '\n', { flag: 'a' });
      }
      const sqsBilled = [...tally.bodyBytes.entries()].filter(([k]) => k.startsWith('sqs:')).flatMap(([, sizes]) => sizes).reduce((s, b) => s + chunks64k(b), 0);
      return {
        email_id: emailId,
        aws_requests: tally.snapshot(),
        dynamodb_write_units: tally.writeUnits,
        dynamodb_read_units: tally.readUnits,
        dynamodb_condition_failures: tally.conditionFailures,
        dynamodb_index_write_units: indexUnits,
        dynamodb_stored_bytes: stored,
        items: items.sort((a, b) => a.key.localeCompare(b.key)),
        sqs_billed_requests: sqsBilled,
        s3_put_bytes: (tally.bodyBytes.get('s3:PutObject') ?? []).reduce((s, b) => s + b, 0),
        ses_events: sesEvents,
        webhooks: receiver!.received.filter((r) => r.emailId === emailId).length,
        log_lines: logLines.length,
        log_bytes: logLines.reduce((s, l) => s + Buffer.byteLength(l, 'utf8'), 0),
        features: {
          request_log_write_units: tally.writeUnitsByKind.get('RL') ?? 0,
          request_log_stored_bytes: requestLogStored,
          counter_write_units: tally.writeUnitsByKind.get('MC') ?? 0,
        },
      };
    };
    const lifecycle = await measureLife(1, sendRequest);
    const lifecycleReceipt = await measureLife(2, receiptRequest);

    // --- 1b. one received email's life ------------------------------------------------------------
    // Receiving on for the bench domain; a warm-up message first (caches, connections), then the one
    // measured: the receipt scenario's content as received mail (20 KB HTML, a 100 KB PDF), over SMTP.
    const domains = (await api('GET', '/domains')).body.data as { id: string; name: string }[];
    const benchDomain = domains.find((d) => d.name === BENCH_DOMAIN)!;
    const patched = await api('PATCH', `/domains/${benchDomain.id}`, { capabilities: { receiving: 'enabled' } });
    if (patched.status !== 200) throw new Error(`PATCH /domains answered ${patched.status}`);
    const smtp = createTransport({ host: '127.0.0.1', port: Number(new URL(stack.smtpEndpoint).port), secure: false, ignoreTLS: true });
    const receiveOne = async (n: number) => {
      const raw = await inboundMessage(n);
      await smtp.sendMail({ envelope: { from: 'customer@elsewhere.example', to: [`support@${BENCH_DOMAIN}`] }, raw });
      let emailId = '';
      await until('the received email\'s webhook', async () => {
        const hit = receiver!.received.find((r) => r.type === 'email.received' && !seenInbound.has(r.emailId));
        if (!hit) return false;
        const d = await own.send(new GetCommand({ TableName: 'sesame', Key: keys.webhookDelivery(webhookId, hit.id), ConsistentRead: true }));
        if (d.Item?.status !== 'success') return false;
        emailId = hit.emailId;
        seenInbound.add(emailId);
        return true;
      }, 30_000);
      await stack.smtpIdle();
      return { emailId, raw };
    };
    const seenInbound = new Set<string>();
    await receiveOne(0);
    await sleep(300);
    tally.reset();
    tally.enabled = true;
    const inboundLogStart = out.lines.length;
    const received = await receiveOne(1);
    await sleep(500);
    tally.enabled = false;
    const inboundCounts = await collect(received.emailId, inboundLogStart, 0, 'inbound');
    // The inbound function's CPU on this message: mailparser's work, timed alone in this process.
    for (let i = 0; i < 3; i++) await parseMessage(Readable.from([received.raw]));
    const cpuStart = process.cpuUsage();
    const runs = 10;
    for (let i = 0; i < runs; i++) await parseMessage(Readable.from([received.raw]));
    const cpu = process.cpuUsage(cpuStart);
    const lifecycleInbound: InboundLifecycleResult = { ...inboundCounts, raw_bytes: received.raw.length, inbound_parse_cpu_us: (cpu.user + cpu.system) / runs };

    // --- 2. load -----------------------------------------------------------------------------------
    const already = receiver.received.length;
    const plan = Array.from({ length: options.loadEmails }, (_, i) => TEST_ADDRESSES[i % TEST_ADDRESSES.length]!);
    const expectedHooks = plan.reduce((s, a) => s + a.webhooks.length, 0);
    const ids: (string | undefined)[] = new Array(plan.length);
    const started = Date.now();
    let next = 0;
    const batches: number[][] = [];
    for (let i = 0; i < plan.length; i += options.batchSize) batches.push(Array.from({ length: Math.min(options.batchSize, plan.length - i) }, (_, j) => i + j));
    const retried = new Map<number, number>();
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const key = `bench-load-${started}-${batch[0]}`;
        for (let attempt = 0; ; attempt++) {
          const res = await api('POST', '/emails/batch', batch.map((i) => sendRequest(plan[i]!.to, i)), { 'idempotency-key': key });
          if (res.status === 200) {
            const data = res.body.data as { id: string }[];
            data.forEach((d, j) => (ids[batch[j]!] = d.id));
            break;
          }
          // 429, 409 (an email of the batch whose SendEmail SES has not confirmed yet: its Send event
          // will) and 5xx are retried under the same key: what was sent is not sent again.
          retried.set(res.status, (retried.get(res.status) ?? 0) + 1);
          if (attempt >= 60 || (res.status < 500 && res.status !== 429 && res.status !== 409)) throw new Error(`POST /emails/batch answered ${res.status}: ${JSON.stringify(res.body)}`);
          await sleep(Math.min(2000, 500 * (attempt + 1)));
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    const acceptSeconds = (Date.now() - started) / 1000;

    const finals = new Map<string, string>();
    const countFinal = async () => {
      const pending = plan.map((a, i) => ({ id: ids[i], final: a.final })).filter((e) => e.id !== undefined && finals.get(e.id) !== e.final);
      for (let i = 0; i < pending.length; i += 100) {
        const chunk = pending.slice(i, i + 100);
        let keys: Record<string, unknown>[] | undefined = chunk.map((e) => ({ pk: `E#${e.id}`, sk: 'STATUS' }));
        while (keys && keys.length > 0) {
          const res = await own.send(new BatchGetCommand({ RequestItems: { sesame: { Keys: keys, ProjectionExpression: 'pk, last_event' } } }));
          for (const item of res.Responses?.sesame ?? []) finals.set(String(item.pk).slice(2), String(item.last_event));
          keys = res.UnprocessedKeys?.sesame?.Keys as Record<string, unknown>[] | undefined;
        }
      }
      return plan.filter((a, i) => ids[i] !== undefined && finals.get(ids[i]!) === a.final).length;
    };
    let finalStates = 0;
    let timedOut = false;
    let finishedAt = Date.now();
    // The wait for states and webhooks has its own budget from the last acceptance: on a loaded
    // machine accepting alone can take longer than the budget, and the webhooks still in flight
    // then are late, not lost.
    const deadline = Date.now() + options.loadTimeoutMs;
    for (;;) {
      const hooks = receiver.received.length - already;
      if (hooks >= expectedHooks) {
        finalStates = await countFinal();
        if (finalStates === plan.length) {
          finishedAt = Date.now();
          break;
        }
      }
      if (Date.now() > deadline) {
        finalStates = await countFinal();
        timedOut = true;
        finishedAt = Date.now();
        break;
      }
      await sleep(250);
    }
    await sleep(2_000); // late duplicates would arrive now
    const loadIds = new Set(ids.filter((id): id is string => id !== undefined));
    const loadHooks = receiver.received.filter((r) => loadIds.has(r.emailId));
    const expectedPairs = new Set(plan.flatMap((a, i) => (ids[i] ? a.webhooks.map((t) => `${ids[i]}:${t}`) : [])));
    const gotPairs = new Set(loadHooks.map((h) => `${h.emailId}:${h.type}`));
    const missingHooks = [...expectedPairs].filter((p) => !gotPairs.has(p)).length;
    const loadDuplicates = loadHooks.reduce((s, h) => s + Math.max(0, (receiver!.byId.get(h.id) ?? 1) - 1), 0);
    const dlqUrl = (await ownSqs.send(new GetQueueUrlCommand({ QueueName: 'sesame-webhooks-dlq' }))).QueueUrl;
    const dlq = await ownSqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    const seconds = (finishedAt - started) / 1000;
    const load: LoadResult = {
      emails: plan.length,
      accepted: loadIds.size,
      final_states: finalStates,
      webhooks_expected: expectedHooks,
      webhooks_delivered: loadHooks.length,
      duplicates: loadDuplicates,
      lost: (plan.length - loadIds.size) + (plan.length - finalStates) + missingHooks,
      webhook_dlq_messages: Number(dlq.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(dlq.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      seconds,
      accept_seconds: acceptSeconds,
      emails_per_second: plan.length / seconds,
      batch_size: options.batchSize,
      concurrency: options.concurrency,
      timed_out: timedOut,
      retried_batches: Object.fromEntries(retried),
    };
    return { lifecycle, lifecycle_receipt: lifecycleReceipt, lifecycle_inbound: lifecycleInbound, load };
  } finally {
    await receiver?.close();
    await stack.close();
    out.restore();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tsx bench/local-run.ts <out.json> [emails]');
  const emails = Number(process.argv[3] ?? 2000);
  runLocal({ loadEmails: emails, batchSize: 100, concurrency: 4, loadTimeoutMs: 180_000 }).then(
    (result) => {
      writeFileSync(file, JSON.stringify(result, null, 2));
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`local run failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
