import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AlreadyExistsException,
  BadRequestException,
  CreateConfigurationSetCommand,
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetAccountCommand,
  GetConfigurationSetCommand,
  GetConfigurationSetEventDestinationsCommand,
  GetEmailIdentityCommand,
  ListEmailIdentitiesCommand,
  MailFromDomainNotVerifiedException,
  MessageRejected,
  NotFoundException,
  PutEmailIdentityConfigurationSetAttributesCommand,
  PutEmailIdentityFeedbackAttributesCommand,
  PutEmailIdentityMailFromAttributesCommand,
  SendEmailCommand,
  SESv2Client,
  TooManyRequestsException,
  type SendEmailCommandInput,
} from '@aws-sdk/client-sesv2';
import type { SendEvent } from '../../lambdas/local/ses-server';
import createIdentityResponse from '../fixtures/sesv2/create-email-identity.domain.response.json';
import getAccountFixture from '../fixtures/sesv2/get-account.json';
import sandboxAccountFixture from '../fixtures/sesv2/get-account.sandbox.json';
import verifiedIdentity from '../fixtures/sesv2/get-email-identity.domain-verified-mail-from-success.json';
import sendEmailResponse from '../fixtures/sesv2/send-email.response.json';
import simpleRequest from '../fixtures/sesv2/send-email.simple.request.json';
import { localClientConfig, startTestSes, type TestSes } from '../support/services';
import { localConfigurationSets } from '../../lambdas/local/runner';

