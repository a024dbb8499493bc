/**
 * No input gets a 5xx, on any route: for every route of API_ROUTES (the `$default` route included),
 * about 200 generated requests (path parameters, query strings, headers and bodies: near-valid
 * bodies with fields replaced, any JSON, deep nesting, text that is not JSON) go in-process through
 * the real handlers (middy chain, auth middleware, routes) on the test's own dynalite table, the
 * local SES v2 server and the local SQS. Each answer must be under 500; a 4xx must be in Resend's error
 * format and must have changed nothing in the table: a 4xx that made no successful write command
 * changed nothing; one that did (a claim taken and released) must leave the table as it was, which
 * a scan compares. GET routes must make no write at all.
 *
 * POST /webhooks/ses gets the real verifier; what it verifies would go to ingestion, which is
 * replaced by a recorder here (ingestion has its own tests).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { API_ROUTES, DEFAULT_ROUTE_KEY, type ApiFunction } from '../../lambdas/core/routes';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { EventStore } from '../../lambdas/core/adapters/events';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { IdempotencyStore } from '../../lambdas/core/adapters/idempotency';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { SesSender } from '../../lambdas/core/adapters/ses';
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { provisionTestSesTenant, TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { SecretBox, staticKeyProvider } from '../../lambdas/core/adapters/secrets';
import { DeliveryStore } from '../../lambdas/core/adapters/deliveries';
import { RebuiltPayloads } from '../../lambdas/core/adapters/delivery-payloads';
import { WebhookStore } from '../../lambdas/core/adapters/endpoints';
import { TemplateStore } from '../../lambdas/core/adapters/templates';
import { SqsDeliveryQueue } from '../../lambdas/core/adapters/fan-out';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createApiHandler } from '../../lambdas/core/http/api';
import { silentLogger } from '../../lambdas/core/log';
import { newId } from '../../lambdas/core/domain/ids';
import { sendRoutes } from '../../lambdas/send/routes';
import { domainRoutes } from '../../lambdas/domains/routes';
import { apiKeyRoutes } from '../../lambdas/account/api-keys';
import { webhookRoutes } from '../../lambdas/account/webhooks';
import { templateRoutes } from '../../lambdas/account/templates';
import { suppressionRoutes } from '../../lambdas/account/suppressions';
import { SuppressionStore } from '../../lambdas/core/adapters/suppressions';
import { createSnsHttpsHandler } from '../../lambdas/sns-https/core';
import { createSnsVerifier } from '../../lambdas/sns-https/verify';
import { DEFAULT_SNS_CERT_HOST } from '../../lambdas/core/config';
import { isResendError } from '../support/api';
import { localClientConfig, startTestDynamo, startTestS3, startTestSes, startTestSqs, type TestDynamo, type TestS3, type TestSes, type TestSqs } from '../support/services';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { createFrameHandler, frameRoutes, withFrame } from '../../lambdas/account/frame';
import { buildConsoleAssets } from '../../lambdas/console/build';
import { createConsoleHandler } from '../../lambdas/console/serve';
import { FIXTURE_TOPIC, SIGNED } from '../ingest/fixtures';

type Lambda = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const RUNS = 200;
const quiet = silentLogger;
const context = { awsRequestId: 'fuzz', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

let dynamo: TestDynamo;
let ses: TestSes;
let sqs: TestSqs;
let s3: TestS3;
let doc: DynamoDBDocumentClient;
let table: string;
let handlers: Record<ApiFunction, Lambda>;
/** Successful write commands made through the handlers' DynamoDB client. */
let writes = 0;
let key: string;
const known = {} as Record<'key' | 'domain' | 'webhook' | 'email' | 'template', string>;

const WRITE_COMMANDS = /^(Put|Update|Delete|BatchWrite|TransactWrite)/;

