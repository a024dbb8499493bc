/**
 * The stored state is a function of the set of events: any order, any duplicates, some of them
 * concurrent (lost races on the STATUS item's version included), the two SES formats for the same
 * event, always the same state: last_event, the MessageId, every recipient, the event log as
 * listed. (Which events sit in STATUS and which spilled to their own items depends on arrival
 * order; what they mean does not.) Seeded, so that a failure can be replayed.
 */
import { ingestSnsEvent } from '../../lambdas/ingest/core';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { type Json, prng, sesFixture, snsEvent, withMail } from './fixtures';
import { makeWorld, type EmailStateView, type World } from './world';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

const EMAIL_ID = '5d0c3a52-1b7e-4f0a-9c6d-8e2f4a1b3c5d';
const TENANT = 'tenant-p';
const MESSAGE_ID = '0100018c-prop-4a5b-8c9d-000000000000-000000';
const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const DESTINATION = ['a@example.com', 'b@example.com', 'success@simulator.amazonses.com'];

/** Event publishing JSON of this email (tags) with the given changes. */
function published(name: string, change: (j: Json) => void): Json {
  const json = withMail(sesFixture(name), { messageId: MESSAGE_ID, emailId: EMAIL_ID, tenantId: TENANT, destination: DESTINATION });
  json.mail.timestamp = at(0);
  change(json);
  return json;
}

function theEvents(): Json[] {
  const complaint = published('complaint-with-feedback-report', (j) => {
    j.complaint.timestamp = at(60);
    j.complaint.complainedRecipients = [{ emailAddress: 'a@example.com' }];
    j.complaint.feedbackId = 'feedback-complaint-a';
  });
  // The same complaint as an identity notification: no tags, found by MessageId; same event id.
  const complaintNotification: Json = { notificationType: 'Complaint', complaint: complaint.complaint, mail: { ...complaint.mail, tags: undefined } };
  delete complaintNotification.mail.tags;
  return [
    published('send', () => undefined),
    published('delivery-delay-general', (j) => {
      j.deliveryDelay.timestamp = at(1);
      j.deliveryDelay.delayedRecipients[0].emailAddress = 'b@example.com';
    }),
    published('delivery', (j) => {
      j.delivery.timestamp = at(2);
      j.delivery.recipients = ['a@example.com'];
    }),
    // Same time as the delivery above: the tie is broken by event id.
    published('delivery', (j) => {
      j.delivery.timestamp = at(2);
      j.delivery.recipients = ['success@simulator.amazonses.com'];
    }),
    published('bounce-transient-mailboxfull', (j) => {
      j.bounce.timestamp = at(3);
      j.bounce.bouncedRecipients[0].emailAddress = 'b@example.com';
      j.bounce.feedbackId = 'feedback-bounce-b';
    }),
    published('delivery', (j) => {
      j.delivery.timestamp = at(5);
      j.delivery.recipients = ['b@example.com'];
    }),
    published('open', (j) => (j.open.timestamp = at(30))),
    published('click', (j) => (j.click.timestamp = at(40))),
    published('click', (j) => {
      j.click.timestamp = at(40);
      j.click.link = 'https://example.com/second';
    }),
    complaint,
    complaintNotification,
    // An open at the complaint's very time: the complaint outranks it for last_event.
    published('open', (j) => {
      j.open.timestamp = at(60);
      j.open.ipAddress = '198.51.100.7';
    }),
    published('subscription', (j) => (j.subscription.timestamp = at(70))),
  ];
}

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

async function freshWorld(): Promise<World> {
  const world = await makeWorld(dynamo);
  await world.createEmail({ id: EMAIL_ID, tenantId: TENANT, to: ['a@example.com', 'b@example.com'], cc: ['Tester <delivered@resend.dev>'], sesMessageId: MESSAGE_ID, createdAt: at(-1) });
  return world;
}


