/**
 * POST /webhooks/ses: SNS over HTTP(S), verified before anything is used.
 *
 * The signed fixtures (test/fixtures/sns/test-signed) are signed with a TEST-ONLY key whose
 * certificate they name at an AWS URL. The certificate fetch is stubbed: `https.get`, which the
 * verifier fetches with, answers with the test certificate for every URL, and the test records
 * which URLs were asked for (so "fetched nothing" is counted, not assumed). Messages a case needs
 * (another topic, another certificate URL, another SubscribeURL) are signed here with the same key.
 */
import https from 'node:https';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { createSign, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { DEFAULT_SNS_CERT_HOST } from '../../lambdas/core/config';
import { silentLogger } from '../../lambdas/core/log';
import { ingestSnsMessage, type IngestOutcome, type SnsMessageFields } from '../../lambdas/ingest/core';
import { checkSubscribeUrl, createSnsHttpsHandler } from '../../lambdas/sns-https/core';
import { CERTIFICATE_CACHE_SIZE, createSnsVerifier } from '../../lambdas/sns-https/verify';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { FIXTURE_MESSAGE_ID, FIXTURE_TOPIC, SIGNED, type Json, withTaggedMessage } from './fixtures';
import { makeWorld } from './world';

const HTTP = join(SIGNED, 'http');
const TEST_CERT = readFileSync(join(SIGNED, 'test-signing-cert.pem'), 'utf8');
const TEST_KEY = readFileSync(join(SIGNED, 'test-signing-key.pem'), 'utf8');
const AWS_CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-00000000000000000000000000000000.pem';
const OTHER_TOPIC = 'arn:aws:sns:us-east-1:123456789012:someone-elses-topic';

// ---------------------------------------------------------------------------------------------
// The stubbed certificate fetch

const fetched: string[] = [];
beforeEach(() => {
  fetched.length = 0;
  jest.spyOn(https, 'get').mockImplementation(((url: string | URL, callback: (res: Readable) => void) => {
    fetched.push(String(url));
    const req = Object.assign(new EventEmitter(), {
      setTimeout: () => req,
      destroy: (error?: Error) => void (error && req.emit('error', error)),
    });
    process.nextTick(() => {
      const res = Object.assign(Readable.from([Buffer.from(TEST_CERT)]), { statusCode: 200 });
      callback(res);
    });
    return req;
  }) as unknown as typeof https.get);
});
afterEach(() => jest.restoreAllMocks());

// ---------------------------------------------------------------------------------------------
// Messages

const raw = (file: string) => readFileSync(join(HTTP, `${file}.json`), 'utf8');
const parsed = (file: string): Json => JSON.parse(raw(file)) as Json;

/** Signs an SNS message as SNS does (the string to sign per type), with the test key by default. */
function sign(message: Json, version: '1' | '2' = '1', key: string = TEST_KEY): Json {
  const keys = message.Type === 'Notification'
    ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
    : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const signer = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256');
  signer.update(keys.filter((k) => k in message).map((k) => `${k}\n${String(message[k])}\n`).join(''), 'utf8');
  return { ...message, SignatureVersion: version, Signature: signer.sign(key, 'base64') };
}

function httpEvent(body: string, type?: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/ses',
    rawPath: '/webhooks/ses',
    rawQueryString: '',
    headers: {
      'content-type': 'text/plain; charset=UTF-8',
      'user-agent': 'Amazon Simple Notification Service Agent',
      ...(type ? { 'x-amz-sns-message-type': type } : {}),
    },
    requestContext: { requestId: 'req-1', http: { method: 'POST', path: '/webhooks/ses' } } as APIGatewayProxyEventV2['requestContext'],
    body,
    isBase64Encoded: false,
  };
}

const context = { awsRequestId: 'aws-req-1' } as Context;

// ---------------------------------------------------------------------------------------------
// The handler, with recording ingest and confirmation