beforeAll(async () => {
  [dynamo, ses, sqs, s3] = await Promise.all([startTestDynamo(), startTestSes(), startTestSqs(), startTestS3()]);
  table = await dynamo.freshTable();
  doc = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(dynamo.endpoint)), { marshallOptions: { removeUndefinedValues: true } });
  doc.middlewareStack.add((next, ctx) => async (args) => {
    const out = await next(args);
    if (WRITE_COMMANDS.test(ctx.commandName ?? '')) writes++;
    return out;
  }, { step: 'initialize', name: 'countWrites' });
  const db = createDb(doc, table);
  const tenants = new TenantStore(db);
  const domains = new DomainStore(db);
  const webhooks = new WebhookStore(db, new SecretBox(staticKeyProvider(randomBytes(32).toString('base64'))));
  const templates = new TemplateStore(db);
  const queue = await sqs.freshQueue();
  const auth = createAuthenticator(tenants);

  const tenant = await tenants.createTenant('fuzz');
  key = (await tenants.createKey(tenant.id)).token;
  known.key = (await tenants.createKey(tenant.id, { name: 'spare' })).id;
  known.domain = newId();
  await domains.put({
    id: known.domain, name: 'acme.test', tenantId: tenant.id, status: 'verified', verifiedForSending: true, region: 'us-east-1',
    openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString(),
  });
  await ses.seedIdentity('acme.test', { verified: true });
  await provisionTestSesTenant(ses.client, tenant.id, ['acme.test']);
  known.template = (await templates.create(tenant.id, { name: 'welcome', alias: 'welcome', content: { html: '<p>Hi</p>', subject: 'Hi', replyTo: [], variables: [] } })).id;
  known.webhook = (await webhooks.create(tenant.id, { endpoint: 'https://hooks.example.com/a', events: ['email.sent'] })).webhook.id;

  const send = createApiHandler(sendRoutes({
    emails: new EmailStore(db, 30), status: new EmailStatusStore(db), retryWindowMs: 15 * 60_000, retentionDays: 30, domains, idempotency: new IdempotencyStore(db), events: new EventStore(db), templates,
    sender: new SesSender(ses.client), configurationSet: 'sesame', sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', now: Date.now,
    content: new ContentStore(s3.client, s3.bucket),
  }), auth, quiet) as Lambda;
  const sent = await send(event('POST /emails', {}, {}, { authorization: `Bearer ${key}` }, JSON.stringify(TEMPLATES['POST /emails'])), context);
  known.email = (JSON.parse(sent.body!) as { id: string }).id;

  const testCert = readFileSync(join(SIGNED, 'test-signing-cert.pem'), 'utf8');
  const frameDeps = { emails: new EmailStore(db, 30), keys: staticKeyProvider('11'.repeat(32)) };
  const frame = createFrameHandler(frameDeps, quiet);
  handlers = {
    send,
    domains: createApiHandler(domainRoutes({
      domains, identities: new SesIdentities(ses.client, LOCAL_STACK_NAME), events: { publish: async () => undefined },
      sesTenants: new SesTenants(ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', now: Date.now,
    }), auth, quiet) as Lambda,
    account: withFrame(createApiHandler({
      ...apiKeyRoutes({ tenants, domains }),
      ...webhookRoutes({
        webhooks, deliveries: new DeliveryStore(db, 30), queue: new SqsDeliveryQueue(sqs.client, queue.url),
        payloads: new RebuiltPayloads(new EmailStore(db, 30), new EventStore(db)),
        endpointPolicy: { allowLoopback: false, allowHttp: false },
      }),
      ...templateRoutes({ templates }),
      ...suppressionRoutes({ suppressions: new SuppressionStore(db), ses: new SesTenants(ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX }),
      ...frameRoutes(frameDeps),
    }, auth, quiet) as Lambda, frame) as Lambda,
    console: createConsoleHandler(buildConsoleAssets()) as Lambda,
    snsHttps: createSnsHttpsHandler({
      verifier: createSnsVerifier({ certHost: new RegExp(DEFAULT_SNS_CERT_HOST), fetchCertificate: async () => testCert }),
      topicArn: FIXTURE_TOPIC,
      ingest: async () => 'duplicate',
      confirmSubscription: async () => undefined,
      log: quiet,
    }),
  };
}, 60_000);

