/**
 * Local mode's SES events: the embedded SES server accepts an email, startLocalEvents publishes
 * what SES would (mailbox simulator rules), and the ingest handler applies it to the table.
 */
import { parseSendRequest } from '../../lambdas/core/domain/email';
import { parseSesMessage } from '../../lambdas/core/domain/ses-events';
import { SesSender } from '../../lambdas/core/adapters/ses';
import { expiresAt } from '../../lambdas/core/adapters/dynamo';
import { sendResponseEvent } from '../../lambdas/send/core';
import { simulateSesEvents, simulatedOutcome, startLocalEvents, toSnsEvent } from '../../lambdas/local/events';
import type { SendEvent } from '../../lambdas/local/ses-server';
import { startTestDynamo, startTestSes, type TestDynamo, type TestSes } from '../support/services';
import { FIXTURE_TOPIC } from './fixtures';
import { makeWorld, type World } from './world';

let dynamo: TestDynamo;
let ses: TestSes;
beforeAll(async () => {
  [dynamo, ses] = await Promise.all([startTestDynamo(), startTestSes()]);
  await ses.seedIdentity('example.com', { verified: true });
});
afterAll(() => Promise.all([dynamo.close(), ses.close()]));

/** Sends an email as the send function does: META first, then SES, then STATUS. */
async function send(world: World, fields: { to: string[]; cc?: string[]; bcc?: string[] }) {
  const draft = parseSendRequest({ from: 'Sender <sender@example.com>', subject: 'Hello', text: 'hi', tags: [{ name: 'category', value: 'welcome' }], ...fields });
  const createdAt = new Date().toISOString();
  const { id, tenantId } = await world.createEmail({ to: fields.to, cc: fields.cc ?? [], bcc: fields.bcc ?? [], createdAt });
  const messageId = await new SesSender(ses.client).send({ emailId: id, tenantId, draft, configurationSet: 'sesame', createdMs: Date.parse(createdAt) });
  await world.status.apply(
    { emailId: id, tenantId, expiresAt: expiresAt(Date.parse(createdAt), 36_500) },
    sendResponseEvent(messageId, Date.parse(createdAt), [...draft.to, ...draft.cc, ...draft.bcc].map((m) => m.address)), 'message', { assumeAbsent: true },
  );
  return { id, messageId };
}

describe('simulatedOutcome', () => {
  it('follows the SES mailbox simulator and Resend\'s test addresses, +labels included', () => {
    expect(['success@simulator.amazonses.com', 'delivered@resend.dev', 'someone@example.com', 'Name <success+a@simulator.amazonses.com>'].map(simulatedOutcome))
      .toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    expect(['bounce@simulator.amazonses.com', 'bounced+x@resend.dev', 'BOUNCE+1@Simulator.AmazonSES.com'].map(simulatedOutcome)).toEqual(['bounced', 'bounced', 'bounced']);
    expect(['complaint@simulator.amazonses.com', 'complained@resend.dev'].map(simulatedOutcome)).toEqual(['complained', 'complained']);
    expect(['suppressionlist@simulator.amazonses.com', 'suppressed@resend.dev'].map(simulatedOutcome)).toEqual(['suppressed', 'suppressed']);
    expect(simulatedOutcome('ooto@simulator.amazonses.com')).toBe('out_of_office');
    expect(simulatedOutcome('bounce@example.com')).toBe('delivered');
  });
});