function setup(options: { topicArn?: string; certHost?: RegExp; ingest?: (m: SnsMessageFields) => Promise<IngestOutcome> } = {}) {
  const ingested: SnsMessageFields[] = [];
  const confirmed: string[] = [];
  const handler = createSnsHttpsHandler({
    verifier: createSnsVerifier({ certHost: options.certHost ?? new RegExp(DEFAULT_SNS_CERT_HOST) }),
    topicArn: options.topicArn ?? FIXTURE_TOPIC,
    ingest: options.ingest ?? (async (m) => (ingested.push(m), 'applied')),
    confirmSubscription: async (url) => void confirmed.push(url),
    log: silentLogger,
  });
  const post = async (body: string | Json, type?: string) =>
    (await handler(httpEvent(typeof body === 'string' ? body : JSON.stringify(body), type ?? (typeof body === 'string' ? undefined : (body.Type as string))), context)) as APIGatewayProxyStructuredResultV2;
  return { post, ingested, confirmed };
}

const notifications = readdirSync(HTTP).filter((f) => f.endsWith('.json') && !f.endsWith('.headers.json') && parsed(f.replace(/\.json$/, '')).Type === 'Notification').map((f) => f.replace(/\.json$/, ''));

describe('the test signer', () => {
  it('reproduces the fixtures\' signatures, v1 and v2', () => {
    for (const file of ['event-delivery.v1', 'event-delivery.v2', 'subscription-confirmation.v2', 'unsubscribe-confirmation.v1']) {
      const message = parsed(file);
      expect(sign(message, message.SignatureVersion).Signature).toBe(message.Signature);
    }
  });
});

