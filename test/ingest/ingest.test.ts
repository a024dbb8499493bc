/**
 * The ingest function's core against the embedded DynamoDB store (dynalite): every SES fixture,
 * both formats, through the handler; then the ways a record can go wrong.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createServer } from 'node:net';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EventStore } from '../../lambdas/core/adapters/events';
import { EmailNotFoundError, ingestSnsEvent } from '../../lambdas/ingest/core';
import { SES_TOPIC_VALIDATION_MESSAGE } from '../../lambdas/core/domain/ses-events';
import { localClientConfig, startTestDynamo, type TestDynamo } from '../support/services';
import { FIXTURE_MESSAGE_ID, FIXTURE_TOPIC, SES_FIXTURE_NAMES, sesFixture, signedLambdaEvent, signedLambdaFile, snsEvent, withMail } from './fixtures';
import { makeWorld } from './world';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

function expectedStatus(name: string): string {
  const base = name.replace('identity-notifications/', '');
  if (base === 'bounce-permanent-suppressed' || base === 'complaint-onaccountsuppressionlist') return 'suppressed';
  if (base.startsWith('bounce')) return 'bounced';
  if (base.startsWith('complaint')) return 'complained';
  if (base.startsWith('delivery-delay')) return 'delivery_delayed';
  if (base.startsWith('delivery')) return 'delivered';
  return ({ click: 'clicked', open: 'opened', reject: 'failed', 'rendering-failure': 'failed', send: 'sent' } as Record<string, string>)[base]!;
}

const PER_RECIPIENT = /^(identity-notifications\/)?(bounce|complaint|delivery)/;

describe('ingest: every SES fixture through the handler', () => {
  it.each(SES_FIXTURE_NAMES.filter((n) => n !== 'subscription'))('%s', async (name) => {
    // Prepare: the email SES reported on, found by its SES MessageId (the fixtures carry no tags).
    const world = await makeWorld(dynamo);
    const ses = sesFixture(name);
    const { id } = await world.createEmail({ to: ses.mail.destination, sesMessageId: ses.mail.messageId });

    // Act
    await world.handler(signedLambdaEvent(name));

    // Assess: last_event, recipient states, the event log, one webhook.
    const status = expectedStatus(name);
    const [statusItem] = await world.itemsOf(id, 'STATUS');
    expect(statusItem).toMatchObject({ last_event: status, message_id: ses.mail.messageId });

    const [logged, ...more] = await world.itemsOf(id, 'EV#');
    expect(more).toHaveLength(0);
    expect(logged).toMatchObject({ kind: 'email_event', type: `email.${status}`, status, ses_message_id: ses.mail.messageId, tenant_id: 'tenant-a' });
    expect(logged!.sk).toBe(`EV#${logged!.event_time as string}#${logged!.event_id as string}`);

    const recipients = await world.itemsOf(id, 'R#');
    if (PER_RECIPIENT.test(name)) {
      expect(recipients.length).toBeGreaterThan(0);
      expect(recipients.map((r) => r.address).sort()).toEqual([...(logged!.recipients as string[])].sort());
      for (const r of recipients) expect(r).toMatchObject({ status, event_id: logged!.event_id });
    } else {
      expect(recipients).toEqual([]);
    }

    expect(world.fanned).toHaveLength(1);
    expect(world.fanned[0]).toMatchObject({
      eventId: logged!.event_id, tenantId: 'tenant-a', emailId: id, type: `email.${status}`, timestamp: logged!.event_time,
      email: { email_id: id, from: 'Sender <sender@example.com>', to: ses.mail.destination, subject: 'Hello', tags: { category: 'welcome' } },
      details: logged!.details,
    });
  });

  it('applies the recipients a bounce names, leaving the others alone', async () => {
    const world = await makeWorld(dynamo);
    const ses = sesFixture('identity-notifications/bounce-without-dsn');
    const { id } = await world.createEmail({ to: ses.mail.destination, sesMessageId: ses.mail.messageId });
    await world.handler(signedLambdaEvent('identity-notifications/bounce-without-dsn'));
    const recipients = await world.itemsOf(id, 'R#');
    expect(recipients.map((r) => [r.address, r.status]).sort()).toEqual([['jane@example.com', 'bounced'], ['richard@example.com', 'bounced']]);
  });

  it('logs a Subscription event and changes nothing', async () => {
    const world = await makeWorld(dynamo);
    const ses = sesFixture('subscription');
    const { id } = await world.createEmail({ sesMessageId: ses.mail.messageId });
    await expect(ingestSnsEvent(world.deps, signedLambdaEvent('subscription'))).resolves.toEqual(['ignored']);
    expect(await world.itemsOf(id, 'EV#')).toEqual([]);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'sent' });
    expect(world.fanned).toEqual([]);
    expect(world.logs).toContainEqual(expect.objectContaining({ message: 'SES message needs no work', reason: 'subscription' }));
  });

  it('accepts the topic validation message and does nothing', async () => {
    const world = await makeWorld(dynamo);
    const event = signedLambdaFile('ses-topic-validation');
    expect(event.Records[0]!.Sns.Message).toBe(SES_TOPIC_VALIDATION_MESSAGE);
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['ignored']);
    expect(world.fanned).toEqual([]);
  });
});

describe('ingest: duplicates, order and crashes', () => {
  it('applies an event delivered twice once, with one webhook', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const event = signedLambdaEvent('delivery');
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['applied']);
    const before = await world.items(id);
    // Again, and again by another path (another SNS MessageId, unsigned).
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['duplicate']);
    await expect(ingestSnsEvent(world.deps, snsEvent(sesFixture('delivery')))).resolves.toEqual(['duplicate']);
    expect(await world.items(id)).toEqual(before);
    expect(world.fanned).toHaveLength(1);
  });

  it('keeps the greatest last_event whatever the order: a late Delivery does not undo a Bounce', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const delivery = sesFixture('delivery');
    delivery.delivery.timestamp = '2017-08-05T00:41:00.000Z'; // before the bounce below
    await world.handler(signedLambdaEvent('bounce-permanent-general'));
    await world.handler(snsEvent(delivery));
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'bounced' });
    // The recipient keeps the higher rank: bounced, not delivered.
    expect((await world.itemsOf(id, 'R#'))[0]).toMatchObject({ status: 'bounced' });
    // Both are in the log, oldest first.
    expect((await world.itemsOf(id, 'EV#')).map((e) => e.type)).toEqual(['email.delivered', 'email.bounced']);
  });

  it('after a crash before its fan-out, a retry applies and fans out again, then records the event', async () => {
    let failing = true;
    const fanned: string[] = [];
    const world = await makeWorld(dynamo, {
      fanOut: {
        fanOut: async (e) => {
          if (failing) throw new Error('queue unreachable');
          fanned.push(e.eventId);
        },
      },
    });
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const event = signedLambdaEvent('bounce-permanent-general');

    await expect(world.handler(event)).rejects.toThrow('queue unreachable');
    // The status moved (idempotent), but the event is not recorded: a retry must do it all again.
    expect(await world.itemsOf(id, 'EV#')).toEqual([]);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'bounced' });

    failing = false;
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['applied']);
    const [recorded] = await world.itemsOf(id, 'EV#');
    expect(fanned).toEqual([recorded!.event_id]);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'bounced' });
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['duplicate']);
    expect(fanned).toHaveLength(1);
  });
});

describe('ingest: correlation', () => {
  it('finds the email by Sesame\'s tags, without the MessageId mapping', async () => {
    const world = await makeWorld(dynamo);
    const { id, tenantId } = await world.createEmail();
    await expect(ingestSnsEvent(world.deps, snsEvent(withMail(sesFixture('delivery'), { emailId: id, tenantId, messageId: 'not-mapped' })))).resolves.toEqual(['applied']);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'delivered', tenant_id: tenantId });
  });

  it('throws for an email not found, so that Lambda retries and the DLQ keeps it', async () => {
    const world = await makeWorld(dynamo);
    await expect(world.handler(signedLambdaEvent('delivery'))).rejects.toBeInstanceOf(EmailNotFoundError);
    await expect(world.handler(snsEvent(withMail(sesFixture('delivery'), { emailId: '0b7c4a9e-5a1f-4c1e-9d3e-2f6b8c0a1d2e' })))).rejects.toBeInstanceOf(EmailNotFoundError);
  });

  it('throws when the tags name another tenant than the email\'s', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ tenantId: 'tenant-a' });
    await expect(world.handler(snsEvent(withMail(sesFixture('delivery'), { emailId: id, tenantId: 'tenant-b' })))).rejects.toBeInstanceOf(EmailNotFoundError);
    expect(await world.itemsOf(id, 'EV#')).toEqual([]);
  });

  it('drops an event for an email past retention instead of retrying it forever', async () => {
    const world = await makeWorld(dynamo, { retentionDays: 30 });
    await expect(ingestSnsEvent(world.deps, signedLambdaEvent('delivery'))).resolves.toEqual(['expired']);
  });

  it('names the addresses the customer sent to, not the mailbox simulator\'s', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ to: ['Del <delivered@resend.dev>'], cc: ['bounced+x@resend.dev'], sesMessageId: 'sim-1' });
    const delivery = withMail(sesFixture('delivery'), { messageId: 'sim-1', destination: ['success@simulator.amazonses.com', 'bounce+x@simulator.amazonses.com'] });
    delivery.delivery.recipients = ['success@simulator.amazonses.com'];
    const bounce = withMail(sesFixture('bounce-permanent-general'), { messageId: 'sim-1', destination: delivery.mail.destination });
    bounce.bounce.bouncedRecipients[0].emailAddress = 'bounce+x@simulator.amazonses.com';
    await world.handler(snsEvent(delivery));
    await world.handler(snsEvent(bounce));
    const recipients = await world.itemsOf(id, 'R#');
    expect(recipients.map((r) => [r.sk, r.address, r.status]).sort()).toEqual([
      ['R#bounced+x@resend.dev', 'bounced+x@resend.dev', 'bounced'],
      ['R#delivered@resend.dev', 'delivered@resend.dev', 'delivered'],
    ]);
    expect((await world.itemsOf(id, 'EV#')).map((e) => e.recipients)).toEqual([['delivered@resend.dev'], ['bounced+x@resend.dev']]);
  });
});

describe('ingest: what is refused, skipped, or retried', () => {
  it('refuses and logs a record from another topic, writing nothing and not throwing', async () => {
    const world = await makeWorld(dynamo, { topicArn: 'arn:aws:sns:us-east-1:123456789012:other-topic' });
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    await expect(ingestSnsEvent(world.deps, signedLambdaEvent('delivery'))).resolves.toEqual(['refused']);
    expect(await world.itemsOf(id, 'EV#')).toEqual([]);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'sent' });
    expect(world.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringContaining('not from the configured topic'), topicArn: FIXTURE_TOPIC }));
  });

  it('skips a malformed record, logged with its SNS MessageId, and still applies the others', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const bad = snsEvent('{"eventType":"Delivery","mail":{"messageId":"x"}}');
    const good = signedLambdaEvent('delivery');
    const event = { Records: [bad.Records[0]!, { EventSource: 'aws:sns' }, good.Records[0]!] } as typeof good;
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['malformed', 'malformed', 'applied']);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'delivered' });
    expect(world.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', snsMessageId: bad.Records[0]!.Sns.MessageId, reason: expect.any(String) }));
  });

  it('applies the good records of a batch, then throws for the one whose email is not there', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const unknown = snsEvent(withMail(sesFixture('delivery'), { messageId: 'unknown-message' }));
    const event = { Records: [unknown.Records[0]!, signedLambdaEvent('open').Records[0]!] };
    await expect(ingestSnsEvent(world.deps, event)).rejects.toBeInstanceOf(EmailNotFoundError);
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'opened' });
  });

  it('throws when the table is unreachable, so that Lambda retries', async () => {
    // Prepare: a port that nothing listens on.
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const client = new DynamoDBClient({ ...localClientConfig(`http://127.0.0.1:${port}`), maxAttempts: 1 });
    const world = await makeWorld(dynamo);
    const deps = { ...world.deps, events: new EventStore(createDb(DynamoDBDocumentClient.from(client), 'unreachable')) };
    await expect(ingestSnsEvent(deps, signedLambdaEvent('delivery'))).rejects.toThrow();
    await expect(ingestSnsEvent(deps, snsEvent(sesFixture('send'), FIXTURE_TOPIC))).rejects.toThrow();
    client.destroy();
  });
});