/** SES's MessageId: 16 hex digits, a UUID, -000000 (test/fixtures/sesv2/send-email.response.json). */
const MESSAGE_ID = /^[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$/;

const errorFixtures = readdirSync(path.join(__dirname, '../fixtures/sesv2/errors')).map(
  (file) =>
    JSON.parse(readFileSync(path.join(__dirname, '../fixtures/sesv2/errors', file), 'utf8')) as {
      httpStatus: number;
      headers: Record<string, string>;
      sdkV3: { name: string; $fault: string };
    },
);

function simpleEmail(from: string, overrides: Partial<SendEmailCommandInput> = {}): SendEmailCommandInput {
  return {
    FromEmailAddress: from,
    Destination: { ToAddresses: ['recipient@example.net'] },
    Content: { Simple: { Subject: { Data: 'Hello' }, Body: { Text: { Data: 'Hi there' } } } },
    ...overrides,
  };
}

describe('local SES v2 server', () => {
  let ses: TestSes;
  let domainCount = 0;
  /** A fresh domain name per test, so tests do not depend on each other's identities. */
  const freshDomain = () => `d${++domainCount}-${Date.now()}.example.org`;

  beforeAll(async () => {
    ses = await startTestSes();
  });

  afterAll(async () => {
    await ses.close();
  });

  describe('SendEmail', () => {
    it('accepts the documented Simple request from a verified domain and stores it with tags, headers and attachments', async () => {
      // Prepare
      await ses.seedIdentity('example.com', { verified: true });
      const notified = new Promise<SendEvent>((resolve) => {
        const off = ses.onSend((event) => {
          off();
          resolve(event);
        });
      });
      const attachment = Buffer.from([0, 1, 2, 250, 255]);
      const input: SendEmailCommandInput = {
        ...simpleRequest,
        Content: {
          Simple: {
            ...simpleRequest.Content.Simple,
            Headers: [{ Name: 'X-Entity-Ref-ID', Value: 'abc-123' }],
            Attachments: [{ FileName: 'report.bin', ContentType: 'application/octet-stream', RawContent: attachment }],
          },
        },
      };

      // Act
      const { MessageId } = await ses.client.send(new SendEmailCommand(input));

      // Assess
      expect(MessageId).toMatch(MESSAGE_ID);
      expect(sendEmailResponse.MessageId).toMatch(MESSAGE_ID);
      const stored = ses.sent().find((e) => e.messageId === MessageId)!;
      expect(stored.envelope).toEqual({
        from: 'Example App <no-reply@example.com>',
        to: ['recipient@example.com'],
        cc: [],
        bcc: [],
        replyTo: ['support@example.com'],
        subject: 'Welcome',
      });
      expect(stored.request.EmailTags).toEqual(simpleRequest.EmailTags);
      expect(stored.request.ConfigurationSetName).toBe('ses-events');
      expect(stored.request.Content?.Simple?.Body?.Html?.Data).toBe('<p>Hello!</p>');
      expect(stored.request.Content?.Simple?.Headers).toEqual([{ Name: 'X-Entity-Ref-ID', Value: 'abc-123' }]);
      expect(Buffer.from(stored.request.Content!.Simple!.Attachments![0]!.RawContent!)).toEqual(attachment);
      const event = await notified;
      expect(event.messageId).toBe(MessageId);
      expect(Date.parse(event.timestamp)).not.toBeNaN();
      expect(event.request.EmailTags).toEqual(simpleRequest.EmailTags);
    });

    it('accepts a raw MIME message and reads sender, recipients and subject from its headers', async () => {
      // Prepare
      await ses.seedIdentity('example.com', { verified: true });
      const mime = ['From: Shop <shop@example.com>', 'To: a@example.net, "B, Jr." <b@example.net>', 'Subject: Your receipt', '', 'Thanks!'].join('\r\n');

      // Act
      const { MessageId } = await ses.client.send(new SendEmailCommand({ Content: { Raw: { Data: Buffer.from(mime) } } }));

      // Assess
      const stored = ses.sent().find((e) => e.messageId === MessageId)!;
      expect(stored.envelope).toMatchObject({ from: 'Shop <shop@example.com>', to: ['a@example.net', '"B, Jr." <b@example.net>'], subject: 'Your receipt' });
      expect(Buffer.from(stored.request.Content!.Raw!.Data!).toString()).toBe(mime);
    });

    it('sends from a subdomain of a verified domain', async () => {
      // Prepare
      const domain = freshDomain();
      await ses.seedIdentity(domain, { verified: true });

      // Act
      const { MessageId } = await ses.client.send(new SendEmailCommand(simpleEmail(`news@mail.${domain}`)));

      // Assess
      expect(MessageId).toMatch(MESSAGE_ID);
    });

    it.each([
      ['a domain without an identity', () => `no-reply@${freshDomain()}`],
      ['an identity not verified yet', () => 'no-reply@pending.example.org'],
    ])('refuses a sender from %s with MessageRejected', async (_, from) => {
      // Prepare
      await ses.seedIdentity('pending.example.org', { verified: false });
      const before = ses.sent().length;

      // Act
      const result = ses.client.send(new SendEmailCommand(simpleEmail(from())));

      // Assess
      await expect(result).rejects.toBeInstanceOf(MessageRejected);
      await expect(result).rejects.toThrow(/Email address is not verified/);
      expect(ses.sent()).toHaveLength(before);
    });

    it.each([
      ['a malformed sender', simpleEmail('not-an-address')],
      ['a sender without a domain', simpleEmail('Name <user@>')],
      ['a malformed recipient', simpleEmail('a@example.com', { Destination: { ToAddresses: ['two@@example.net'] } })],
      ['no recipient', simpleEmail('a@example.com', { Destination: { ToAddresses: [] } })],
      ['more than 50 recipients', simpleEmail('a@example.com', { Destination: { ToAddresses: Array.from({ length: 51 }, (_, i) => `r${i}@example.net`) } })],
      ['a tag value with a space', simpleEmail('a@example.com', { EmailTags: [{ Name: 'campaign', Value: 'spring sale' }] })],
    ])('refuses %s with BadRequestException', async (_, input) => {
      // Prepare
      await ses.seedIdentity('example.com', { verified: true });

      // Act
      const result = ses.client.send(new SendEmailCommand(input));

      // Assess
      await expect(result).rejects.toBeInstanceOf(BadRequestException);
    });

    it('refuses templates, which the local server does not have, with NotFoundException', async () => {
      // Prepare
      await ses.seedIdentity('example.com', { verified: true });

      // Act
      const result = ses.client.send(
        new SendEmailCommand({ FromEmailAddress: 'a@example.com', Destination: { ToAddresses: ['r@example.net'] }, Content: { Template: { TemplateName: 'Welcome', TemplateData: '{}' } } }),
      );

      // Assess
      await expect(result).rejects.toBeInstanceOf(NotFoundException);
    });

    it('refuses while a custom MAIL FROM with REJECT_MESSAGE is pending, and sends once it is verified', async () => {
      // Prepare
      const domain = freshDomain();
      await ses.seedIdentity(domain, { verified: true });
      await ses.client.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: domain, MailFromDomain: `send.${domain}`, BehaviorOnMxFailure: 'REJECT_MESSAGE' }));

      // Act
      const whilePending = ses.client.send(new SendEmailCommand(simpleEmail(`a@${domain}`)));
      await expect(whilePending).rejects.toBeInstanceOf(MailFromDomainNotVerifiedException);
      await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
      const afterVerification = await ses.client.send(new SendEmailCommand(simpleEmail(`a@${domain}`)));

      // Assess
      expect(afterVerification.MessageId).toMatch(MESSAGE_ID);
    });
  });

  describe('identities', () => {
    it('creates a domain identity PENDING with three Easy DKIM tokens, in the documented shape', async () => {
      // Prepare
      const domain = freshDomain();

      // Act
      const { $metadata, ...created } = await ses.client.send(
        new CreateEmailIdentityCommand({ EmailIdentity: domain, DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' } }),
      );

      // Assess
      expect($metadata.httpStatusCode).toBe(200);
      expect(created).toEqual({
        ...createIdentityResponse,
        DkimAttributes: {
          ...createIdentityResponse.DkimAttributes,
          Tokens: [expect.stringMatching(/^[a-z2-7]{32}$/), expect.stringMatching(/^[a-z2-7]{32}$/), expect.stringMatching(/^[a-z2-7]{32}$/)],
          LastKeyGenerationTimestamp: expect.any(Date),
        },
      });
      expect(new Set(created.DkimAttributes?.Tokens).size).toBe(3);
    });

    it('finds a created identity verified at the first GetEmailIdentity, in the documented shape, and then sends from it', async () => {
      // Prepare
      const domain = 'example.com.local-rule.test';
      await ses.client.send(
        new CreateEmailIdentityCommand({
          EmailIdentity: domain,
          DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
          ConfigurationSetName: 'ses-events',
          Tags: [{ Key: 'app', Value: 'mailer' }],
        }),
      );
      await ses.client.send(new PutEmailIdentityMailFromAttributesCommand({ EmailIdentity: domain, MailFromDomain: `mail.${domain}`, BehaviorOnMxFailure: 'USE_DEFAULT_VALUE' }));
      const list = await ses.client.send(new ListEmailIdentitiesCommand({ Filter: { IDENTITY_NAME_CONTAINS: domain } }));
      const before = ses.client.send(new SendEmailCommand(simpleEmail(`a@${domain}`)));
      await expect(before).rejects.toBeInstanceOf(MessageRejected);

      // Act
      const { $metadata, ...identity } = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

      // Assess
      expect(list.EmailIdentities).toEqual([{ IdentityType: 'DOMAIN', IdentityName: domain, SendingEnabled: true, VerificationStatus: 'PENDING' }]);
      expect(identity).toEqual({
        ...verifiedIdentity,
        DkimAttributes: { ...verifiedIdentity.DkimAttributes, Tokens: expect.any(Array), LastKeyGenerationTimestamp: expect.any(Date) },
        MailFromAttributes: { ...verifiedIdentity.MailFromAttributes, MailFromDomain: `mail.${domain}` },
        VerificationInfo: { LastCheckedTimestamp: expect.any(Date), LastSuccessTimestamp: expect.any(Date) },
      });
      const sent = await ses.client.send(new SendEmailCommand(simpleEmail(`a@${domain}`)));
      expect(sent.MessageId).toMatch(MESSAGE_ID);
    });

    it('keeps an identity seeded with unpublished records PENDING', async () => {
      // Prepare
      const domain = freshDomain();
      await ses.seedIdentity(domain, { verified: false, dnsPublished: false });

      // Act
      await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
      const second = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

      // Assess
      expect(second).toMatchObject({ VerifiedForSendingStatus: false, VerificationStatus: 'PENDING', DkimAttributes: { Status: 'PENDING' } });
    });

    it('with a verify delay, finds a created identity PENDING until the delay has passed, then verified', async () => {
      // Prepare
      const delayed = await startTestSes({ verifyDelaySeconds: 1 });
      try {
        const domain = freshDomain();
        await delayed.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));
        // Act
        const early = await delayed.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
        await new Promise((r) => setTimeout(r, 1100));
        const later = await delayed.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
        // Assess
        expect(early).toMatchObject({ VerifiedForSendingStatus: false, DkimAttributes: { Status: 'PENDING' } });
        expect(later).toMatchObject({ VerifiedForSendingStatus: true, DkimAttributes: { Status: 'SUCCESS' } });
      } finally {
        await delayed.close();
      }
    });

    it('raises the SDK AlreadyExistsException for a duplicate and NotFoundException for an unknown identity', async () => {
      // Prepare
      const domain = freshDomain();
      await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain }));

      // Act
      const duplicate: unknown = await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: domain })).catch((e: unknown) => e);
      const unknown: unknown = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: `missing.${domain}` })).catch((e: unknown) => e);

      // Assess
      expect(duplicate).toBeInstanceOf(AlreadyExistsException);
      expect(duplicate).toMatchObject({ $metadata: { httpStatusCode: 400 } });
      expect(unknown).toBeInstanceOf(NotFoundException);
      expect(unknown).toMatchObject({ $metadata: { httpStatusCode: 404 }, message: `Email identity missing.${domain} does not exist.` });
    });

    it('updates feedback forwarding and the configuration set, and deletes', async () => {
      // Prepare
      const domain = freshDomain();
      await ses.seedIdentity(domain, { verified: true });

      // Act
      await ses.client.send(new PutEmailIdentityFeedbackAttributesCommand({ EmailIdentity: domain, EmailForwardingEnabled: false }));
      await ses.client.send(new PutEmailIdentityConfigurationSetAttributesCommand({ EmailIdentity: domain, ConfigurationSetName: 'tracking-off' }));
      const updated = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
      await ses.client.send(new DeleteEmailIdentityCommand({ EmailIdentity: domain }));
      const afterDelete = ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));

      // Assess
      expect(updated).toMatchObject({ FeedbackForwardingStatus: false, ConfigurationSetName: 'tracking-off', VerifiedForSendingStatus: true });
      await expect(afterDelete).rejects.toBeInstanceOf(NotFoundException);
    });

    it('supports email-address identities simply', async () => {
      // Prepare
      const address = `sender@${freshDomain()}`;
      const created = await ses.client.send(new CreateEmailIdentityCommand({ EmailIdentity: address }));

      // Act
      const identity = await ses.client.send(new GetEmailIdentityCommand({ EmailIdentity: address }));
      const sent = await ses.client.send(new SendEmailCommand(simpleEmail(`Sender <${address}>`)));

      // Assess
      expect(created).toMatchObject({ IdentityType: 'EMAIL_ADDRESS', VerifiedForSendingStatus: false, DkimAttributes: { Status: 'NOT_STARTED' } });
      expect(identity).toMatchObject({ IdentityType: 'EMAIL_ADDRESS', VerifiedForSendingStatus: true, VerificationStatus: 'SUCCESS' });
      expect(sent.MessageId).toMatch(MESSAGE_ID);
    });

    it('lists identities page by page', async () => {
      // Prepare
      const suffix = `${Date.now()}.paging.test`;
      for (const name of ['a', 'b', 'c']) await ses.seedIdentity(`${name}.${suffix}`, { verified: true });
      const filter = { IDENTITY_NAME_CONTAINS: suffix };

      // Act
      const first = await ses.client.send(new ListEmailIdentitiesCommand({ Filter: filter, PageSize: 2 }));
      const second = await ses.client.send(new ListEmailIdentitiesCommand({ Filter: filter, PageSize: 2, NextToken: first.NextToken }));

      // Assess
      expect(first.EmailIdentities?.map((i) => i.IdentityName)).toEqual([`a.${suffix}`, `b.${suffix}`]);
      expect(second.EmailIdentities?.map((i) => i.IdentityName)).toEqual([`c.${suffix}`]);
      expect(second.NextToken).toBeUndefined();
    });
  });

  describe('account and errors', () => {
    it('answers GetAccount as an account with production access', async () => {
      // Act
      const { $metadata, ...account } = await ses.client.send(new GetAccountCommand({}));

      // Assess
      expect(account).toEqual({ ...getAccountFixture, SendQuota: { ...getAccountFixture.SendQuota, SentLast24Hours: ses.sent().length } });
    });

    it('answers GetAccount with the account it was given, e.g. a sandbox account', async () => {
      // Prepare
      const sandbox = await startTestSes({ account: sandboxAccountFixture });

      try {
        // Act
        const { $metadata, ...account } = await sandbox.client.send(new GetAccountCommand({}));

        // Assess
        expect(account).toEqual(sandboxAccountFixture);
      } finally {
        await sandbox.close();
      }
    });

    it("failNext('SendEmail', 'TooManyRequestsException') makes the SDK throw TooManyRequestsException, once", async () => {
      // Prepare
      await ses.seedIdentity('example.com', { verified: true });
      ses.failNext('SendEmail', 'TooManyRequestsException');

      // Act
      const throttled = ses.client.send(new SendEmailCommand(simpleEmail('a@example.com')));

      // Assess
      await expect(throttled).rejects.toBeInstanceOf(TooManyRequestsException);
      await expect(throttled).rejects.toMatchObject({ $metadata: { httpStatusCode: 429 }, message: 'Maximum sending rate exceeded.' });
      await expect(ses.client.send(new SendEmailCommand(simpleEmail('a@example.com')))).resolves.toHaveProperty('MessageId');
    });

    it("retries an injected throttle with the SDK's default retry strategy", async () => {
      // Prepare
      await ses.seedIdentity('example.com', { verified: true });
      const retrying = new SESv2Client(localClientConfig(ses.endpoint));
      ses.failNext('SendEmail', 'TooManyRequestsException');

      try {
        // Act
        const result = await retrying.send(new SendEmailCommand(simpleEmail('a@example.com')));

        // Assess
        expect(result.MessageId).toMatch(MESSAGE_ID);
        expect(result.$metadata.attempts).toBe(2);
      } finally {
        retrying.destroy();
      }
    });

    it.each(errorFixtures.map((f) => [f.sdkV3.name, f] as const))('injects %s in the wire format the SDK maps to its class', async (type, fixture) => {
      // Prepare
      ses.failNext('GetAccount', type);

      // Act
      const result = ses.client.send(new GetAccountCommand({}));

      // Assess
      await expect(result).rejects.toMatchObject({
        name: fixture.sdkV3.name,
        $fault: fixture.sdkV3.$fault,
        $metadata: { httpStatusCode: fixture.httpStatus },
      });
    });

    it('answers the configuration-set reads for the sets it was given, as the SDK parses them', async () => {
      // Prepare
      const topicArn = 'arn:aws:sns:us-east-1:000000000000:sesame-events';
      const withSets = await startTestSes({ configurationSets: localConfigurationSets('sesame', topicArn) });

      try {
        // Act
        const set = await withSets.client.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'sesame-open' }));
        const { EventDestinations } = await withSets.client.send(new GetConfigurationSetEventDestinationsCommand({ ConfigurationSetName: 'sesame-open' }));
        const missing = withSets.client.send(new GetConfigurationSetCommand({ ConfigurationSetName: 'other' }));

        // Assess
        expect(set).toMatchObject({
          ConfigurationSetName: 'sesame-open',
          SendingOptions: { SendingEnabled: true },
        });
        expect(set.SuppressionOptions).toBeUndefined();
        expect(EventDestinations).toEqual([
          {
            Name: 'sesame-events',
            Enabled: true,
            MatchingEventTypes: ['SEND', 'REJECT', 'BOUNCE', 'COMPLAINT', 'DELIVERY', 'DELIVERY_DELAY', 'RENDERING_FAILURE', 'SUBSCRIPTION', 'OPEN'],
            SnsDestination: { TopicArn: topicArn },
          },
        ]);
        await expect(missing).rejects.toBeInstanceOf(NotFoundException);
        await expect(missing).rejects.toMatchObject({ message: 'Configuration set other does not exist.' });
      } finally {
        await withSets.close();
      }
    });

    it('answers an operation it does not implement with a 404 the SDK parses', async () => {
      // Act
      const result = ses.client.send(new CreateConfigurationSetCommand({ ConfigurationSetName: 'x' }));

      // Assess
      await expect(result).rejects.toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 404 } });
    });
  });
});