describe('POST /webhooks/ses: notifications', () => {
  it.each(notifications)('verifies and ingests %s', async (file) => {
    const { post, ingested } = setup();
    const res = await post(raw(file), 'Notification');
    expect(res.statusCode).toBe(200);
    expect(ingested).toHaveLength(1);
    // The message reaches ingestion exactly as signed, its final newline included.
    expect(ingested[0]!.Message).toBe(parsed(file).Message);
    expect(fetched.every((u) => u === AWS_CERT_URL)).toBe(true);
  });

  it('keeps the certificate per URL: fetched once for many messages', async () => {
    const { post } = setup();
    const url = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-cache-test.pem';
    for (const file of notifications.slice(0, 5)) {
      expect((await post(sign({ ...parsed(file), SigningCertURL: url }))).statusCode).toBe(200);
    }
    expect(fetched.filter((u) => u === url)).toEqual([url]);
  });

  const refusals: [string, () => Json | string][] = [
    ['a changed message', () => ({ ...parsed('event-bounce-permanent-general.v1'), Message: parsed('event-bounce-permanent-general.v1').Message.replace('Permanent', 'Transient') })],
    ['a message without its signed final newline', () => ({ ...parsed('event-delivery.v2'), Message: parsed('event-delivery.v2').Message.trimEnd() })],
    ['a changed Subject', () => ({ ...parsed('event-delivery.v1'), Subject: 'Hello' })],
    ['a changed Timestamp', () => ({ ...parsed('event-delivery.v1'), Timestamp: '2030-01-01T00:00:00.000Z' })],
    ['a signature of another key', () => sign(parsed('event-delivery.v1'), '1', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)],
    ['an unsupported signature version', () => ({ ...parsed('event-delivery.v1'), SignatureVersion: '3' })],
    ['no signature', () => {
      const m = parsed('event-delivery.v1');
      delete m.Signature;
      return m;
    }],
    ['a validly signed message of another topic', () => sign({ ...parsed('event-delivery.v1'), TopicArn: OTHER_TOPIC })],
    ['a certificate at another host', () => sign({ ...parsed('event-delivery.v1'), SigningCertURL: 'https://evil.example.com/SimpleNotificationService-1.pem' })],
    ['a certificate at a look-alike host', () => sign({ ...parsed('event-delivery.v1'), SigningCertURL: 'https://sns.us-east-1.amazonaws.com.evil.example.com/cert.pem' })],
    ['a certificate over http', () => sign({ ...parsed('event-delivery.v1'), SigningCertURL: 'http://sns.us-east-1.amazonaws.com/cert.pem' })],
    ['a certificate URL that is not a .pem', () => sign({ ...parsed('event-delivery.v1'), SigningCertURL: 'https://sns.us-east-1.amazonaws.com/cert.txt' })],
    ['a certificate URL with a backslash', () => sign({ ...parsed('event-delivery.v1'), SigningCertURL: 'https://evil.example.com\\@sns.us-east-1.amazonaws.com/cert.pem' })],
    ['a certificate URL with credentials', () => sign({ ...parsed('event-delivery.v1'), SigningCertURL: 'https://evil@sns.us-east-1.amazonaws.com/cert.pem' })],
    ['an unknown message type', () => sign({ ...parsed('event-delivery.v1'), Type: 'Gossip' })],
    ['a body that is not JSON', () => 'Type=Notification&Message=hi'],
    ['a JSON array', () => '[]'],
  ];

  it.each(refusals)('refuses %s with 403, changing nothing', async (_name, make) => {
    const { post, ingested, confirmed } = setup();
    const res = await post(make());
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body as string)).toMatchObject({ statusCode: 403, name: 'security_error' });
    expect([ingested, confirmed]).toEqual([[], []]);
    expect(fetched.filter((u) => u !== AWS_CERT_URL)).toEqual([]);
  });

  it('refuses a message that carries both spellings of the certificate URL, fetching nothing', async () => {
    // The Lambda spelling names another certificate that the same key signed: the URL that is
    // checked must be the URL that is fetched, so a message with two is refused outright.
    const { post, ingested } = setup();
    const other = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-other.pem';
    const res = await post(sign({ ...parsed('event-delivery.v1'), SigningCertUrl: other }));
    expect(res.statusCode).toBe(403);
    expect(ingested).toEqual([]);
    expect(fetched).toEqual([]);
  });

  it('refuses a message with only the Lambda spelling (SigningCertUrl), fetching nothing', async () => {
    const { post } = setup();
    const m = sign(parsed('event-delivery.v1'));
    const lambda: Json = { ...m, SigningCertUrl: m.SigningCertURL };
    delete lambda.SigningCertURL;
    expect((await post(lambda)).statusCode).toBe(403);
    expect(fetched).toEqual([]);
  });

  let fresh = 0;
  /** A certificate URL no earlier message used, so that no cache can hide a fetch. */
  const freshCertUrl = () => `https://sns.us-east-1.amazonaws.com/SimpleNotificationService-fresh-${++fresh}.pem`;

  it.each([
    ['a signature too short to be RSA', (m: Json) => ({ ...m, Signature: 'AAAA' })],
    ['a signature that is not base64', (m: Json) => ({ ...m, Signature: `${'*'.repeat(340)}==` })],
    ['no MessageId', (m: Json) => ({ ...m, MessageId: undefined })],
    ['a Timestamp that is not a string', (m: Json) => ({ ...m, Timestamp: 12 })],
    ['a Subject that is not a string', (m: Json) => ({ ...m, Subject: { a: 1 } })],
    ['no SignatureVersion', (m: Json) => ({ ...m, SignatureVersion: undefined })],
  ])('fetches no certificate for a message with %s (refused on cheap checks first)', async (_name, spoil) => {
    const { post } = setup();
    const res = await post(spoil(sign({ ...parsed('event-delivery.v1'), SigningCertURL: freshCertUrl() })));
    expect(res.statusCode).toBe(403);
    expect(fetched).toEqual([]);
  });

  it(`keeps at most ${CERTIFICATE_CACHE_SIZE} certificates, the least recently used going first`, async () => {
    const { post } = setup();
    const urls = Array.from({ length: CERTIFICATE_CACHE_SIZE + 1 }, freshCertUrl);
    const deliver = async (url: string) => expect((await post(sign({ ...parsed('event-delivery.v1'), SigningCertURL: url }))).statusCode).toBe(200);
    for (const url of urls.slice(0, CERTIFICATE_CACHE_SIZE)) await deliver(url);
    await deliver(urls[0]!); // used again: now the most recent
    await deliver(urls[CERTIFICATE_CACHE_SIZE]!); // one too many: urls[1], the least recent, goes
    expect(fetched).toEqual(urls);
    await deliver(urls[0]!);
    await deliver(urls[1]!);
    expect(fetched).toEqual([...urls, urls[1]]);
  });

  it('refuses a message whose header type contradicts its body', async () => {
    const { post, ingested } = setup();
    expect((await post(raw('event-delivery.v1'), 'SubscriptionConfirmation')).statusCode).toBe(403);
    expect(ingested).toEqual([]);
  });

  it('accepts the other topic\'s message when that topic is the configured one (the topic was the only fault)', async () => {
    const { post, ingested } = setup({ topicArn: OTHER_TOPIC });
    expect((await post(sign({ ...parsed('event-delivery.v1'), TopicArn: OTHER_TOPIC }))).statusCode).toBe(200);
    expect(ingested).toHaveLength(1);
  });

  it('trusts another certificate host only when configured to (SESAME_SNS_CERT_HOST)', async () => {
    const local = sign({ ...parsed('event-delivery.v1'), SigningCertURL: 'https://certs.local.test:8443/sns.pem' });
    expect((await setup().post(local)).statusCode).toBe(403);
    const custom = setup({ certHost: /^certs\.local\.test:8443$/ });
    expect((await custom.post(local)).statusCode).toBe(200);
    expect(fetched).toContain('https://certs.local.test:8443/sns.pem');
    // ... and then AWS's hosts are not trusted any more.
    expect((await custom.post(raw('event-delivery.v1'))).statusCode).toBe(403);
  });

  it('answers 5xx when ingestion fails in a way a retry may fix, so that SNS redelivers', async () => {
    const { post } = setup({ ingest: async () => { throw new Error('table unreachable'); } });
    const res = await post(raw('event-delivery.v1'));
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('table unreachable');
  });
});

