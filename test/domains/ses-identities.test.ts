/**
 * The SES identity adapter against SES v2's wire responses, through the real SDK client.
 */
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { HttpError } from '../../lambdas/core/errors';
import { SesIdentities, TAG_STACK_KEY, TAG_TENANT_KEY, identityError } from '../../lambdas/core/adapters/ses-identities';
import { identityState } from '../../lambdas/core/domain/dns';
import { type SesWire, fixture, ok, sesError, startSesWire, wire } from './support/ses-wire';

let ses: SesWire;
let client: SESv2Client;
let identities: SesIdentities;

beforeAll(async () => {
  ses = await startSesWire();
  // One attempt: the SDK would retry 429 and 5xx on its own, and the test wants to see them.
  client = new SESv2Client({ endpoint: ses.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  identities = new SesIdentities(client, LOCAL_STACK_NAME);
});

afterAll(async () => {
  client.destroy();
  await ses.close();
});

beforeEach(() => {
  ses.requests.length = 0;
});

async function refusal(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('create', () => {
  it('asks SES for a domain identity with 2048-bit Easy DKIM, tagged with the tenant and the stack', async () => {
    // Prepare
    ses.reply(wire('create-email-identity.domain.response.wire.json'));
    // Act
    const identity = await identities.create('example.com', 'tenant-1');
    // Assess
    const [request] = ses.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/v2/email/identities' });
    expect(request!.body).toEqual({
      EmailIdentity: 'example.com',
      DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
      Tags: [{ Key: TAG_TENANT_KEY, Value: 'tenant-1' }, { Key: TAG_STACK_KEY, Value: LOCAL_STACK_NAME }],
    });
    const documented = fixture<{ DkimSigningAttributes: unknown }>('create-email-identity.domain.request.json');
    expect((request!.body as { DkimSigningAttributes: unknown }).DkimSigningAttributes).toEqual(documented.DkimSigningAttributes);
    expect(identity).toEqual({
      verifiedForSending: false,
      dkim: { status: 'PENDING', tokens: ['hirjd4exampled5477y22yd23ettobi', 'v3rnz522czcl46quexamplek3efo5o6x', 'y4examplexbhyhnsjcmtvzotfvqjmdqoj'] },
      mailFrom: {},
      tags: { [TAG_TENANT_KEY]: 'tenant-1', [TAG_STACK_KEY]: LOCAL_STACK_NAME },
    });
  });

  it('answers undefined when SES already has the identity (AlreadyExistsException)', async () => {
    ses.reply(sesError('AlreadyExistsException'));
    await expect(identities.create('example.com', 'tenant-1')).resolves.toBeUndefined();
  });

  it.each([
    ['LimitExceededException', 429, 'rate_limit_exceeded'],
    ['TooManyRequestsException', 429, 'rate_limit_exceeded'],
    ['BadRequestException', 422, 'validation_error'],
    ['ConcurrentModificationException', 503, 'application_error'],
  ])('maps %s to %i %s', async (type, status, name) => {
    ses.reply(sesError(type));
    const e = await refusal(identities.create('example.com', 'tenant-1'));
    expect([e.statusCode, e.errorName]).toEqual([status, name]);
  });

  it('keeps SES internals out of a 5xx message', async () => {
    ses.reply(sesError('ConcurrentModificationException'));
    const e = await refusal(identities.create('example.com', 'tenant-1'));
    expect(e.message).not.toMatch(/thread|operation/i);
  });
});

describe('configure', () => {
  it('sets the MAIL FROM subdomain with USE_DEFAULT_VALUE, then turns feedback forwarding off', async () => {
    // Prepare
    ses.reply(ok('put-email-identity-mail-from-attributes.response.json'), ok('put-email-identity-mail-from-attributes.response.json'));
    // Act
    await identities.configure('example.com', 'mail.example.com');
    // Assess
    expect(ses.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['PUT', '/v2/email/identities/example.com/mail-from', { MailFromDomain: 'mail.example.com', BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' }],
      ['PUT', '/v2/email/identities/example.com/feedback', { EmailForwardingEnabled: false }],
    ]);
    const documented = fixture<Record<string, unknown>>('put-email-identity-mail-from-attributes.request.json');
    const { EmailIdentity: _, ...documentedBody } = documented;
    expect(ses.requests[0]!.body).toEqual(documentedBody);
  });

  it('maps a missing identity to 404 not_found', async () => {
    ses.reply(sesError('NotFoundException'));
    const e = await refusal(identities.configure('example.com', 'send.example.com'));
    expect([e.statusCode, e.errorName]).toEqual([404, 'not_found']);
    expect(ses.requests).toHaveLength(1);
  });
});

describe('get', () => {
  it.each([
    ['get-email-identity.domain-pending.json', { status: 'pending', dkim: 'pending', mailFrom: 'not_started', verifiedForSending: false }],
    ['get-email-identity.domain-verified-mail-from-success.json', { status: 'verified', dkim: 'verified', mailFrom: 'verified', verifiedForSending: true }],
    ['get-email-identity.domain-failed.json', { status: 'failed', dkim: 'failed', mailFrom: 'failed', verifiedForSending: false }],
    ['get-email-identity.domain-temporary-failure.json', { status: 'temporary_failure', dkim: 'temporary_failure', mailFrom: 'not_started', verifiedForSending: true }],
    ['get-email-identity.domain-mail-from-pending-reject.json', { status: 'pending', dkim: 'verified', mailFrom: 'pending', verifiedForSending: false }],
    ['get-email-identity.domain-verified.cli-real.json', { status: 'partially_verified', dkim: 'verified', mailFrom: 'not_started', verifiedForSending: true }],
  ])('reads %s through the SDK', async (file, expected) => {
    // Prepare
    ses.reply(ok(file));
    // Act
    const identity = await identities.get('example.com');
    // Assess
    expect(ses.requests.map((r) => [r.method, r.path])).toEqual([['GET', '/v2/email/identities/example.com']]);
    const raw = fixture<{ DkimAttributes: { Tokens: string[] }; MailFromAttributes: { MailFromDomain?: string } }>(file);
    expect(identity!.dkim.tokens).toEqual(raw.DkimAttributes.Tokens);
    expect(identity!.mailFrom.domain).toBe(raw.MailFromAttributes.MailFromDomain);
    expect(identityState(identity!, raw.MailFromAttributes.MailFromDomain ?? 'mail.example.com')).toEqual(expected);
  });

  it('reads the identity tags by key', async () => {
    ses.reply(ok('get-email-identity.domain-verified-mail-from-success.json'));
    const identity = await identities.get('example.com');
    expect(identity!.tags).toEqual({ app: 'mailer' });
  });

  it('answers undefined for an identity SES does not have', async () => {
    ses.reply(sesError('NotFoundException'));
    await expect(identities.get('example.com')).resolves.toBeUndefined();
  });

  it('maps throttling to 429 with retry-after', async () => {
    ses.reply(sesError('TooManyRequestsException'));
    const e = await refusal(identities.get('example.com'));
    expect([e.statusCode, e.errorName, e.headers['retry-after']]).toEqual([429, 'rate_limit_exceeded', '1']);
  });
});

describe('delete', () => {
  it('deletes the identity', async () => {
    ses.reply({ status: 200, headers: { 'Content-Type': 'application/json' }, body: {} });
    await expect(identities.delete('example.com')).resolves.toBe(true);
    expect(ses.requests.map((r) => [r.method, r.path])).toEqual([['DELETE', '/v2/email/identities/example.com']]);
  });

  it('answers false for an identity SES does not have', async () => {
    ses.reply(sesError('NotFoundException'));
    await expect(identities.delete('example.com')).resolves.toBe(false);
  });
});

describe('identityError', () => {
  it.each([
    ['AlreadyExistsException', 403, 'validation_error'],
    ['NotFoundException', 404, 'not_found'],
    ['LimitExceededException', 429, 'rate_limit_exceeded'],
    ['TooManyRequestsException', 429, 'rate_limit_exceeded'],
    ['BadRequestException', 422, 'validation_error'],
  ])('maps %s', (type, status, name) => {
    const e = identityError(Object.assign(new Error('x'), { name: type }));
    expect(e).toBeInstanceOf(HttpError);
    expect([(e as HttpError).statusCode, (e as HttpError).errorName]).toEqual([status, name]);
  });

  it('leaves an unknown error unmapped, for the generic 500', () => {
    const error = new Error('socket hang up');
    expect(identityError(error)).toBe(error);
  });
});
