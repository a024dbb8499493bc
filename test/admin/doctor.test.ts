/**
 * `npx sesame doctor`'s checks against the local AWS-protocol services: the local SES v2 server
 * (GetAccount, configuration sets, identities), dynalite (the table's domains), the local SQS (queues),
 * fauxqs (SNS topics and subscriptions). Secrets Manager has no local stand-in among them, so a tiny
 * server below answers GetSecretValue in its JSON protocol for the real SDK client.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateEmailIdentityCommand, PutEmailIdentityMailFromAttributesCommand } from '@aws-sdk/client-sesv2';
import { ConfirmSubscriptionCommand, CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { type DomainRecord, DomainStore } from '../../lambdas/core/adapters/domains';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { runCli } from '../../lambdas/admin/cli';
import { checkAccount } from '../../lambdas/admin/doctor-account';
import type { CheckResult, DoctorDeps } from '../../lambdas/admin/doctor-check';
import { type DoctorConfig, readDoctorConfig } from '../../lambdas/admin/doctor-config';
import { checkDomains } from '../../lambdas/admin/doctor-domains';
import { checkConfigurationSets, checkSubscription } from '../../lambdas/admin/doctor-events';
import { checkDeadLetterQueues } from '../../lambdas/admin/doctor-queues';
import { checkSecretsKey } from '../../lambdas/admin/doctor-secrets';
import { doctorCommand, renderTable, runDoctor } from '../../lambdas/admin/doctor';
import { localConfigurationSets } from '../../lambdas/local/runner';
import type { LocalAccount, LocalConfigurationSet } from '../../lambdas/local/ses-server';
import sandboxAccount from '../fixtures/sesv2/get-account.sandbox.json';
import { localClientConfig, startTestDynamo, startTestSes, startTestSqs, testSnsEndpoint, type TestDynamo, type TestSes, type TestSqs } from '../support/services';

const TOPIC = 'arn:aws:sns:us-east-1:000000000000:sesame-events';
const INGEST = 'arn:aws:lambda:us-east-1:000000000000:function:sesame-ingest';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:sesame-key-AbCdEf';

let dynamo: TestDynamo;
let sqs: TestSqs;
let sns: SNSClient;
let secrets: FakeSecretsManager;

beforeAll(async () => {
  dynamo = await startTestDynamo();
  sqs = await startTestSqs();
  sns = new SNSClient(localClientConfig(testSnsEndpoint()));
  secrets = await startFakeSecretsManager();
});
afterAll(async () => {
  sns.destroy();
  await Promise.all([dynamo.close(), sqs.close(), secrets.close()]);
});

/** Every adapter pointed at a local service; `ses` is the test's own server. */
function depsFor(ses: TestSes, config: Partial<DoctorConfig> = {}, table?: string): DoctorDeps {
  return {
    config: { local: false, ...config },
    ses: ses.client,
    sns,
    sqs: sqs.client,
    secretsManager: secrets.client,
    ...(table ? { domains: new DomainStore(createDb(dynamo.doc, table)) } : {}),
    identities: new SesIdentities(ses.client),
  };
}

async function withSes<T>(options: { account?: LocalAccount; configurationSets?: readonly LocalConfigurationSet[] }, use: (ses: TestSes) => Promise<T>): Promise<T> {
  const ses = await startTestSes(options);
  try {
    return await use(ses);
  } finally {
    await ses.close();
  }
}

const byName = (results: readonly CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r]));
const statuses = (results: readonly CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r.status]));

