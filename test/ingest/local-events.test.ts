/**
 * Local mode's SES events: the embedded SES server accepts an email, its events go to the outbox
 * before SendEmail answers, startLocalEvents publishes them (mailbox simulator rules), and the
 * ingest handler applies them to the table; the outbox keeps what is not applied across restarts.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { PutSuppressedDestinationCommand } from '@aws-sdk/client-sesv2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSendRequest } from '../../lambdas/core/domain/send-request';
import { parseSesMessage } from '../../lambdas/core/domain/ses-events';
import { SesSender } from '../../lambdas/core/adapters/ses';
import { expiresAt } from '../../lambdas/core/adapters/dynamo';
import { sendResponseEvent } from '../../lambdas/send/core';
import { simulateSesEvents, simulatedOutcome, simulationPlan, startLocalEvents, toSnsEvent } from '../../lambdas/local/events';
import { EventOutbox } from '../../lambdas/local/event-outbox';
import type { SendEvent } from '../../lambdas/local/ses-server';
import { startTestDynamo, startTestSes, type TestDynamo, type TestSes } from '../support/services';
import { provisionTestSesTenant, TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { sesTenantName } from '../../lambdas/core/domain/ses-tenants';
import { FIXTURE_TOPIC } from './fixtures';
import { makeWorld, type World } from './world';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

/** The sender's verified identity, and the SES tenant of the worlds' tenant with it associated. */
async function readySes(ses: TestSes): Promise<void> {
  await ses.seedIdentity('example.com', { verified: true });
  await provisionTestSesTenant(ses.client, 'tenant-a', ['example.com']);
}

/** An outbox (in `dir`, or in memory) and the local SES server that fills it. */
async function sesWithOutbox(dir?: string): Promise<{ ses: TestSes; outbox: EventOutbox }> {
  const outbox = await EventOutbox.open({ ...(dir ? { dir } : {}), plan: simulationPlan({ region: 'us-east-1', topicArn: FIXTURE_TOPIC, stepMs: 5 }) });
  const ses = await startTestSes({ journal: outbox });
  await readySes(ses);
  return { ses, outbox };
}

/** Sends an email as the send function does: META first, then SES, then STATUS. */
async function send(ses: TestSes, world: World, fields: { to: string[]; cc?: string[]; bcc?: string[] }) {
  const draft = parseSendRequest({ from: 'Sender <sender@example.com>', subject: 'Hello', text: 'hi', tags: [{ name: 'category', value: 'welcome' }], ...fields });
  const createdAt = new Date().toISOString();
  const { id, tenantId } = await world.createEmail({ to: fields.to, cc: fields.cc ?? [], bcc: fields.bcc ?? [], createdAt });
  const messageId = await new SesSender(ses.client).send({ emailId: id, tenantId, tenantName: sesTenantName(TEST_SES_TENANT_PREFIX, tenantId), draft, configurationSet: 'sesame', createdMs: Date.parse(createdAt) });
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
  let ses: TestSes;
  let outbox: EventOutbox;
  beforeEach(async () => {
    ({ ses, outbox } = await sesWithOutbox());
  });
  afterEach(() => ses.close());

  it('turns every send into the events of each recipient, applied by the ingest handler', async () => {
    // Prepare
    const world = await makeWorld(dynamo);
    const events = startLocalEvents({ outbox, ingest: world.handler, topicArn: FIXTURE_TOPIC, log: world.deps.log });
    try {
      // Act
      const { id } = await send(ses, world, {
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
      expect(outbox.entries()).toEqual([]); // all applied: the entry left the outbox
    } finally {
      await events.stop();
    }
  });

  it("bounces an address on the SES tenant's suppression list as SES does (OnTenantSuppressionList): the recipient ends suppressed", async () => {
    // Prepare: the address is on tenant-a's own list, in another case.
    const world = await makeWorld(dynamo);
    await ses.client.send(new PutSuppressedDestinationCommand({ EmailAddress: 'Listed@Example.org', Reason: 'COMPLAINT', TenantName: sesTenantName(TEST_SES_TENANT_PREFIX, 'tenant-a') }));
    const events = startLocalEvents({ outbox, ingest: world.handler, topicArn: FIXTURE_TOPIC, log: world.deps.log });
    try {
      // Act
      const { id } = await send(ses, world, { to: ['listed@example.org', 'other@example.org'] });
      await events.idle();

      // Assess
      const view = await world.view(id);
      const recipients = Object.fromEntries(Object.entries(view.recipients).map(([address, [status]]) => [address, status]));
      expect(recipients).toEqual({ 'listed@example.org': 'suppressed', 'other@example.org': 'delivered' });
      const suppressed = world.fanned.find((e) => e.type === 'email.suppressed');
      expect(suppressed?.details).toMatchObject({ suppressed: { type: 'OnTenantSuppressionList' }, bounce: { type: 'Permanent', subType: 'OnTenantSuppressionList' } });
    } finally {
      await events.stop();
    }
  });

  it('retries a failed invocation, as Lambda retries an asynchronous one', async () => {
    const world = await makeWorld(dynamo);
    let failures = 0;
    const events = startLocalEvents({
      outbox,
      ingest: async (event) => {
        if (failures++ % 2 === 0) throw new Error('throttled');
        await world.handler(event);
      },
      topicArn: FIXTURE_TOPIC,
      retryDelaysMs: [5, 5],
      log: world.deps.log,
    });
    try {
      const { id } = await send(ses, world, { to: ['delivered@resend.dev'] });
      await events.idle();
      expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'delivered' });
      expect(failures).toBeGreaterThanOrEqual(4);
    } finally {
      await events.stop();
    }
  });

  it('keeps an event that fails every retry in the outbox, and the next start applies it', async () => {
    // Prepare
    const world = await makeWorld(dynamo);
    const failing = startLocalEvents({ outbox, ingest: async () => { throw new Error('down'); }, topicArn: FIXTURE_TOPIC, retryDelaysMs: [1], log: world.deps.log });
    const { id } = await send(ses, world, { to: ['delivered@resend.dev'] });
    await failing.idle();
    await failing.stop();
    expect(outbox.entries()).toHaveLength(1);

    // Act
    const next = startLocalEvents({ outbox, ingest: world.handler, topicArn: FIXTURE_TOPIC, log: world.deps.log });
    await next.idle();
    await next.stop();

    // Assess
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'delivered' });
    expect(outbox.entries()).toEqual([]);
  });

  it('stops: a send after stop() waits in the outbox, nothing is applied', async () => {
    const world = await makeWorld(dynamo);
    const events = startLocalEvents({ outbox, ingest: world.handler, topicArn: FIXTURE_TOPIC, log: world.deps.log });
    await events.stop();
    const { id } = await send(ses, world, { to: ['delivered@resend.dev'] });
    await new Promise((r) => setTimeout(r, 50));
    expect(world.fanned).toEqual([]);
    expect((await world.view(id)).events.map((e) => e.type)).toEqual(['email.sent']);
  });
});

