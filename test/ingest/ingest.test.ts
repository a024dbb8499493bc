/**
 * The ingest function's core against the embedded DynamoDB store (dynalite): every SES fixture,
 * both formats, through the handler; then the ways a record can go wrong.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createServer } from 'node:net';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EventStore } from '../../lambdas/core/adapters/events';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import { EmailNotFoundError, ingestSnsEvent } from '../../lambdas/ingest/core';
import { SES_TOPIC_VALIDATION_MESSAGE } from '../../lambdas/core/domain/ses-events';
import { shortEventId } from '../../lambdas/core/domain/email-state';
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
    const view = await world.view(id);
    expect(view).toMatchObject({ lastEvent: status, messageId: ses.mail.messageId, tenantId: 'tenant-a' });
    expect(world.fanned).toHaveLength(1);
    // The log: the Send event the send recorded with SendEmail's answer, and this one.
    const logged = view.events.find((e) => e.eventId === world.fanned[0]!.eventId);
    expect(view.events).toHaveLength(name === 'send' ? 1 : 2);
    expect(logged).toMatchObject({ type: `email.${status}`, status, sesMessageId: ses.mail.messageId });

    if (PER_RECIPIENT.test(name)) {
      expect(Object.keys(view.recipients).length).toBeGreaterThan(0);
      expect(Object.keys(view.recipients).sort()).toEqual([...logged!.recipients].map((r) => r.toLowerCase()).sort());
      for (const r of Object.values(view.recipients)) expect(r).toEqual([status, shortEventId(logged!.eventId)]);
    } else {
      expect(view.recipients).toEqual({});
    }

    expect(world.fanned[0]).toMatchObject({
      // As the log has it (for the Send event, the time SendEmail was called, as the send recorded it).
      eventId: logged!.eventId, tenantId: 'tenant-a', emailId: id, type: `email.${status}`, timestamp: logged!.timestamp,
      email: { email_id: id, from: 'Sender <sender@example.com>', to: ses.mail.destination, subject: 'Hello', tags: { category: 'welcome' } },
      details: logged!.details,
    });
  });

  it('applies the recipients a bounce names, leaving the others alone', async () => {
    const world = await makeWorld(dynamo);
    const ses = sesFixture('identity-notifications/bounce-without-dsn');
    const { id } = await world.createEmail({ to: ses.mail.destination, sesMessageId: ses.mail.messageId });
    await world.handler(signedLambdaEvent('identity-notifications/bounce-without-dsn'));
    const { recipients } = await world.view(id);
    expect(Object.entries(recipients).map(([address, [status]]) => [address, status])).toEqual([['jane@example.com', 'bounced'], ['richard@example.com', 'bounced']]);
  });

  it('logs a Subscription event and changes nothing', async () => {
    const world = await makeWorld(dynamo);
    const ses = sesFixture('subscription');
    const { id } = await world.createEmail({ sesMessageId: ses.mail.messageId });
    const before = await world.items(id);
    await expect(ingestSnsEvent(world.deps, signedLambdaEvent('subscription'))).resolves.toEqual(['ignored']);
    expect(await world.items(id)).toEqual(before);
    expect((await world.view(id)).lastEvent).toBe('sent');
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
  it('applies an event delivered twice once; a duplicate writes nothing and only fans out again, under the same event id', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const event = signedLambdaEvent('delivery');
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['applied']);
    const before = await world.items(id);
    // Again, and again by another path (another SNS MessageId, unsigned).
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['duplicate']);
    await expect(ingestSnsEvent(world.deps, snsEvent(sesFixture('delivery')))).resolves.toEqual(['duplicate']);
    expect(await world.items(id)).toEqual(before);
    expect(world.fanned).toHaveLength(3);
    expect(new Set(world.fanned.map((e) => e.eventId)).size).toBe(1);
  });

  it('keeps the greatest last_event whatever the order: a late Delivery does not undo a Bounce', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const delivery = sesFixture('delivery');
    delivery.delivery.timestamp = '2017-08-05T00:41:00.000Z'; // before the bounce below
    await world.handler(signedLambdaEvent('bounce-permanent-general'));
    await world.handler(snsEvent(delivery));
    const view = await world.view(id);
    expect(view.lastEvent).toBe('bounced');
    // The recipient keeps the higher rank: bounced, not delivered.
    expect(Object.values(view.recipients).map(([status]) => status)).toEqual(['bounced']);
    // All are in the log, oldest first.
    expect(view.events.map((e) => e.type)).toEqual(['email.sent', 'email.delivered', 'email.bounced']);
  });

  it('after a crash before its fan-out, a retry finds the event applied and fans it out, writing nothing', async () => {
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
    // Applied (the write precedes the fan-out), not fanned out: the retry must fan it out.
    const applied = await world.view(id);
    expect(applied.lastEvent).toBe('bounced');
    const after = await world.items(id);

    failing = false;
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['duplicate']);
    expect(fanned).toEqual([applied.events.find((e) => e.type === 'email.bounced')!.eventId]);
    expect(await world.items(id)).toEqual(after);
  });
});

describe('ingest: correlation', () => {
  it('finds the email by Sesame\'s tags, without the MessageId mapping', async () => {
    const world = await makeWorld(dynamo);
    const { id, tenantId } = await world.createEmail();
    await expect(ingestSnsEvent(world.deps, snsEvent(withMail(sesFixture('delivery'), { emailId: id, tenantId, messageId: 'not-mapped' })))).resolves.toEqual(['applied']);
    expect(await world.view(id)).toMatchObject({ lastEvent: 'delivered', tenantId });
  });

  it('throws for an email not found, so that Lambda retries and the DLQ keeps it', async () => {
    const world = await makeWorld(dynamo);
    await expect(world.handler(signedLambdaEvent('delivery'))).rejects.toBeInstanceOf(EmailNotFoundError);
    await expect(world.handler(snsEvent(withMail(sesFixture('delivery'), { emailId: '0b7c4a9e-5a1f-4c1e-9d3e-2f6b8c0a1d2e' })))).rejects.toBeInstanceOf(EmailNotFoundError);
  });

  it('throws when the tags name another tenant than the email\'s', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ tenantId: 'tenant-a' });
    const before = await world.items(id);
    await expect(world.handler(snsEvent(withMail(sesFixture('delivery'), { emailId: id, tenantId: 'tenant-b' })))).rejects.toBeInstanceOf(EmailNotFoundError);
    expect(await world.items(id)).toEqual(before);
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
    const view = await world.view(id);
    expect(Object.entries(view.recipients).map(([address, [status]]) => [address, status])).toEqual([
      ['bounced+x@resend.dev', 'bounced'],
      ['delivered@resend.dev', 'delivered'],
    ]);
    expect(view.events.filter((e) => e.type !== 'email.sent').map((e) => e.recipients)).toEqual([['delivered@resend.dev'], ['bounced+x@resend.dev']]);
  });
});

describe('ingest: what is refused, skipped, or retried', () => {
  it('refuses and logs a record from another topic, writing nothing and not throwing', async () => {
    const world = await makeWorld(dynamo, { topicArn: 'arn:aws:sns:us-east-1:123456789012:other-topic' });
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const before = await world.items(id);
    await expect(ingestSnsEvent(world.deps, signedLambdaEvent('delivery'))).resolves.toEqual(['refused']);
    expect(await world.items(id)).toEqual(before);
    expect(world.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', message: expect.stringContaining('not from the configured topic'), topicArn: FIXTURE_TOPIC }));
  });

  it('skips a malformed record, logged with its SNS MessageId, and still applies the others', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const bad = snsEvent('{"eventType":"Delivery","mail":{"messageId":"x"}}');
    const good = signedLambdaEvent('delivery');
    const event = { Records: [bad.Records[0]!, { EventSource: 'aws:sns' }, good.Records[0]!] } as typeof good;
    await expect(ingestSnsEvent(world.deps, event)).resolves.toEqual(['malformed', 'malformed', 'applied']);
    expect((await world.view(id)).lastEvent).toBe('delivered');
    expect(world.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', snsMessageId: bad.Records[0]!.Sns.MessageId, reason: expect.any(String) }));
  });

  it('applies the good records of a batch, then throws for the one whose email is not there', async () => {
    const world = await makeWorld(dynamo);
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    const unknown = snsEvent(withMail(sesFixture('delivery'), { messageId: 'unknown-message' }));
    const event = { Records: [unknown.Records[0]!, signedLambdaEvent('open').Records[0]!] };
    await expect(ingestSnsEvent(world.deps, event)).rejects.toBeInstanceOf(EmailNotFoundError);
    expect((await world.view(id)).lastEvent).toBe('opened');
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
    const unreachable = createDb(DynamoDBDocumentClient.from(client), 'unreachable');
    const deps = { ...world.deps, events: new EventStore(unreachable), status: new EmailStatusStore(unreachable) };
    await expect(ingestSnsEvent(deps, signedLambdaEvent('delivery'))).rejects.toThrow();
    await expect(ingestSnsEvent(deps, snsEvent(sesFixture('send'), FIXTURE_TOPIC))).rejects.toThrow();
    client.destroy();
  });
});