describe('the SES account check', () => {
  const account = (given?: LocalAccount) => withSes(given ? { account: given } : {}, (ses) => checkAccount(depsFor(ses)));

  it('is ok for an account with production access, sending enabled, room in its quota and bounces and complaints suppressed', async () => {
    // Act
    const results = await account();

    // Assess
    expect(statuses(results)).toEqual({ 'ses sending': 'ok', 'ses production access': 'ok', 'ses send quota': 'ok', 'ses suppression': 'ok' });
    expect(byName(results)['ses send quota']!.message).toBe('0 of 50000 sent in the last 24 hours, at most 14 per second');
  });

  it('warns about the sandbox (SES\'s own GetAccount answer) with the command that leaves it', async () => {
    // Act
    const results = byName(await account(sandboxAccount));

    // Assess
    expect(results['ses production access']).toMatchObject({ status: 'warn', message: expect.stringContaining('aws sesv2 put-account-details --production-access-enabled') });
    expect(results['ses send quota']).toMatchObject({ status: 'ok', message: '0 of 200 sent in the last 24 hours, at most 1 per second' });
    expect(results['ses sending']!.status).toBe('ok');
  });

  it.each([
    ['sending disabled', { SendingEnabled: false }, 'ses sending', 'fail', /put-account-sending-attributes --sending-enabled/],
    ['shut down by AWS', { EnforcementStatus: 'SHUTDOWN' }, 'ses sending', 'fail', /SHUTDOWN/],
    ['on probation', { EnforcementStatus: 'PROBATION' }, 'ses sending', 'warn', /probation/],
    ['its quota spent', { SendQuota: { Max24HourSend: 200, SentLast24Hours: 200 } }, 'ses send quota', 'fail', /refuses every send/],
    ['its quota nearly spent', { SendQuota: { Max24HourSend: 1000, SentLast24Hours: 850 } }, 'ses send quota', 'warn', /850 of 1000/],
    ['no suppression list', { SuppressionAttributes: { SuppressedReasons: [] } }, 'ses suppression', 'warn', /--suppressed-reasons BOUNCE COMPLAINT/],
  ] as const)('for an account with %s: %s is %s', async (_case, given, name, status, fix) => {
    // Act
    const result = byName(await account(given))[name];

    // Assess
    expect(result).toMatchObject({ status, message: expect.stringMatching(fix) });
  });
});