describe('the event outbox across a crash', () => {
  it('has the events of an accepted email on disk before SendEmail answers, and a restart applies them once', async () => {
    // Prepare: SES and the outbox on a data folder; no events are delivered in this "run".
    const dir = mkdtempSync(join(tmpdir(), 'sesame-outbox-'));
    const world = await makeWorld(dynamo);
    const first = await sesWithOutbox(dir);
    const { id, messageId } = await send(first.ses, world, { to: ['delivered@resend.dev', 'bounced@resend.dev'] });
    expect(readdirSync(dir)).toEqual([`${messageId}.json`]);

    // Act: a new run reads the folder (the first one is abandoned, as a kill -9 would leave it).
    const outbox = await EventOutbox.open({ dir, plan: () => [] });
    await outbox.recover(new Set([messageId]));
    const events = startLocalEvents({ outbox, ingest: world.handler, topicArn: FIXTURE_TOPIC, log: world.deps.log });
    await events.idle();
    await events.stop();
    await first.ses.close();

    // Assess
    expect((await world.itemsOf(id, 'STATUS'))[0]).toMatchObject({ last_event: 'bounced' });
    expect(world.fanned.map((e) => e.type).sort()).toEqual(['email.bounced', 'email.delivered', 'email.sent']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('commits a prepared email that reached the mailbox and drops one that did not', async () => {
    // Prepare: two emails prepared, as if a crash came between the outbox and SendEmail's answer.
    const dir = mkdtempSync(join(tmpdir(), 'sesame-outbox-'));
    const plan = simulationPlan({ region: 'us-east-1', topicArn: FIXTURE_TOPIC });
    const crashed = await EventOutbox.open({ dir, plan });
    const email = (messageId: string) => ({
      messageId, timestamp: new Date().toISOString(),
      request: { FromEmailAddress: 'a@example.com', ConfigurationSetName: 'sesame', Destination: { ToAddresses: ['b@example.org'] }, Content: { Simple: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } } } },
      envelope: { from: 'a@example.com', to: ['b@example.org'], cc: [], bcc: [], replyTo: [], subject: 's' },
    });
    await crashed.prepare(email('0100000000000001-aaaaaaaa-0000-4000-8000-000000000001-000000'));
    await crashed.prepare(email('0100000000000002-aaaaaaaa-0000-4000-8000-000000000002-000000'));

    // Act: only the first reached the mailbox.
    const outbox = await EventOutbox.open({ dir, plan });
    await outbox.recover(new Set(['0100000000000001-aaaaaaaa-0000-4000-8000-000000000001-000000']));

    // Assess
    expect(outbox.entries().map((e) => e.messageId)).toEqual(['0100000000000001-aaaaaaaa-0000-4000-8000-000000000001-000000']);
    expect(readdirSync(dir)).toEqual(['0100000000000001-aaaaaaaa-0000-4000-8000-000000000001-000000.json']);
  });

  it('answers SendEmail with an error and keeps nothing when the outbox cannot be written', async () => {
    const outbox = await EventOutbox.open({ plan: () => { throw new Error('disk full'); } });
    const ses = await startTestSes({ journal: outbox, onError: () => undefined });
    try {
      await readySes(ses);
      const world = await makeWorld(dynamo);
      // SES's 500 does not prove a refusal: the send is left unconfirmed (its Send event would record it).
      await expect(send(ses, world, { to: ['delivered@resend.dev'] })).rejects.toMatchObject({ name: 'SendUnconfirmedError', cause: { $metadata: { httpStatusCode: 500 } } });
      expect(ses.sent()).toEqual([]);
    } finally {
      await ses.close();
    }
  });
});