afterAll(async () => {
  doc?.destroy();
  await Promise.all([dynamo?.close(), ses?.close(), sqs?.close(), s3?.close()]);
});

async function snapshot(): Promise<string> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamo.doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return JSON.stringify(items.map((i) => JSON.stringify(i)).sort());
}

// --- requests ----------------------------------------------------------------------------------

/** A path as HTTP carries it: UTF-8, so a lone surrogate arrives as U+FFFD. */
const wellFormed = (s: string) => Buffer.from(s, 'utf8').toString('utf8');

function event(routeKey: string, params: Record<string, string>, query: Record<string, string>, headers: Record<string, string>, body: string | undefined, rawPath?: string): APIGatewayProxyEventV2 {
  const method = routeKey === DEFAULT_ROUTE_KEY ? 'GET' : routeKey.split(' ')[0]!;
  const path = rawPath ?? routeKey.replace(/^\S+ /, '').replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(wellFormed(params[name] ?? '')));
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: { 'content-type': 'application/json', ...headers },
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    ...(Object.keys(params).length ? { pathParameters: params } : {}),
    requestContext: {
      accountId: '000000000000', apiId: 'fuzz', domainName: 'localhost', domainPrefix: 'fuzz',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'fuzz' },
      requestId: 'fuzz', routeKey, stage: '$default', time: new Date().toUTCString(), timeEpoch: Date.now(),
    },
    ...(body !== undefined ? { body } : {}),
    isBase64Encoded: false,
  };
}

const snsFixture = readFileSync(join(SIGNED, 'http', 'event-delivery.v1.json'), 'utf8');

/** A valid body per route, which the generator then spoils field by field. */
const TEMPLATES: Record<string, unknown> = {
  'POST /emails': { from: 'Acme <hello@acme.test>', to: ['delivered@resend.dev'], subject: 'Hi', text: 'Hello', tags: [{ name: 'plan', value: 'pro' }], headers: { 'X-Ref': '1' }, attachments: [{ filename: 'a.txt', content: 'YWJj' }] },
  'POST /emails/batch': [{ from: 'hello@acme.test', to: 'delivered@resend.dev', subject: 'Hi', text: 'Hello' }, { from: 'hello@acme.test', to: 'bounced@resend.dev', subject: 'Hi', html: '<p>Hi</p>' }],
  'POST /domains': { name: 'mail.fuzz.example.com', region: 'us-east-1', custom_return_path: 'send' },
  'PATCH /domains/{id}': { open_tracking: true, click_tracking: false },
  'POST /api-keys': { name: 'fuzz', permission: 'sending_access' },
  'POST /webhooks': { endpoint: 'https://hooks.example.com/b', events: ['email.sent', 'email.delivered'] },
  'PATCH /webhooks/{id}': { events: ['email.delivered'], status: 'enabled' },
  'POST /webhooks/{id}/recover': { since: '2026-01-01T00:00:00.000Z' },
  'POST /webhooks/ses': JSON.parse(snsFixture) as unknown,
  'POST /templates': { name: 'receipt', alias: 'receipt', subject: 'Your receipt', html: '<p>{{{AMOUNT}}}</p>', variables: [{ key: 'AMOUNT', type: 'string', fallback_value: '0' }] },
  'PATCH /templates/{id}': { name: 'renamed', html: '<p>Hi</p>' },
  'PATCH /api-keys/{id}': { name: 'renamed' },
  'POST /suppressions': { email: 'Fuzz@Example.org' },
  'POST /suppressions/batch/add': { emails: ['a@example.org', 'B@example.org'] },
  'POST /suppressions/batch/remove': { emails: ['a@example.org'] },
};

