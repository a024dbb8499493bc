/** Test helpers for SES events: the fixtures (copied from the shared set) and SNS envelopes around them. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { SNSEvent } from 'aws-lambda';
import { derivedId } from '../../lambdas/core/domain/ids';

export const FIXTURES = join(__dirname, '..', 'fixtures');
export const SES_EVENTS = join(FIXTURES, 'ses-events');
export const SIGNED = join(FIXTURES, 'sns', 'test-signed');

/** The topic the signed fixtures were published to. */
export const FIXTURE_TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
/** The SES MessageId of every event-publishing fixture but subscription.json. */
export const FIXTURE_MESSAGE_ID = 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const readJson = (path: string): Json => JSON.parse(readFileSync(path, 'utf8')) as Json;

/**
 * The id of the test email SES message `sesMessageId` belongs to. Every event of mail Sesame sends
 * carries the email's id in Sesame's tags; the fixtures, taken from AWS's documentation, do not, so
 * the helpers below add it, and the test world creates an email with a MessageId under this id.
 */
export const testEmailId = (sesMessageId: string): string => derivedId('test-email', sesMessageId);

/** An event-publishing event with Sesame's email-id tag for its MessageId; identity notifications (never tagged) unchanged. */
export function withSesameTag(ses: Json): Json {
  if (ses.eventType === undefined || typeof ses.mail?.messageId !== 'string') return ses;
  const copy = structuredClone(ses);
  copy.mail.tags = { ...(copy.mail.tags ?? {}), sesame_email_id: [testEmailId(copy.mail.messageId)] };
  return copy;
}

/** `bounce-permanent-general` or `identity-notifications/delivery`, tagged as Sesame's mail is (withSesameTag). */
export const sesFixture = (name: string): Json => withSesameTag(readJson(join(SES_EVENTS, `${name}.json`)));

/** As sesFixture, without Sesame's tag: mail sent through a Sesame configuration set outside Sesame. */
export const untaggedSesFixture = (name: string): Json => readJson(join(SES_EVENTS, `${name}.json`));

/** An SNS message (Lambda or HTTP shape) whose SES message gets Sesame's tag (withSesameTag). */
export function withTaggedMessage<T extends { Message?: unknown }>(sns: T): T {
  if (typeof sns.Message !== 'string') return sns;
  let ses: Json;
  try {
    ses = JSON.parse(sns.Message) as Json;
  } catch {
    return sns;
  }
  return { ...sns, Message: JSON.stringify(withSesameTag(ses)) + '\n' };
}

export const SES_FIXTURE_NAMES: string[] = [
  ...readdirSync(SES_EVENTS).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, '')),
  ...readdirSync(join(SES_EVENTS, 'identity-notifications')).map((f) => `identity-notifications/${f.replace(/\.json$/, '')}`),
].sort();

/**
 * The signed Lambda-shaped envelope of a fixture (`event-<name>` or `identity-<name>`), its message
 * tagged as Sesame's mail is (withSesameTag; the Lambda path does not verify signatures).
 */
export function signedLambdaEvent(fixtureName: string): SNSEvent {
  const file = fixtureName.startsWith('identity-notifications/')
    ? `identity-${fixtureName.slice('identity-notifications/'.length)}`
    : `event-${fixtureName}`;
  const event = signedLambdaFile(file);
  return { ...event, Records: event.Records.map((r) => ({ ...r, Sns: withTaggedMessage(r.Sns) })) };
}

/** A file of test-signed/lambda, e.g. `ses-topic-validation`. */
export const signedLambdaFile = (file: string): SNSEvent => readJson(join(SIGNED, 'lambda', `${file}.json`)) as SNSEvent;

/** An SES event wrapped as SNS invokes a Lambda function (unsigned: the Lambda path does not verify). */
export function snsEvent(ses: Json | string, topicArn = FIXTURE_TOPIC): SNSEvent {
  return {
    Records: [{
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      EventSubscriptionArn: `${topicArn}:sub`,
      Sns: {
        Type: 'Notification',
        MessageId: randomUUID(),
        TopicArn: topicArn,
        Subject: 'Amazon SES Email Event Notification',
        Message: typeof ses === 'string' ? ses : JSON.stringify(ses) + '\n',
        Timestamp: new Date().toISOString(),
        SignatureVersion: '1',
        Signature: 'unsigned',
        SigningCertUrl: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem',
        UnsubscribeUrl: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
        MessageAttributes: {},
      },
    }],
  };
}

/** A fixture with another SES MessageId (and the email-id tag of that message) and, optionally, other correlation tags. */
export function withMail(ses: Json, mail: { messageId?: string; emailId?: string; tenantId?: string; destination?: string[] }): Json {
  let copy = structuredClone(ses);
  if (mail.messageId) copy = withSesameTag({ ...copy, mail: { ...copy.mail, messageId: mail.messageId } });
  if (mail.destination) copy.mail.destination = mail.destination;
  if (mail.emailId || mail.tenantId) {
    copy.mail.tags = { ...(copy.mail.tags ?? {}) };
    if (mail.emailId) copy.mail.tags.sesame_email_id = [mail.emailId];
    if (mail.tenantId) copy.mail.tags.sesame_tenant_id = [mail.tenantId];
  }
  return copy;
}

/** A seeded PRNG (mulberry32), so that a failing property run can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