describe('POST /webhooks/ses: subscription messages', () => {
  it.each(['subscription-confirmation.v1', 'subscription-confirmation.v2'])('confirms %s for the configured topic at SNS\'s own URL', async (file) => {
    const { post, confirmed, ingested } = setup();
    expect((await post(raw(file), 'SubscriptionConfirmation')).statusCode).toBe(200);
    expect(confirmed).toEqual([parsed(file).SubscribeURL]);
    expect(ingested).toEqual([]);
  });

  const subscribeFor = (topic: string, host = 'sns.us-east-1.amazonaws.com', scheme = 'https') =>
    `${scheme}://${host}/?Action=ConfirmSubscription&TopicArn=${topic}&Token=${'ab'.repeat(32)}`;

  it.each([
    ['another topic', () => sign({ ...parsed('subscription-confirmation.v1'), TopicArn: OTHER_TOPIC, SubscribeURL: subscribeFor(OTHER_TOPIC) })],
    ['a SubscribeURL at another host', () => sign({ ...parsed('subscription-confirmation.v1'), SubscribeURL: subscribeFor(FIXTURE_TOPIC, 'evil.example.com') })],
    ['a SubscribeURL over http', () => sign({ ...parsed('subscription-confirmation.v1'), SubscribeURL: subscribeFor(FIXTURE_TOPIC, 'sns.us-east-1.amazonaws.com', 'http') })],
    ['a SubscribeURL for another topic', () => sign({ ...parsed('subscription-confirmation.v1'), SubscribeURL: subscribeFor(OTHER_TOPIC) })],
    ['a changed Token', () => ({ ...parsed('subscription-confirmation.v1'), Token: 'ff'.repeat(64) })],
  ])('does not confirm %s (403)', async (_name, make) => {
    const { post, confirmed } = setup();
    expect((await post(make())).statusCode).toBe(403);
    expect(confirmed).toEqual([]);
  });

  it('checks SubscribeURLs strictly', () => {
    expect(checkSubscribeUrl(subscribeFor(FIXTURE_TOPIC, 'sns.cn-north-1.amazonaws.com.cn'), FIXTURE_TOPIC)).toBeDefined();
    expect(checkSubscribeUrl(subscribeFor(FIXTURE_TOPIC, 'sns.us-east-1.amazonaws.com:8443'), FIXTURE_TOPIC)).toBeUndefined();
    expect(checkSubscribeUrl(subscribeFor(FIXTURE_TOPIC).replace('ConfirmSubscription', 'Unsubscribe'), FIXTURE_TOPIC)).toBeUndefined();
    expect(checkSubscribeUrl(subscribeFor(FIXTURE_TOPIC).replace(/&Token=.*/, ''), FIXTURE_TOPIC)).toBeUndefined();
  });

  it.each(['unsubscribe-confirmation.v1', 'unsubscribe-confirmation.v2'])('verifies %s (Token signed) and only logs it', async (file) => {
    const { post, confirmed, ingested } = setup();
    expect((await post(raw(file), 'UnsubscribeConfirmation')).statusCode).toBe(200);
    expect([confirmed, ingested]).toEqual([[], []]);
    expect(fetched).toEqual([AWS_CERT_URL]);
  });

  it.each([
    ['a changed Token', () => ({ ...parsed('unsubscribe-confirmation.v2'), Token: 'ff'.repeat(64) })],
    ['a signature of the string without its Token', () => {
      const m = parsed('unsubscribe-confirmation.v1');
      const signer = createSign('RSA-SHA1');
      signer.update(['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'TopicArn', 'Type'].map((k) => `${k}\n${m[k]}\n`).join(''));
      return { ...m, Signature: signer.sign(TEST_KEY, 'base64') };
    }],
    ['a certificate at another host', () => sign({ ...parsed('unsubscribe-confirmation.v1'), SigningCertURL: 'https://evil.example.com/cert.pem' })],
    ['another topic', () => sign({ ...parsed('unsubscribe-confirmation.v1'), TopicArn: OTHER_TOPIC })],
  ])('refuses an UnsubscribeConfirmation with %s (403)', async (_name, make) => {
    const { post } = setup();
    expect((await post(make())).statusCode).toBe(403);
    expect(fetched.filter((u) => u !== AWS_CERT_URL)).toEqual([]);
  });
});

describe('POST /webhooks/ses: through ingestion to the table', () => {
  let dynamo: TestDynamo;
  beforeAll(async () => {
    dynamo = await startTestDynamo();
  });
  afterAll(() => dynamo.close());

  it('applies a verified notification as the ingest function does; an unverified one changes nothing', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const { post } = setup({ ingest: (m) => ingestSnsMessage(world.deps, m) });

    // Re-signed with Sesame's tag in the message, as every event of mail Sesame sent carries it.
    const tagged = (file: string) => sign(withTaggedMessage(parsed(file)), parsed(file).SignatureVersion);
    expect((await post(tagged('event-delivery.v2'))).statusCode).toBe(200);
    expect((await world.view(id)).lastEvent).toBe('delivered');
    const before = await world.items(id);

    const tampered = parsed('event-bounce-permanent-general.v1');
    tampered.Message = tampered.Message.replace('recipient@example.com', 'someone@example.com');
    expect((await post(tampered)).statusCode).toBe(403);
    expect((await post(sign({ ...parsed('event-complaint-with-feedback-report.v1'), TopicArn: OTHER_TOPIC }))).statusCode).toBe(403);
    expect(await world.items(id)).toEqual(before);
    expect(world.fanned.map((e) => e.type)).toEqual(['email.delivered']);

    // The same event by the Lambda path is a duplicate: nothing written, fanned out again under the same id.
    expect((await post(tagged('event-delivery.v1'))).statusCode).toBe(200);
    expect(await world.items(id)).toEqual(before);
    expect(world.fanned.map((e) => e.eventId)).toEqual([world.fanned[0]!.eventId, world.fanned[0]!.eventId]);
  });

  it('answers 500 for an event whose email is not there yet, so that SNS redelivers it', async () => {
    const world = await makeWorld(dynamo);
    const { post } = setup({ ingest: (m) => ingestSnsMessage(world.deps, m) });
    expect((await post(sign(withTaggedMessage(parsed('event-open.v1'))))).statusCode).toBe(500);
  });
});
