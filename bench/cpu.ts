/**
 * CPU per operation, run in a process of its own (`tsx bench/cpu.ts <out.json>`): the real handlers
 * with the SDK's HTTP handler replaced by canned AWS answers (bench/responder.ts), against the floor
 * of the bare SDK calls each operation cannot avoid, measured with process.cpuUsage in the same
 * process, in alternating rounds after a warm-up.
 *
 * - send: POST /emails through the real handler, API key check included, with the key cache warm
 *   (a container serves a key from its cache for a minute; the cold lookup is one GetItem more).
 *   Floor: SES SendEmail, the email's write and the request log's write (GET /logs).
 * - ingest: one SNS record (an SES Delivery event) through the ingest handler. Floor: one
 *   conditional write, the webhook's SQS message (one per webhook, which ingest queues in any design
 *   of this architecture) and the event's counter write (GET /emails/metrics).
 * - deliver: one SQS record through the deliver handler, POSTing to a receiver in another process
 *   (so that its CPU is not counted). Floor: the same POST and one write.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { APIGatewayProxyEventV2, Context, SNSEvent, SQSEvent } from 'aws-lambda';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type ClientOverrides, configureClients, documentClient, sesSendClient, sqsClient } from '../lambdas/core/clients';
import { toDomainItem } from '../lambdas/core/adapters/domains';
import { SecretBox, staticKeyProvider } from '../lambdas/core/adapters/secrets';
import { deliveryIdFor } from '../lambdas/core/adapters/fan-out';
import { dnsRecords } from '../lambdas/core/domain/dns';
import { derivedId, hashApiKey, newId } from '../lambdas/core/domain/ids';
import { newSigningSecret } from '../lambdas/core/domain/webhook-signing';
import { buildPayload, serializePayload } from '../lambdas/core/domain/webhook-payload';
import { toSnsEvent } from '../lambdas/local/events';
import { keys } from '../lambdas/core/table';
import { localLambdaContext } from '../lambdas/local/api-server';
import { ALL_EVENT_TYPES, BENCH_DOMAIN, sendRequest } from './fixtures';
import { CannedResponder, type PlainItem } from './responder';

export interface OperationResult {
  /** Median CPU microseconds per operation. */
  readonly cpu_us: number;
  readonly floor_cpu_us: number;
  /** Median of the per-round ratios (each round runs both, back to back). */
  readonly ratio: number;
  /**
   * The same AWS requests as the operation makes, bare (representative inputs, no handler code):
   * how much of the operation is the design's calls, and how much is Sesame's own code.
   */
  readonly same_calls_cpu_us: number;
  readonly ratio_to_same_calls: number;
  /** AWS requests per operation, `service:Operation` (the floor's in `floor_requests`). */
  readonly requests: Record<string, number>;
  readonly floor_requests: Record<string, number>;
  readonly same_calls_requests: Record<string, number>;
  readonly rounds: number;
  readonly iterations_per_round: number;
  readonly note: string;
}

export interface CpuResults {
  readonly operations: Record<'send' | 'ingest' | 'deliver', OperationResult>;
  /** The SNS message of the ingest operation (an SES Delivery event), in bytes. */
  readonly ses_event_bytes: number;
}

const REGION = 'us-east-1';
const TABLE = 'sesame';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:sesame-events';

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function cpuMicros(fn: () => Promise<void>, n: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

interface Pair {
  readonly op: () => Promise<void>;
  readonly floor: () => Promise<void>;
  readonly sameCalls: () => Promise<void>;
}

async function compare(pair: Pair, options: { warmup: number; rounds: number; n: number }) {
  for (let i = 0; i < options.warmup; i++) {
    await pair.op();
    await pair.floor();
  }
  for (let i = 0; i < options.warmup / 2; i++) await pair.sameCalls();
  const ops: number[] = [];
  const floors: number[] = [];
  const same: number[] = [];
  const ratios: number[] = [];
  const sameRatios: number[] = [];
  for (let r = 0; r < options.rounds; r++) {
    // Rotate which goes first, so that drift and GC debt fall on all alike.
    const runs: [() => Promise<void>, number[]][] = [[pair.op, ops], [pair.floor, floors], [pair.sameCalls, same]];
    for (let k = 0; k < runs.length; k++) {
      const [fn, into] = runs[(k + r) % runs.length]!;
      into.push(await cpuMicros(fn, options.n));
    }
    ratios.push(ops[r]! / floors[r]!);
    sameRatios.push(ops[r]! / same[r]!);
  }
  return { cpu_us: median(ops), floor_cpu_us: median(floors), ratio: median(ratios), same_calls_cpu_us: median(same), ratio_to_same_calls: median(sameRatios) };
}

/** A webhook receiver in a child process, so that its CPU is not this process's. */
async function startReceiver(): Promise<{ url: string; child: ChildProcess }> {
  const code = `
    const http = require('node:http');
    const server = http.createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
    server.keepAliveTimeout = 60000;
    server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
    process.on('disconnect', () => process.exit(0));
  `;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`receiver exited (${c})`)));
  });
  return { url: `http://127.0.0.1:${port}/hooks`, child };
}