describe('the stored state is a function of the set of events', () => {
  let reference: EmailStateView;
  let distinctEventIds: string[];

  beforeAll(async () => {
    // The reference: each event once, in publishing order, one at a time.
    const world = await freshWorld();
    for (const json of theEvents()) await ingestSnsEvent(world.deps, snsEvent(json));
    reference = await world.view(EMAIL_ID);
    distinctEventIds = [...new Set(world.fanned.map((e) => e.eventId))];
  });

  it('has the state the rule gives', () => {
    expect(reference).toMatchObject({ lastEvent: 'complained', messageId: MESSAGE_ID });
    const recipients = Object.fromEntries(Object.entries(reference.recipients).map(([address, [status]]) => [address, status]));
    // b: the bounce (rank 70) outranks its later delivery (30) and the delay (20).
    expect(recipients).toEqual({ 'a@example.com': 'complained', 'b@example.com': 'bounced', 'delivered@resend.dev': 'delivered' });
    // 11 distinct events (the two complaint formats are one; Subscription is only logged), each fanned out.
    expect(reference.events).toHaveLength(11);
    expect(distinctEventIds).toHaveLength(11);
    expect(new Set(reference.events.map((e) => e.eventId))).toEqual(new Set(distinctEventIds));
  });

  it('converges for any order, any duplicates and concurrent deliveries (seeded)', async () => {
    const seeds = Array.from({ length: 20 }, (_, i) => 1000 + i);
    for (const seed of seeds) {
      // Prepare: each event one to three times, shuffled, in chunks applied concurrently.
      const random = prng(seed);
      const deliveries = theEvents().flatMap((json) => Array.from({ length: 1 + Math.floor(random() * 3) }, () => json));
      for (let i = deliveries.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
      }
      const world = await freshWorld();

      // Act
      for (let i = 0; i < deliveries.length;) {
        const size = 1 + Math.floor(random() * 3);
        await Promise.all(deliveries.slice(i, i + size).map((json) => ingestSnsEvent(world.deps, snsEvent(json))));
        i += size;
      }

      // Assess: the same items, and every event fanned out (at least once when concurrent).
      const state = await world.view(EMAIL_ID);
      if (JSON.stringify(state) !== JSON.stringify(reference)) throw new Error(`seed ${seed} diverged`);
      expect(state).toEqual(reference);
      expect(new Set(world.fanned.map((e) => e.eventId))).toEqual(new Set(distinctEventIds));
    }
  }, 120_000);

  it('fans out each event once when first applied, and again only when delivered again, under the same id', async () => {
    const random = prng(7);
    const deliveries = [...theEvents(), ...theEvents(), ...theEvents()].sort(() => random() - 0.5);
    const world = await freshWorld();
    for (const json of deliveries) await ingestSnsEvent(world.deps, snsEvent(json));
    expect(await world.view(EMAIL_ID)).toEqual(reference);
    // Subscription events are only logged; every other delivery fans out its event's id.
    expect(world.fanned).toHaveLength(deliveries.filter((j) => j.eventType !== 'Subscription').length);
    expect(new Set(world.fanned.map((e) => e.eventId))).toEqual(new Set(distinctEventIds));
  });

  it('converges when concurrent ingests of different events lose races on the STATUS item', async () => {
    // Prepare: every STATUS read waits until all the ingests have read, so every write but one per
    // round loses the version race and reads again.
    const events = theEvents().filter((j) => j.eventType !== 'Subscription');
    const world = await freshWorld();
    let waiting: (() => void)[] = [];
    let reads = 0;
    let conditionFailures = 0;
    const doc = world.db.doc;
    const racing = {
      send: async (command: { constructor: { name: string }; input: { Key?: { sk?: string } } }) => {
        if (command.constructor.name === 'GetCommand' && command.input.Key?.sk === 'STATUS' && reads++ < events.length) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === events.length) {
              for (const w of waiting) w();
              waiting = [];
            }
          });
        }
        try {
          return await (doc.send as (c: unknown) => Promise<unknown>)(command);
        } catch (error) {
          if ((error as Error).name === 'ConditionalCheckFailedException') conditionFailures++;
          throw error;
        }
      },
    } as unknown as DynamoDBDocumentClient;
    const deps = { ...world.deps, status: new EmailStatusStore(createDb(racing, world.table)) };

    // Act: all at once.
    await Promise.all(events.map((json) => ingestSnsEvent(deps, snsEvent(json))));

    // Assess: the races happened, and the state is the reference.
    expect(conditionFailures).toBeGreaterThanOrEqual(events.length - 2);
    expect(await world.view(EMAIL_ID)).toEqual(reference);
  });
});