describe('the configuration set checks', () => {
  const sets = localConfigurationSets('sesame', TOPIC);
  const check = (configurationSets: readonly LocalConfigurationSet[], config: Partial<DoctorConfig> = { configurationSetPrefix: 'sesame', eventsTopicArn: TOPIC }) =>
    withSes({ configurationSets }, (ses) => checkConfigurationSets(depsFor(ses, config)));
  /** The sets, with the one named changed. */
  const changed = (name: string, change: (set: LocalConfigurationSet) => LocalConfigurationSet) => sets.map((s) => (s.name === name ? change(s) : s));
  const destination = (set: LocalConfigurationSet) => set.eventDestinations[0]!;

  it('is ok for each of the eight sets the stack makes, publishing to the events topic', async () => {
    // Act
    const results = await check(sets);

    // Assess
    expect(statuses(results)).toEqual({
      'configuration set sesame': 'ok',
      'configuration set sesame-open': 'ok',
      'configuration set sesame-click': 'ok',
      'configuration set sesame-open-click': 'ok',
      'configuration set sesame-tls': 'ok',
      'configuration set sesame-open-tls': 'ok',
      'configuration set sesame-click-tls': 'ok',
      'configuration set sesame-open-click-tls': 'ok',
    });
  });

  it('fails for each set SES does not have, naming the variable to check', async () => {
    // Act
    const results = await check(sets, { configurationSetPrefix: 'acme', eventsTopicArn: TOPIC });

    // Assess
    expect(results.map((r) => r.status)).toEqual(Array(8).fill('fail'));
    expect(results[0]!.message).toMatch(/^SES has no configuration set acme: .*SESAME_CONFIGURATION_SET/);
  });

  it.each([
    ['publishes to another topic', 'fail', /no event destination publishes to .*sesame-events \(only to .*sesame-events-old\)/, (s: LocalConfigurationSet) => ({ ...s, eventDestinations: [{ ...destination(s), snsTopicArn: `${TOPIC}-old` }] })],
    ['has its destination disabled', 'fail', /is disabled/, (s: LocalConfigurationSet) => ({ ...s, eventDestinations: [{ ...destination(s), enabled: false }] })],
    ['does not publish deliveries', 'fail', /does not publish DELIVERY/, (s: LocalConfigurationSet) => ({ ...s, eventDestinations: [{ ...destination(s), matchingEventTypes: destination(s).matchingEventTypes.filter((t) => t !== 'DELIVERY') }] })],
    ['publishes opens without open tracking', 'warn', /publishes OPEN/, (s: LocalConfigurationSet) => ({ ...s, eventDestinations: [{ ...destination(s), matchingEventTypes: [...destination(s).matchingEventTypes, 'OPEN'] }] })],
    ['has sending paused', 'fail', /put-configuration-set-sending-options/, (s: LocalConfigurationSet) => ({ ...s, sendingEnabled: false })],
    ['has suppression options of its own, overriding the tenants\' lists', 'warn', /override each tenant's own suppression list/, (s: LocalConfigurationSet) => ({ ...s, suppressedReasons: ['BOUNCE', 'COMPLAINT'] })],
    ['suppresses only bounces, in the tenants\' scope', 'warn', /after a complaint/, (s: LocalConfigurationSet) => ({ ...s, suppressedReasons: ['BOUNCE'], suppressionScope: 'TENANT' as const })],
  ] as const)('for a set that %s: %s', async (_case, status, message, change) => {
    // Act
    const results = byName(await check(changed('sesame', change)));

    // Assess
    expect(results['configuration set sesame']).toMatchObject({ status, message: expect.stringMatching(message) });
    expect(results['configuration set sesame-open']!.status).toBe('ok');
  });

  it.each([
    ['sesame-tls', 'OPTIONAL', /TLS policy is OPTIONAL, not REQUIRE/],
    ['sesame', 'REQUIRE', /TLS policy is REQUIRE, not OPTIONAL/],
  ] as const)('fails for %s when its TLS policy is %s', async (name, tlsPolicy, message) => {
    // Act
    const results = byName(await check(changed(name, (s) => ({ ...s, tlsPolicy }))));
    // Assess
    expect(results[`configuration set ${name}`]).toMatchObject({ status: 'fail', message: expect.stringMatching(message) });
  });

  it('fails, naming the variable, when the prefix or the topic is not configured', async () => {
    // Act
    const noPrefix = await check(sets, { eventsTopicArn: TOPIC });
    const noTopic = await check(sets, { configurationSetPrefix: 'sesame' });

    // Assess
    expect(noPrefix).toEqual([expect.objectContaining({ status: 'fail', message: expect.stringMatching(/^SESAME_CONFIGURATION_SET is not set/) })]);
    expect(noTopic.map((r) => r.status)).toEqual(Array(8).fill('fail'));
    expect(noTopic[0]!.message).toMatch(/SESAME_EVENTS_TOPIC_ARN is not set/);
  });
});

describe('the events subscription check (SNS on fauxqs)', () => {
  const check = (config: Partial<DoctorConfig>) => withSes({}, (ses) => checkSubscription(depsFor(ses, config)));

  /** A topic with a Lambda subscription to `endpoint`, confirmed unless asked not to, with a DLQ unless asked not to. */
  async function topicWith(endpoint: string, options: { confirmed?: boolean; dlq?: boolean } = {}): Promise<string> {
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `events-${randomUUID().slice(0, 8)}` }));
    const redrive: Record<string, string> = options.dlq === false ? {} : { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:sesame-events-dlq' }) };
    const { SubscriptionArn } = await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'lambda', Endpoint: endpoint, Attributes: redrive, ReturnSubscriptionArn: true }));
    // SNS confirms a Lambda subscription itself; fauxqs confirms what ConfirmSubscription names.
    if (options.confirmed !== false) await sns.send(new ConfirmSubscriptionCommand({ TopicArn, Token: SubscriptionArn }));
    return TopicArn!;
  }

  it('is ok for a confirmed subscription that invokes the ingest function, with a dead-letter queue', async () => {
    // Prepare
    const topic = await topicWith(INGEST);

    // Act
    const results = await check({ eventsTopicArn: topic, ingestFunctionArn: INGEST });

    // Assess
    expect(results).toEqual([{ name: 'events subscription', status: 'ok', message: 'confirmed, invokes the ingest function, dead-letter queue sesame-events-dlq' }]);
  });

  it('fails for a subscription pending confirmation', async () => {
    // Prepare
    const topic = await topicWith(INGEST, { confirmed: false });

    // Act
    const [result] = await check({ eventsTopicArn: topic, ingestFunctionArn: INGEST });

    // Assess
    expect(result).toMatchObject({ status: 'fail', message: expect.stringMatching(/pending confirmation/) });
  });

  it('fails when no subscription invokes the ingest function', async () => {
    // Prepare
    const topic = await topicWith(`${INGEST}-old`);

    // Act
    const [result] = await check({ eventsTopicArn: topic, ingestFunctionArn: INGEST });

    // Assess
    expect(result).toMatchObject({ status: 'fail', message: expect.stringMatching(/no subscription of the topic invokes .*sesame-ingest: SES events are published and never applied/) });
  });

  it('warns about a subscription without a dead-letter queue, and when it cannot tell which function is the ingest one', async () => {
    // Prepare
    const noDlq = await topicWith(INGEST, { dlq: false });
    const anyFunction = await topicWith(INGEST);

    // Act
    const [withoutDlq] = await check({ eventsTopicArn: noDlq, ingestFunctionArn: INGEST });
    const [unknownFunction] = await check({ eventsTopicArn: anyFunction });

    // Assess
    expect(withoutDlq).toMatchObject({ status: 'warn', message: expect.stringMatching(/no dead-letter queue/) });
    expect(unknownFunction).toMatchObject({ status: 'warn', message: expect.stringMatching(/SESAME_INGEST_FUNCTION_ARN is not set/) });
  });

  it('says ok in local mode, naming what stands in for the topic, and fails without a topic otherwise', async () => {
    // Act
    const [local] = await check({ local: true });
    const [unset] = await check({});

    // Assess
    expect(local).toMatchObject({ status: 'ok', message: expect.stringMatching(/^local mode: .*ingest handler in-process/) });
    expect(unset).toMatchObject({ status: 'fail', message: expect.stringMatching(/^SESAME_EVENTS_TOPIC_ARN is not set/) });
  });
});