/** Counts what the responder answered during `fn`, per call of it. */
async function requestsOf(responder: CannedResponder, fn: () => Promise<void>, n = 5): Promise<Record<string, number>> {
  const before = new Map(responder.answered);
  for (let i = 0; i < n; i++) await fn();
  const out: Record<string, number> = {};
  for (const [k, v] of responder.answered) {
    const d = (v - (before.get(k) ?? 0)) / n;
    if (d > 0) out[k] = d;
  }
  return out;
}

export async function runCpuBench(): Promise<CpuResults> {
  const secretsKey = randomBytes(32).toString('base64');
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SESAME_TABLE_NAME: TABLE,
    SESAME_CONFIGURATION_SET: 'sesame',
    SESAME_CONTENT_BUCKET: 'sesame-content-bench',
    SESAME_STACK_NAME: 'sesame',
    SESAME_WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/sesame-webhooks',
    SESAME_SCHEDULE_GROUP: 'sesame-scheduled',
    SESAME_DISPATCH_QUEUE_ARN: 'arn:aws:sqs:us-east-1:123456789012:sesame-dispatch',
    SESAME_SCHEDULER_ROLE_ARN: 'arn:aws:iam::123456789012:role/sesame-scheduler',
    SESAME_EVENTS_TOPIC_ARN: TOPIC_ARN,
    SESAME_SECRETS_KEY: secretsKey,
    SESAME_ALLOW_LOOPBACK_WEBHOOKS: '1',
  });
  for (const name of ['AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_SESV2', 'AWS_ENDPOINT_URL_SQS', 'AWS_PROFILE']) delete process.env[name];

  const receiver = await startReceiver();
  try {
    const tenantId = newId();
    const apiKey = `re_bench_${randomBytes(18).toString('hex')}`;
    const webhookId = newId();
    const emailId = newId();
    const createdAt = new Date().toISOString();
    const sealed = await new SecretBox(staticKeyProvider(secretsKey)).seal(newSigningSecret(), webhookId);
    const keyHash = hashApiKey(apiKey);

    const domainItem = toDomainItem({
      id: newId(), name: BENCH_DOMAIN, tenantId, status: 'verified', verifiedForSending: true, region: REGION,
      openTracking: false, clickTracking: false, customReturnPath: 'send', createdAt,
      records: dnsRecords(
        { domain: BENCH_DOMAIN, customReturnPath: 'send', region: REGION, dkimTokens: [0, 1, 2].map((i) => derivedId('dkim', String(i)).replace(/-/g, '')) },
        { dkim: 'verified', mailFrom: 'verified' },
      ),
    });
    const emailMeta: PlainItem = {
      pk: `E#${emailId}`, sk: 'META', kind: 'email', email_id: emailId, tenant_id: tenantId,
      from: `Acme <receipts@${BENCH_DOMAIN}>`, to: ['delivered@resend.dev'], cc: [], bcc: [], reply_to: [],
      subject: 'Your receipt #100000', tags: [{ name: 'kind', value: 'receipt' }], created_at: createdAt,
      expires_at: Math.floor(Date.now() / 1000) + 30 * 86_400,
    };
    const items = new Map<string, PlainItem>([
      [`KH#${keyHash}`, { pk: `KH#${keyHash}`, sk: 'KEY', kind: 'api_key_hash', key_id: newId(), tenant_id: tenantId, name: 'default', permission: 'full_access', created_at: createdAt }],
      [`DN#${BENCH_DOMAIN}`, domainItem],
      [`E#${emailId}`, emailMeta],
      [`WH#${webhookId}`, {
        pk: `WH#${webhookId}`, sk: 'WEBHOOK', kind: 'webhook', webhook_id: webhookId, tenant_id: tenantId, endpoint: receiver.url,
        events: [...ALL_EVENT_TYPES], status: 'enabled', created_at: createdAt, secret: sealed,
        gsi1pk: `T#${tenantId}#WEBHOOKS`, gsi1sk: `${createdAt}#${webhookId}`,
      }],
    ]);
    const responder = new CannedResponder({ items, queryItems: [{ webhook_id: webhookId, events: [...ALL_EVENT_TYPES], status: 'enabled' }] });
    configureClients({ requestHandler: responder as unknown as ClientOverrides['requestHandler'] });

    // Imported only now: handlers read their configuration and build their clients at import.
    const send = (await import('../lambdas/send/handler')).handler;
    const ingest = (await import('../lambdas/ingest/handler')).handler;
    const deliver = (await import('../lambdas/deliver/handler')).handler;
    const doc: DynamoDBDocumentClient = documentClient();
    const ses: SESv2Client = sesSendClient();
    const sqs: SQSClient = sqsClient();

    const context = (): Context => ({ awsRequestId: randomUUID(), functionName: 'bench', callbackWaitsForEmptyEventLoop: false } as Context);

    // --- send -----------------------------------------------------------------------------------
    const body = JSON.stringify(sendRequest('delivered@resend.dev'));
    const sendEvent = (): APIGatewayProxyEventV2 => ({
      version: '2.0', routeKey: 'POST /emails', rawPath: '/emails', rawQueryString: '',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', 'user-agent': 'resend-node:6.38.0' },
      requestContext: {
        accountId: '123456789012', apiId: 'bench', domainName: 'bench.execute-api.us-east-1.amazonaws.com', domainPrefix: 'bench',
        http: { method: 'POST', path: '/emails', protocol: 'HTTP/1.1', sourceIp: '203.0.113.1', userAgent: 'resend-node:6.38.0' },
        requestId: randomUUID(), routeKey: 'POST /emails', stage: '$default', time: '', timeEpoch: Date.now(),
      },
      body, isBase64Encoded: false,
    });
    const sendOp = async () => {
      const res = await send(sendEvent(), context());
      if (res.statusCode !== 200) throw new Error(`send answered ${res.statusCode}: ${res.body}`);
    };
    const parsed = JSON.parse(body) as { from: string; subject: string; html: string; text: string };
    const sendFloorInput = {
      FromEmailAddress: parsed.from,
      Destination: { ToAddresses: ['success@simulator.amazonses.com'] },
      Content: { Simple: { Subject: { Data: parsed.subject, Charset: 'UTF-8' }, Body: { Html: { Data: parsed.html, Charset: 'UTF-8' }, Text: { Data: parsed.text, Charset: 'UTF-8' } } } },
      EmailTags: [{ Name: 'kind', Value: 'receipt' }, { Name: 'sesame_email_id', Value: emailId }, { Name: 'sesame_tenant_id', Value: tenantId }],
      ConfigurationSetName: 'sesame',
    };
    // The request's log (GET /logs), as small as the feature allows: the request's keys, its bodies.
    const requestLogItem = {
      pk: `RL#${tenantId}#3`, sk: `RL#${newId()}`, method: 'POST', endpoint: '/emails', status: 200, key_id: newId(),
      request_body: body, response_body: JSON.stringify({ id: emailId }), expires_at: emailMeta.expires_at,
    };
    const sendFloor = async () => {
      await ses.send(new SendEmailCommand(sendFloorInput));
      await doc.send(new PutCommand({ TableName: TABLE, Item: { ...emailMeta, body: Buffer.from(parsed.html) }, ConditionExpression: 'attribute_not_exists(pk)' }));
      await doc.send(new PutCommand({ TableName: TABLE, Item: requestLogItem }));
    };

    // --- ingest ---------------------------------------------------------------------------------
    const sesMessageId = `0100${Date.now().toString(16)}-${randomUUID()}-000000`;
    const deliveredAt = new Date(Date.now() + 200).toISOString();
    const sesEvent = {
      eventType: 'Delivery',
      mail: {
        timestamp: createdAt, source: `receipts@${BENCH_DOMAIN}`, sendingAccountId: '123456789012', messageId: sesMessageId,
        destination: ['success@simulator.amazonses.com'], headersTruncated: false,
        headers: [{ name: 'From', value: `Acme <receipts@${BENCH_DOMAIN}>` }, { name: 'To', value: 'success@simulator.amazonses.com' }, { name: 'Subject', value: 'Your receipt #100000' }],
        commonHeaders: { from: [`Acme <receipts@${BENCH_DOMAIN}>`], to: ['success@simulator.amazonses.com'], messageId: sesMessageId, subject: 'Your receipt #100000' },
        tags: {
          'ses:configuration-set': ['sesame'], 'ses:source-ip': ['203.0.113.1'], 'ses:from-domain': [BENCH_DOMAIN], 'ses:caller-identity': ['sesame-send'],
          'ses:outgoing-ip': ['54.240.0.1'], kind: ['receipt'], sesame_email_id: [`${emailId}_${Date.parse(createdAt)}_r`], sesame_tenant_id: [tenantId],
        },
      },
      delivery: {
        timestamp: deliveredAt, processingTimeMillis: 1200, recipients: ['success@simulator.amazonses.com'],
        smtpResponse: '250 2.6.0 Message received', reportingMTA: 'a8-70.smtp-out.amazonses.com', remoteMtaIp: '203.0.113.2',
      },
    };
    const snsEvent: SNSEvent = toSnsEvent(sesEvent, TOPIC_ARN, randomUUID());
    const ingestOp = () => ingest(snsEvent, localLambdaContext('ingest'));
    const eventItem = {
      pk: `E#${emailId}`, sk: `EV#${deliveredAt}#${newId()}`, kind: 'email_event', event_id: newId(), type: 'email.delivered', status: 'delivered',
      ses_type: 'Delivery', ses_message_id: sesMessageId, event_time: deliveredAt, recipients: ['delivered@resend.dev'],
      details: { smtp_response: '250 2.6.0 Message received' }, tenant_id: tenantId, expires_at: emailMeta.expires_at,
    };
    const counterAdd = () => doc.send(new UpdateCommand({
      TableName: TABLE, Key: { pk: `MC#${tenantId}#3`, sk: `H#${deliveredAt.slice(0, 13)}` },
      UpdateExpression: 'ADD #c0 :c0', ExpressionAttributeNames: { '#c0': 'delivered' }, ExpressionAttributeValues: { ':c0': 1 },
    }));
    const queueWebhook = () => sqs.send(new SendMessageBatchCommand({ QueueUrl: process.env.SESAME_WEBHOOK_QUEUE_URL!, Entries: [{ Id: '0', MessageBody: JSON.stringify(message), DelaySeconds: 0 }] }));
    // The event's one write, its webhook's SQS message, and its count (GET /emails/metrics).
    const ingestFloor = async () => {
      await doc.send(new PutCommand({ TableName: TABLE, Item: eventItem, ConditionExpression: 'attribute_not_exists(pk)' }));
      await queueWebhook();
      await counterAdd();
    };

    // --- deliver --------------------------------------------------------------------------------
    const eventId = derivedId('bench-event', emailId);
    const payload = serializePayload(buildPayload({
      eventId, tenantId, emailId, type: 'email.delivered', timestamp: deliveredAt,
      email: { email_id: emailId, from: `Acme <receipts@${BENCH_DOMAIN}>`, to: ['delivered@resend.dev'], subject: 'Your receipt #100000', created_at: createdAt, tags: { kind: 'receipt' } },
      details: {},
    }));
    const deliveryId = deliveryIdFor(eventId, webhookId, deliveredAt);
    const message = {
      v: 1, delivery_id: deliveryId, webhook_id: webhookId, tenant_id: tenantId, email_id: emailId, event_id: eventId, event_type: 'email.delivered',
      payload, queued_at: new Date().toISOString(), generation: 0,
    };
    const sqsEvent = (): SQSEvent => ({
      Records: [{
        messageId: randomUUID(), receiptHandle: randomBytes(48).toString('base64'), body: JSON.stringify(message),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AROAEXAMPLE', ApproximateFirstReceiveTimestamp: String(Date.now()) },
        messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:sesame-webhooks', awsRegion: REGION,
      }],
    });
    const deliverOp = async () => {
      const res = await deliver(sqsEvent(), localLambdaContext('deliver'));
      if (res.batchItemFailures.length > 0) throw new Error('deliver reported a failure');
    };
    const agent = new Agent({ keepAlive: true, maxSockets: 50 });
    const post = () =>
      new Promise<void>((resolve, reject) => {
        const req = request(receiver.url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`receiver answered ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(payload);
      });
    const deliveryItem = {
      ...keys.webhookDelivery(webhookId, deliveryId), kind: 'webhook_delivery', status: 'success', generation: 0, webhook_id: webhookId, tenant_id: tenantId,
      email_id: emailId, event_id: eventId, event_type: 'email.delivered', created_at: message.queued_at, attempts: 1, last_attempt_at: new Date().toISOString(),
      first_attempt: { status_code: 200, duration_ms: 150, response: 'ok', sent_at: new Date().toISOString(), n: 1 },
    };
    const deliverFloor = async () => {
      await post();
      await doc.send(new PutCommand({ TableName: TABLE, Item: deliveryItem }));
    };

    // --- the same calls, bare --------------------------------------------------------------------
    const statusItem = {
      pk: `E#${emailId}`, sk: 'STATUS', kind: 'email_status', v: 2, tenant_id: tenantId, expires_at: emailMeta.expires_at, last_event: 'delivered',
      last_key: `${deliveredAt}#30#${eventId}`, message_id: sesMessageId, gsi2pk: `M#${sesMessageId}`, gsi2sk: 'MSG',
      rc: { 'delivered@resend.dev': `30#${deliveredAt}#${eventId.slice(0, 16)}` },
      lg: [{ i: eventId, y: 'email.sent', t: createdAt, r: ['delivered@resend.dev'], d: {} }, { i: eventId, y: 'email.delivered', t: deliveredAt, r: ['delivered@resend.dev'], d: { delivery: { smtpResponse: '250 2.6.0 Message received' } } }],
      sp: [],
    };
    const statusPut = () => doc.send(new PutCommand({ TableName: TABLE, Item: statusItem, ConditionExpression: 'attribute_not_exists(pk)' }));
    // The domain's send gate is in the container's cache, as the API key is.
    const sendSameCalls = async () => {
      await sendFloor();
      await statusPut();
    };
    const ingestSameCalls = async () => {
      await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: `E#${emailId}`, sk: 'STATUS' }, ConsistentRead: true }));
      await statusPut();
      await queueWebhook();
      await counterAdd();
    };
    const deliverSameCalls = async () => {
      // The endpoint comes from the container's cache (EndpointCache): the delivery's read and its one write.
      await doc.send(new GetCommand({ TableName: TABLE, Key: keys.webhookDelivery(webhookId, deliveryId), ConsistentRead: true }));
      await post();
      await doc.send(new UpdateCommand({
        TableName: TABLE, Key: keys.webhookDelivery(webhookId, deliveryId),
        UpdateExpression: 'SET #s = :s, first_attempt = if_not_exists(first_attempt, :a)', ConditionExpression: 'attribute_not_exists(pk) OR #s <> :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'success', ':a': { status_code: 200, duration_ms: 12, response: 'ok', sent_at: deliveredAt, n: 1 } },
      }));
    };

    // The handlers log at info level; their lines go to this process's stdout (the parent discards it).
    const plan = { warmup: 300, rounds: 9, n: 200 };
    const results = {} as CpuResults['operations'];
    const ops: [keyof CpuResults['operations'], Pair, string][] = [
      ['send', { op: sendOp, floor: sendFloor, sameCalls: sendSameCalls }, 'POST /emails through the real handler with the API key and domain caches warm (a cold container adds a GetItem each); floor: SES SendEmail + the email\'s write + the request log\'s write'],
      ['ingest', { op: ingestOp, floor: ingestFloor, sameCalls: ingestSameCalls }, 'one SNS record (an SES Delivery event) through the ingest handler, endpoint lookup cached; floor: one conditional DynamoDB write, the webhook\'s SQS message, one counter write'],
      ['deliver', { op: deliverOp, floor: deliverFloor, sameCalls: deliverSameCalls }, 'one SQS record through the deliver handler, POST to a receiver in another process; floor: the same POST + one DynamoDB write'],
    ];
    // BENCH_CPU_ONLY=<op>: that operation alone (to profile it: node --cpu-prof --import tsx bench/cpu.ts out.json).
    const only = process.env.BENCH_CPU_ONLY;
    for (const [name, pair, note] of ops.filter(([name]) => only === undefined || name === only)) {
      const measured = await compare(pair, plan);
      results[name] = {
        ...measured,
        requests: await requestsOf(responder, pair.op),
        floor_requests: await requestsOf(responder, pair.floor),
        same_calls_requests: await requestsOf(responder, pair.sameCalls),
        rounds: plan.rounds,
        iterations_per_round: plan.n,
        note,
      };
    }
    agent.destroy();
    return { operations: results, ses_event_bytes: Buffer.byteLength(snsEvent.Records[0]!.Sns.Message, 'utf8') };
  } finally {
    receiver.child.kill();
  }
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: tsx bench/cpu.ts <out.json>');
  runCpuBench().then(
    (results) => {
      writeFileSync(out, JSON.stringify(results, null, 2));
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`cpu bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