const NASTY = [
  '', ' ', '__proto__', 'constructor', 'toString', 'x'.repeat(3000), 'a\r\nBcc: x@evil.test', '\u0000', '%E0%A4%A', '../..',
  'null', '-1', '0', '1.5', '101', '1e2', '20', 'é@ü.de', '\ud800', '2030-01-01T00:00:00Z', 'https://169.254.169.254/latest',
  'http://127.0.0.1:1/x', 'email.sent', 'sesame_email_id', 're_' + 'a'.repeat(40),
];

/** Strings a client might send anywhere: odd ones, ids of real objects, random ones. */
const anyString = (): fc.Arbitrary<string> => fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.constantFrom(...Object.values(known)) },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

/** Any JSON value, with the nasty strings among its leaves and keys. */
const anyJson = (): fc.Arbitrary<unknown> => fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(anyString(), fc.oneof(anyString(), fc.jsonValue({ maxDepth: 2 })), { maxKeys: 4 }),
  fc.array(anyString(), { maxLength: 4 }),
  anyString(),
);

/** Sets `key` as an own property, even `__proto__`. */
function withField(target: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(target)) Object.defineProperty(copy, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (value === undefined) delete copy[key];
  else Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function spoiled(template: unknown): fc.Arbitrary<unknown> {
  const edit = (value: unknown, edits: [string, unknown, number][]): unknown => {
    if (Array.isArray(value)) {
      return edits.reduce<unknown[]>((items, [k, v, i]) => items.map((item, n) => (n === i % items.length && typeof item === 'object' && item !== null ? withField(item as Record<string, unknown>, k, v) : item)), value);
    }
    if (typeof value !== 'object' || value === null) return value;
    return edits.reduce((o, [k, v]) => withField(o, k, v), value as Record<string, unknown>);
  };
  const keys = [...new Set([...Object.keys((Array.isArray(template) ? template[0] : template) as object), 'headers', 'tags', 'attachments', '__proto__', 'scheduled_at'])];
  return fc.array(fc.tuple(fc.constantFrom(...keys), fc.oneof(anyJson(), fc.constant(undefined)), fc.nat(3)), { maxLength: 3 }).map((edits) => edit(template, edits));
}

function bodies(routeKey: string): fc.Arbitrary<string | undefined> {
  const template = TEMPLATES[routeKey];
  return fc.oneof(
    { weight: 4, arbitrary: (template === undefined ? anyJson() : spoiled(template)).map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: anyJson().map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 6000 }).map((n) => '['.repeat(n) + ']'.repeat(n)) },
    { weight: 1, arbitrary: fc.integer({ min: 30, max: 3000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

const headers = (): fc.Arbitrary<Record<string, string>> => fc.record({
  authorization: fc.oneof(
    { weight: 8, arbitrary: fc.constant(`Bearer ${key}`) },
    { weight: 1, arbitrary: anyString().map((s) => `Bearer ${s}`) },
    { weight: 1, arbitrary: anyString() },
  ),
  'idempotency-key': anyString(),
  'x-batch-validation': fc.constantFrom('strict', 'permissive', 'STRICT', 'lenient'),
  'x-amz-sns-message-type': fc.constantFrom('Notification', 'SubscriptionConfirmation', 'Gossip'),
}, { requiredKeys: ['authorization'] });

const query = (): fc.Arbitrary<Record<string, string>> =>
  fc.dictionary(fc.constantFrom('limit', 'after', 'before', '__proto__', 'constructor', 'x'), anyString(), { maxKeys: 3 });

function requests(routeKey: string) {
  const params = [...routeKey.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return fc.record({
    params: fc.tuple(...params.map(() => anyString())).map((values) => Object.fromEntries(params.map((p, i) => [p, values[i]!]))),
    query: query(),
    headers: headers(),
    body: bodies(routeKey),
    rawPath: fc.oneof(fc.constantFrom('/', '/nope', '/emails/x/y/z', '//', '/..'), anyString().map((s) => `/${s}`)),
  });
}

// --- the property --------------------------------------------------------------------------------

// First, while the objects the fuzzing may delete are still there.
describe('the inputs the probe found', () => {
  const call = (routeKey: string, fn: ApiFunction, options: { params?: Record<string, string>; query?: Record<string, string>; headers?: Record<string, string>; body?: string } = {}) =>
    handlers[fn](event(routeKey, options.params ?? {}, options.query ?? {}, { authorization: `Bearer ${key}`, ...options.headers }, options.body), context);

  it('answers a JSON body nested 5,000 levels deep with 422, an Idempotency-Key or not', async () => {
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    for (const headers of [{}, { 'idempotency-key': 'deep-1' }] as Record<string, string>[]) {
      const res = await call('POST /emails', 'send', { headers, body: deep });
      expect([res.statusCode, JSON.parse(res.body!).name]).toEqual([422, 'validation_error']);
    }
  });

  it.each([
    ['GET /emails', 'send', {}],
    ['GET /domains', 'domains', {}],
    ['GET /webhooks', 'account', {}],
    ['GET /webhooks/{id}/events', 'account', { id: 'webhook' }],
    ['GET /emails/{id}/attachments', 'send', { id: 'email' }],
  ] as const)('answers a 3,000-character cursor on %s with 422', async (routeKey, fn, params) => {
    for (const name of ['after', 'before']) {
      const res = await call(routeKey, fn, { params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, known[v as keyof typeof known]])), query: { [name]: 'x'.repeat(3000) } });
      expect([res.statusCode, JSON.parse(res.body!).name]).toEqual([422, 'validation_error']);
    }
  });

  it.each([['CR', '\r'], ['LF', '\n'], ['NUL', '\u0000']])('refuses a webhook endpoint with %s (422), on create and update, storing nothing', async (_name, bad) => {
    const before = await snapshot();
    const endpoint = `https://hooks.example.com/a${bad}b`;
    const created = await call('POST /webhooks', 'account', { body: JSON.stringify({ endpoint, events: ['email.sent'] }) });
    const updated = await call('PATCH /webhooks/{id}', 'account', { params: { id: known.webhook }, body: JSON.stringify({ endpoint }) });
    for (const res of [created, updated]) {
      expect(res.statusCode).toBe(422);
      expect(JSON.parse(res.body!)).toMatchObject({ name: 'validation_error', message: expect.stringContaining('endpoint') });
    }
    expect(await snapshot()).toBe(before);
  });
});

describe('no input gets a 5xx', () => {
  it.each(API_ROUTES.map((r) => [r.routeKey, r.fn] as const))(`%s: ${RUNS} generated requests`, async (routeKey, fn) => {
    const method = routeKey.split(' ')[0];
    const reads = method === 'GET' || routeKey === DEFAULT_ROUTE_KEY;
    let state = await snapshot();
    await fc.assert(
      fc.asyncProperty(requests(routeKey), async (r) => {
        const writesBefore = writes;
        const res = await handlers[fn](event(routeKey, r.params, r.query, r.headers, r.body, routeKey === DEFAULT_ROUTE_KEY ? r.rawPath : undefined), context);
        const status = res.statusCode ?? 200;
        expect(status).toBeLessThan(500);
        if (reads) {
          expect(writes).toBe(writesBefore);
        }
        if (status >= 400) {
          const body = JSON.parse(res.body ?? '') as { statusCode: number };
          expect(isResendError(body)).toBe(true);
          expect(body.statusCode).toBe(status);
          if (writes !== writesBefore) expect(await snapshot()).toBe(state);
        } else if (writes !== writesBefore) {
          state = await snapshot();
        }
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