describe('the dead-letter queue checks', () => {
  const check = (config: Partial<DoctorConfig>) => withSes({}, (ses) => checkDeadLetterQueues(depsFor(ses, config)));

  it('is ok for an empty queue, warns with the count and the redrive command for a queue holding messages', async () => {
    // Prepare
    const empty = await sqs.freshQueue();
    const holding = await sqs.freshQueue();
    for (const body of ['a', 'b']) await sqs.client.send(new SendMessageCommand({ QueueUrl: holding.url, MessageBody: body }));

    // Act
    const results = byName(await check({ eventsDlqUrl: empty.url, ingestFailureDlqUrl: holding.url, webhookDlqUrl: empty.url, receiptRuleSet: 'sesame-inbound', inboundDlqUrl: holding.url, dispatchDlqUrl: holding.url }));

    // Assess
    expect(results['dlq events']).toEqual({ name: 'dlq events', status: 'ok', message: 'empty' });
    expect(results['dlq ingest failures']).toMatchObject({ status: 'warn', message: expect.stringMatching(/^2 messages parked .*npx sesame dlq redrive$/) });
    expect(results['dlq inbound']).toMatchObject({ status: 'warn', message: expect.stringMatching(/^2 messages parked \(SES receipt events .*npx sesame dlq redrive$/) });
    expect(results['dlq dispatch']).toMatchObject({ status: 'warn', message: expect.stringMatching(/^2 messages parked \(scheduled emails .*npx sesame dlq redrive$/) });
  });

  it('says ok for the inbound queue when receiving is off, and warns when it is on but the queue is not named', async () => {
    // Act
    const off = byName(await check({}));
    const on = byName(await check({ receiptRuleSet: 'sesame-inbound' }));

    // Assess
    expect(off['dlq inbound']).toMatchObject({ status: 'ok', message: expect.stringMatching(/^receiving is off/) });
    expect(on['dlq inbound']).toMatchObject({ status: 'warn', message: expect.stringMatching(/SESAME_INBOUND_DLQ_URL is not set/) });
  });

  it('fails for a queue that does not exist, and warns for one not configured', async () => {
    // Act
    const results = byName(await check({ webhookDlqUrl: `${sqs.endpoint}/000000000000/no-such-queue` }));

    // Assess
    expect(results['dlq webhooks']).toMatchObject({ status: 'fail', message: expect.stringMatching(/does not exist/) });
    expect(results['dlq events']).toMatchObject({ status: 'warn', message: expect.stringMatching(/SESAME_EVENTS_DLQ_URL is not set/) });
    expect(results['dlq dispatch']).toMatchObject({ status: 'warn', message: expect.stringMatching(/SESAME_DISPATCH_DLQ_URL is not set/) });
  });

  it('says ok in local mode for the queues local mode does not have, naming what stands in, but not for its webhook, inbound and dispatch DLQs', async () => {
    // Act
    const results = byName(await check({ local: true }));

    // Assess
    expect(results['dlq events']).toMatchObject({ status: 'ok', message: expect.stringMatching(/^local mode: /) });
    expect(results['dlq ingest failures']).toMatchObject({ status: 'ok', message: expect.stringMatching(/^local mode: /) });
    // Local mode has an inbound DLQ of its own (its SMTP listener parks there), named by its admin line.
    expect(results['dlq inbound']).toMatchObject({ status: 'warn', message: expect.stringMatching(/SESAME_INBOUND_DLQ_URL is not set/) });
    expect(results['dlq webhooks']).toMatchObject({ status: 'warn', message: expect.stringMatching(/SESAME_WEBHOOK_DLQ_URL is not set/) });
    // Local mode has a dispatch queue with a DLQ (scheduled emails), named by its admin line.
    expect(results['dlq dispatch']).toMatchObject({ status: 'warn', message: expect.stringMatching(/SESAME_DISPATCH_DLQ_URL is not set/) });
  });
});

describe('the domain checks (the table against SES)', () => {
  let ses: TestSes;
  beforeAll(async () => {
    ses = await startTestSes();
  });
  afterAll(() => ses.close());

  const domain = (name: string, verified: boolean): DomainRecord => ({
    id: randomUUID(), name, tenantId: randomUUID(), status: verified ? 'verified' : 'pending', verifiedForSending: verified,
    region: 'us-east-1', openTracking: false, clickTracking: false, customReturnPath: 'send', records: [], createdAt: new Date().toISOString(),
  });

  /** A fresh table holding `domains`, and the checks' results. */
  async function check(domains: readonly DomainRecord[]): Promise<Record<string, CheckResult>> {
    const table = await dynamo.freshTable();
    const store = new DomainStore(createDb(dynamo.doc, table));
    for (const d of domains) await store.put(d);
    return byName(await checkDomains(depsFor(ses, {}, table)));
  }

  /** An SES identity with a custom MAIL FROM; the local server verifies it at the first read unless its DNS is "not published". */
  async function identity(name: string, options: { published?: boolean } = {}): Promise<void> {
    await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: name }));
    await ses.client.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: name, MailFromDomain: `send.${name}`, BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' }));
    if (options.published === false) await ses.seedIdentity(name, { verified: false, dnsPublished: false });
  }

  const fresh = (label: string) => `${label}-${randomUUID().slice(0, 8)}.example.org`;

  it('is ok for a domain verified in both, and fails for one verified in the table but missing from SES', async () => {
    // Prepare
    const good = fresh('good');
    const gone = fresh('gone');
    await identity(good);

    // Act
    const results = await check([domain(good, true), domain(gone, true)]);

    // Assess
    expect(results[`domain ${good}`]).toMatchObject({ status: 'ok', message: `verified for sending (DKIM verified, MAIL FROM send.${good} verified)` });
    expect(results[`domain ${gone}`]).toMatchObject({ status: 'fail', message: expect.stringMatching(/^SES has no identity for it \(the table says it is verified.*DELETE \/domains\//) });
  });

  it('fails for a domain the table says is verified while SES does not send from it', async () => {
    // Prepare
    const name = fresh('unverified');
    await identity(name, { published: false });

    // Act
    const results = await check([domain(name, true)]);

    // Assess
    expect(results[`domain ${name}`]).toMatchObject({ status: 'fail', message: expect.stringMatching(/table says verified but SES does not send from it \(DKIM pending/) });
  });

  it('warns for a domain SES verified that the table does not know about yet, and for one still pending in both', async () => {
    // Prepare
    const stale = fresh('stale');
    const pending = fresh('pending');
    await identity(stale);
    await identity(pending, { published: false });
    const staleDomain = domain(stale, false);

    // Act
    const results = await check([staleDomain, domain(pending, false)]);

    // Assess
    expect(results[`domain ${stale}`]).toMatchObject({ status: 'warn', message: expect.stringContaining(`POST /domains/${staleDomain.id}/verify`) });
    expect(results[`domain ${pending}`]).toMatchObject({ status: 'warn', message: expect.stringMatching(/^not verified yet/) });
  });

  it('warns when there is no domain, and fails without a table', async () => {
    // Act
    const none = await check([]);
    const noTable = await checkDomains(depsFor(ses));

    // Assess
    expect(none.domains).toMatchObject({ status: 'warn', message: expect.stringMatching(/^no domain yet/) });
    expect(noTable).toEqual([expect.objectContaining({ name: 'domains', status: 'fail', message: expect.stringMatching(/^SESAME_TABLE_NAME is not set/) })]);
  });
});

describe('the secrets key check', () => {
  const check = (config: Partial<DoctorConfig>) => withSes({}, (ses) => checkSecretsKey(depsFor(ses, config)));

  it('is ok when Secrets Manager gives a 32-byte key, and fails with the fix when it cannot', async () => {
    // Prepare
    secrets.answer = { SecretString: randomBytes(32).toString('hex') };
    const [readable] = await check({ secretsKeyArn: SECRET_ARN });
    secrets.answer = { SecretString: 'not a key' };
    const [changed] = await check({ secretsKeyArn: SECRET_ARN });
    secrets.answer = { error: 'AccessDeniedException', message: 'User: arn:aws:iam::000000000000:user/ops is not authorized to perform: secretsmanager:GetSecretValue' };
    const [denied] = await check({ secretsKeyArn: SECRET_ARN });
    secrets.answer = { error: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." };
    const [missing] = await check({ secretsKeyArn: SECRET_ARN });

    // Assess
    expect(readable).toEqual({ name: 'secrets key', status: 'ok', message: 'readable from Secrets Manager, 32 bytes' });
    expect(changed).toMatchObject({ status: 'fail', message: expect.stringMatching(/must be 32 bytes.*restore the previous version/) });
    expect(denied).toMatchObject({ status: 'fail', message: expect.stringMatching(/may not read it .*not authorized.*operator policy/) });
    expect(missing).toMatchObject({ status: 'fail', message: expect.stringMatching(/does not exist/) });
    expect(secrets.requests).toContainEqual({ target: 'secretsmanager.GetSecretValue', secretId: SECRET_ARN });
  });

  it('says ok in local mode naming what stands in for Secrets Manager, checks a given key, and fails with nothing configured', async () => {
    // Act
    const [local] = await check({ local: true });
    const [badKey] = await check({ secretsKey: 'c2hvcnQ=' });
    const [nothing] = await check({});

    // Assess
    expect(local).toMatchObject({ status: 'ok', message: expect.stringMatching(/^local mode: no Secrets Manager/) });
    expect(badKey).toMatchObject({ status: 'fail', message: expect.stringMatching(/SESAME_SECRETS_KEY must be 32 bytes/) });
    expect(nothing).toMatchObject({ status: 'fail', message: expect.stringMatching(/^SESAME_SECRETS_KEY_ARN is not set/) });
  });
});

describe('the doctor command', () => {
  it('keeps going when a check throws, reporting it as a fail with the error', async () => {
    await withSes({}, async (ses) => {
      // Prepare
      ses.failNext('GetAccount', 'TooManyRequestsException');

      // Act
      const results = await runDoctor(depsFor(ses, { local: true }));

      // Assess
      expect(byName(results)['ses account']).toMatchObject({ status: 'fail', message: 'could not check: TooManyRequestsException: Maximum sending rate exceeded.' });
      expect(byName(results)['events subscription']!.status).toBe('ok');
    });
  });

  it('prints a table by default and one JSON object with --json, and exits 1 on any fail', async () => {
    await withSes({ configurationSets: localConfigurationSets('sesame', TOPIC) }, async (ses) => {
      // Prepare: local mode, without a table, so that the domains check fails.
      const { url: webhookDlqUrl } = await sqs.freshQueue();
      const { url: inboundDlqUrl } = await sqs.freshQueue();
      const { url: dispatchDlqUrl } = await sqs.freshQueue();
      const deps = depsFor(ses, { local: true, configurationSetPrefix: 'sesame', eventsTopicArn: TOPIC, webhookDlqUrl, inboundDlqUrl, dispatchDlqUrl });
      const admin = { tenants: () => { throw new Error('unused'); }, tenantAdmin: () => { throw new Error('unused'); }, extra: { doctor: (args: Parameters<typeof doctorCommand>[0]) => doctorCommand(args, () => deps) } };

      // Act
      const table = await runCli(['doctor'], admin);
      const json = await runCli(['doctor', '--json'], admin);
      const usage = await runCli(['doctor', '--verbose', 'x'], admin);

      // Assess
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/^ok {4}ses sending {2,}enabled, enforcement status HEALTHY$/m);
      expect(table.stdout).toMatch(/^fail {2}domains {2,}SESAME_TABLE_NAME is not set/m);
      expect(table.stdout.trim().split('\n').pop()).toMatch(/^\d+ ok, 0 warn, 1 fail$/);
      expect(json.code).toBe(1);
      const parsed = JSON.parse(json.stdout) as { checks: CheckResult[] };
      expect(Object.keys(parsed)).toEqual(['checks']);
      expect(parsed.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual(['domains']);
      expect(parsed.checks.every((c) => Object.keys(c).join() === 'name,status,message')).toBe(true);
      expect(usage.code).toBe(2);
    });
  });

  it('renders aligned columns', () => {
    // Act
    const text = renderTable([{ name: 'a', status: 'ok', message: 'fine' }, { name: 'longer', status: 'warn', message: 'hm' }]);

    // Assess
    expect(text).toBe('ok    a       fine\nwarn  longer  hm\n\n1 ok, 1 warn, 0 fail');
  });

  it('reads its configuration from the same variables as the other admin commands', () => {
    // Act
    const config = readDoctorConfig({ SESAME_LOCAL: '1', SESAME_TABLE_NAME: 't', SESAME_EVENTS_TOPIC_ARN: TOPIC, SESAME_WEBHOOK_DLQ_URL: ' ', SESAME_SECRETS_KEY_ARN: SECRET_ARN });

    // Assess
    expect(config).toEqual({ local: true, tableName: 't', eventsTopicArn: TOPIC, secretsKeyArn: SECRET_ARN });
    expect(() => readDoctorConfig({ SESAME_LOCAL: 'yes' })).toThrow(/SESAME_LOCAL must be 1 or 0/);
  });
});

interface FakeSecretsManager {
  readonly client: SecretsManagerClient;
  answer: { SecretString: string } | { error: string; message: string };
  readonly requests: { target: string; secretId: string }[];
  close(): Promise<void>;
}

/** Secrets Manager's JSON protocol (X-Amz-Target, `__type` errors), for GetSecretValue only. */
async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const state: FakeSecretsManager = {
    answer: { SecretString: '' },
    requests: [],
    client: undefined as unknown as SecretsManagerClient,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const input = JSON.parse(body) as { SecretId: string };
      state.requests.push({ target: String(req.headers['x-amz-target']), secretId: input.SecretId });
      const answer = state.answer;
      const out = 'error' in answer
        ? { status: 400, json: { __type: answer.error, Message: answer.message } }
        : { status: 200, json: { ARN: input.SecretId, Name: 'sesame-key', SecretString: answer.SecretString, VersionId: randomUUID(), VersionStages: ['AWSCURRENT'], CreatedDate: 1.7e9 } };
      res.writeHead(out.status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(out.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new SecretsManagerClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
  return Object.assign(state, {
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