describe('simulateSesEvents', () => {
  const sendEvent = (configurationSet?: string): SendEvent => ({
    messageId: '0100018c00000000-11111111-2222-4333-8444-555555555555-000000',
    timestamp: '2024-05-01T12:00:00.000Z',
    request: {
      FromEmailAddress: 'Sender <sender@example.com>',
      Destination: { ToAddresses: ['bounce@simulator.amazonses.com', 'complaint@simulator.amazonses.com'] },
      Content: { Simple: { Subject: { Data: 'Hi' }, Body: { Text: { Data: 'hi' } } } },
      EmailTags: [{ Name: 'sesame_email_id', Value: 'e1' }, { Name: 'category', Value: 'welcome' }],
      ...(configurationSet ? { ConfigurationSetName: configurationSet } : {}),
    },
    envelope: { from: 'Sender <sender@example.com>', to: ['bounce@simulator.amazonses.com', 'complaint@simulator.amazonses.com'], cc: [], bcc: [], replyTo: [], subject: 'Hi' },
  });

  it('writes SES\'s own JSON, which ingestion reads like the fixtures', () => {
    const events = simulateSesEvents(sendEvent('sesame'), { region: 'us-east-1', accountId: '000000000000', stepMs: 100 });
    expect(events.map((e) => e.event.eventType)).toEqual(['Send', 'Bounce', 'Delivery', 'Complaint']);
    // In time order per recipient: the complaint after its delivery.
    expect(events[3]!.afterMs).toBeGreaterThan(events[2]!.afterMs);
    for (const { event } of events) {
      const sns = toSnsEvent(event, FIXTURE_TOPIC, 'sub-1').Records[0]!.Sns;
      expect(sns.Message.endsWith('}\n')).toBe(true);
      expect(sns).toMatchObject({ Type: 'Notification', TopicArn: FIXTURE_TOPIC, SignatureVersion: '1' });
      const parsed = parseSesMessage(sns.Message);
      expect(parsed.kind).toBe('event');
    }
    const mail = events[0]!.event.mail as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(mail).toMatchObject({
      messageId: '0100018c00000000-11111111-2222-4333-8444-555555555555-000000',
      source: 'Sender <sender@example.com>',
      sourceArn: 'arn:aws:ses:us-east-1:000000000000:identity/example.com',
      destination: ['bounce@simulator.amazonses.com', 'complaint@simulator.amazonses.com'],
      commonHeaders: { subject: 'Hi', to: ['bounce@simulator.amazonses.com', 'complaint@simulator.amazonses.com'] },
      tags: { 'ses:configuration-set': ['sesame'], 'ses:from-domain': ['example.com'], sesame_email_id: ['e1'], category: ['welcome'] },
    });
    expect(events[1]!.event.bounce).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress: 'bounce@simulator.amazonses.com' }] });
  });

  it('publishes nothing for an email sent without a configuration set, as SES', () => {
    expect(simulateSesEvents(sendEvent(), { region: 'us-east-1', accountId: '000000000000' })).toEqual([]);
  });
});

describe('startLocalEvents', () => {
  it('turns every send into the events of each recipient, applied by the ingest handler', async () => {
    // Prepare
    const world = await makeWorld(dynamo);
    const events = startLocalEvents({ ses, ingest: world.handler, topicArn: FIXTURE_TOPIC, region: 'us-east-1', stepMs: 5, log: world.deps.log });
    try {
      // Act
      const { id } = await send(world, {
        to: ['delivered@resend.dev', 'bounced@resend.dev', 'complained@resend.dev'],
        cc: ['suppressed@resend.dev', 'ooto@simulator.amazonses.com'],
        bcc: ['Someone <someone@example.org>'],
      });
      await events.idle();

      // Assess: each recipient as the simulator decides, named as the customer wrote it.
      const view = await world.view(id);
      const recipients = Object.fromEntries(Object.entries(view.recipients).map(([address, [status]]) => [address, status]));
      expect(recipients).toEqual({
        'delivered@resend.dev': 'delivered',
        'bounced@resend.dev': 'bounced',
        'complained@resend.dev': 'complained',
        'suppressed@resend.dev': 'suppressed',
        'ooto@simulator.amazonses.com': 'delivered',
        'someone@example.org': 'delivered',
      });
      expect(view.lastEvent).toBe('complained');
      expect(world.fanned.map((e) => e.type).sort()).toEqual([
        'email.bounced', 'email.complained', 'email.delivered', 'email.delivered', 'email.delivered', 'email.delivered', 'email.sent', 'email.suppressed',
      ]);
      expect(world.fanned.every((e) => e.emailId === id && e.email.tags.category === 'welcome')).toBe(true);
    } finally {
      await events.stop();
    }
  });

  it('retries a failed invocation, as Lambda retries an asynchronous one', async () => {
    const world = await makeWorld(dynamo);
    let failures = 0;
    const events = startLocalEvents({
      ses,
      ingest: async (event) => {
        if (failures++ % 2 === 0) throw new Error('throttled');
        await world.handler(event);
      },
      topicArn: FIXTURE_TOPIC,
      region: 'us-east-1',
      stepMs: 5,
      retryDelaysMs: [5, 5],
      log: world.deps.log,
    });
    try {
      const { id } = await send(world, { to: ['delivered@resend.dev'] });
      await events.idle();
      expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'delivered' });
      expect(failures).toBeGreaterThanOrEqual(4);
    } finally {
      await events.stop();
    }
  });

  it('stops: no event for a send after stop()', async () => {
    const world = await makeWorld(dynamo);
    const events = startLocalEvents({ ses, ingest: world.handler, topicArn: FIXTURE_TOPIC, region: 'us-east-1', stepMs: 5, log: world.deps.log });
    await events.stop();
    const { id } = await send(world, { to: ['delivered@resend.dev'] });
    await new Promise((r) => setTimeout(r, 50));
    expect(world.fanned).toEqual([]);
    expect((await world.view(id)).events.map((e) => e.type)).toEqual(['email.sent']);
  });
});
