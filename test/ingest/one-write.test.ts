/**
 * The one-write layout: an SES event costs one read and one conditional write of the STATUS item;
 * a tagged event never reads the email or the MessageId map; the item stays small, events that
 * do not fit spill; an untagged event finds its email through the MessageId's index entry; emails
 * of the previous layout keep being read and applied.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDb, expiresAt, itemBytes } from '../../lambdas/core/adapters/dynamo';
import { sendResponseEvent } from '../../lambdas/send/core';
import { EmailStatusStore, MAX_STATUS_BYTES } from '../../lambdas/core/adapters/email-status';
import { EventStore } from '../../lambdas/core/adapters/events';
import { SesSender } from '../../lambdas/core/adapters/ses';
import { fromSesAddress, headerRebuild, parseEmailTag } from '../../lambdas/core/domain/email';
import { parseSendRequest } from '../../lambdas/core/domain/send-request';
import { ingestSnsEvent } from '../../lambdas/ingest/core';
import { emailKey } from '../../lambdas/core/domain/status';
import { simulateSesEvents, toSnsEvent } from '../../lambdas/local/events';
import { startTestDynamo, startTestSes, type TestDynamo, type TestSes } from '../support/services';
import { provisionTestSesTenant, TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { sesTenantName } from '../../lambdas/core/domain/ses-tenants';
import { FIXTURE_TOPIC, sesFixture, snsEvent, withMail } from './fixtures';
import { makeWorld, type World } from './world';

let dynamo: TestDynamo;
let ses: TestSes;
beforeAll(async () => {
  [dynamo, ses] = await Promise.all([startTestDynamo(), startTestSes()]);
  await ses.seedIdentity('example.com', { verified: true });
  await provisionTestSesTenant(ses.client, 'tenant-a', ['example.com']);
});
afterAll(() => Promise.all([dynamo.close(), ses.close()]));

/** A document client that records each request (operation and key) before sending it. */
function recording(doc: DynamoDBDocumentClient): { doc: DynamoDBDocumentClient; calls: string[]; consistent: boolean[] } {
  const calls: string[] = [];
  const consistent: boolean[] = [];
  const wrapped = {
    send: (command: { constructor: { name: string }; input: { Key?: { sk?: string }; Item?: { sk?: string }; IndexName?: string; ConsistentRead?: boolean } }) => {
      calls.push(`${command.constructor.name.replace('Command', '')} ${command.input.Key?.sk ?? command.input.Item?.sk ?? command.input.IndexName ?? ''}`.trim());
      if (command.constructor.name === 'GetCommand') consistent.push(command.input.ConsistentRead === true);
      return (doc.send as (c: unknown) => Promise<unknown>)(command);
    },
  } as unknown as DynamoDBDocumentClient;
  return { doc: wrapped, calls, consistent };
}

/** Sends as the send function does (META, SES, STATUS) and returns SES's events for it. */
async function sendThroughSes(world: World, fields: Record<string, unknown>) {
  const draft = parseSendRequest({ from: 'Acme <hello@example.com>', subject: 'Your receipt', text: 'hi', tags: [{ name: 'kind', value: 'receipt' }], ...fields });
  const createdAt = new Date().toISOString();
  const { id, tenantId } = await world.createEmail({ to: draft.to.map((m) => m.raw), cc: draft.cc.map((m) => m.raw), createdAt, tags: [{ name: 'kind', value: 'receipt' }] });
  const before = ses.sent().length;
  const startedAt = Date.now();
  const messageId = await new SesSender(ses.client).send({ emailId: id, tenantId, tenantName: sesTenantName(TEST_SES_TENANT_PREFIX, tenantId), draft, configurationSet: 'sesame', createdMs: Date.parse(createdAt) });
  await world.status.apply(
    { emailId: id, tenantId, expiresAt: expiresAt(Date.parse(createdAt), 36_500) },
    sendResponseEvent(messageId, startedAt, [...draft.to, ...draft.cc].map((m) => m.address)), 'message', { assumeAbsent: true },
  );
  const sent = ses.sent().slice(before)[0]!;
  const events = simulateSesEvents(sent, { region: 'us-east-1', accountId: '123456789012', stepMs: 1 }).map((e) => e.event);
  return { id, tenantId, messageId, createdAt, draft, events };
}

describe('the email tag', () => {
  it('carries the creation time only when SES\'s headers give back what the customer sent', () => {
    const draft = (fields: Record<string, unknown>) => parseSendRequest({ from: 'Acme <a@example.com>', to: 'b@example.org', subject: 'Hi', text: 'x', ...fields });
    expect(headerRebuild(draft({}))).toEqual({ testAddresses: false });
    expect(headerRebuild(draft({ to: ['delivered@resend.dev', 'x@example.org'] }))).toEqual({ testAddresses: true });
    // A display name on a test address is dropped for the simulator; non-ASCII is encoded by SES.
    expect(headerRebuild(draft({ to: 'Tester <delivered@resend.dev>' }))).toBeUndefined();
    expect(headerRebuild(draft({ subject: 'Reçu' }))).toBeUndefined();
    expect(headerRebuild(draft({ from: 'Zoë <a@example.com>' }))).toBeUndefined();
    // A literal simulator address beside a rewritten one could not be told apart.
    expect(headerRebuild(draft({ to: ['delivered@resend.dev'], cc: ['success@simulator.amazonses.com'] }))).toBeUndefined();
    expect(parseEmailTag('5d0c3a52-1b7e-4f0a-9c6d-8e2f4a1b3c5d_1709287200000_r')).toEqual({ emailId: '5d0c3a52-1b7e-4f0a-9c6d-8e2f4a1b3c5d', createdMs: 1709287200000, testAddresses: true });
    expect(parseEmailTag('5d0c3a52-1b7e-4f0a-9c6d-8e2f4a1b3c5d')).toEqual({ emailId: '5d0c3a52-1b7e-4f0a-9c6d-8e2f4a1b3c5d' });
    expect(parseEmailTag('not-an-id_1')).toBeUndefined();
    expect(fromSesAddress('bounce+x@simulator.amazonses.com')).toBe('bounced+x@resend.dev');
  });
});

describe('one write per SES event', () => {
  it('applies a tagged event with one STATUS read and one write, never reading the email, with the webhook fields the email has', async () => {
    const world = await makeWorld(dynamo);
    const { id, events, createdAt } = await sendThroughSes(world, { to: ['delivered@resend.dev'] });
    const rec = recording(dynamo.doc);
    const deps = { ...world.deps, events: new EventStore(createDb(rec.doc, world.table)), status: new EmailStatusStore(createDb(rec.doc, world.table)) };

    for (const event of events) await ingestSnsEvent(deps, toSnsEvent(event, FIXTURE_TOPIC, 'sub'));

    // Send (found applied: the send recorded it) reads only; each Delivery reads and writes STATUS once.
    const deliveries = events.filter((e) => e.eventType === 'Delivery').length;
    expect(rec.calls).toEqual(['Get STATUS', ...Array.from({ length: deliveries }, () => ['Get STATUS', 'Put STATUS']).flat()]);
    expect(rec.consistent).toEqual(rec.calls.filter((c) => c.startsWith('Get')).map(() => false));
    expect(world.fanned.map((e) => e.email)).toEqual(world.fanned.map(() => ({
      email_id: id, from: 'Acme <hello@example.com>', to: ['delivered@resend.dev'], subject: 'Your receipt', created_at: createdAt, tags: { kind: 'receipt' },
    })));
    const view = await world.view(id);
    expect(Object.fromEntries(Object.entries(view.recipients).map(([a, [s]]) => [a, s]))).toEqual({
      'delivered@resend.dev': 'delivered',
    });

  });

  it('reads STATUS eventually consistently first: a stale read only loses the race and reads again, consistently', async () => {
    const world = await makeWorld(dynamo);
    const { id, events } = await sendThroughSes(world, { to: ['delivered@resend.dev'] });
    // An eventually consistent read that has not seen STATUS yet (as just after the send wrote it).
    const reads: (boolean | undefined)[] = [];
    const stale = {
      send: (command: { input: { Key?: { sk?: string }; ConsistentRead?: boolean } }) => {
        if (command instanceof GetCommand && command.input.Key?.sk === 'STATUS') {
          reads.push(command.input.ConsistentRead);
          if (command.input.ConsistentRead !== true) return Promise.resolve({});
        }
        return (dynamo.doc.send as (c: unknown) => Promise<unknown>)(command);
      },
    } as unknown as DynamoDBDocumentClient;
    const deps = { ...world.deps, status: new EmailStatusStore(createDb(stale, world.table)) };
    const outcomes = [];
    for (const event of events) outcomes.push(...(await ingestSnsEvent(deps, toSnsEvent(event, FIXTURE_TOPIC, 'sub'))));

    // The Send event, read stale, tries to write, loses to the send's STATUS, reads it and finds itself applied.
    expect(outcomes).toEqual(['duplicate', 'applied']);
    expect(reads).toEqual([false, true, false, true]);
    const view = await world.view(id);
    expect(view.recipients['delivered@resend.dev']![0]).toBe('delivered');
    expect(view.events.map((e) => e.type)).toEqual(['email.sent', 'email.delivered']);
  });

  it('rebuilds display names and test addresses from SES\'s headers as the customer wrote them', async () => {
    const world = await makeWorld(dynamo);
    const rec = recording(dynamo.doc);
    const deps = { ...world.deps, events: new EventStore(createDb(rec.doc, world.table)) };
    const { id, events } = await sendThroughSes(world, { to: ['Bob Smith <bob@example.org>', 'bounced+x@resend.dev'], cc: ['Carol <carol@example.org>'] });
    for (const event of events) await ingestSnsEvent(deps, toSnsEvent(event, FIXTURE_TOPIC, 'sub'));
    expect(rec.calls).toEqual([]);
    expect(new Set(world.fanned.map((e) => JSON.stringify(e.email.to)))).toEqual(new Set([JSON.stringify(['Bob Smith <bob@example.org>', 'bounced+x@resend.dev'])]));
    const view = await world.view(id);
    expect(Object.fromEntries(Object.entries(view.recipients).map(([a, [s]]) => [a, s]))).toEqual({
      'bob@example.org': 'delivered', 'bounced+x@resend.dev': 'bounced', 'carol@example.org': 'delivered',
    });
  });

  it('keeps STATUS under 1 KB: events that do not fit spill to their own items, and the log lists them all', async () => {
    const world = await makeWorld(dynamo);
    const { id, messageId, tenantId } = await sendThroughSes(world, { to: ['bob@example.org'] });
    const opens = Array.from({ length: 12 }, (_, i) => {
      const open = withMail(sesFixture('open'), { messageId, emailId: id, tenantId });
      open.open.timestamp = new Date(Date.parse('2030-01-01T00:00:00.000Z') + i * 1000).toISOString();
      return open;
    });
    for (const open of opens) await ingestSnsEvent(world.deps, snsEvent(open));

    const [status] = await world.itemsOf(id, 'STATUS');
    expect(itemBytes(status!)).toBeLessThanOrEqual(MAX_STATUS_BYTES);
    expect((await world.itemsOf(id, 'EV#')).length).toBeGreaterThan(0);
    const view = await world.view(id);
    expect(view.events.map((e) => e.type)).toEqual(['email.sent', ...opens.map(() => 'email.opened')]);
    expect(view.lastEvent).toBe('opened');
  });

  it('finds the email of an untagged event through its MessageId\'s index entry (no map item written)', async () => {
    const world = await makeWorld(dynamo);
    const { id, messageId } = await sendThroughSes(world, { to: ['bob@example.org'] });
    const { Item } = await dynamo.doc.send(new GetCommand({ TableName: world.table, Key: { pk: `M#${messageId}`, sk: 'MSG' } }));
    expect(Item).toBeUndefined();
    const bounce = withMail(sesFixture('identity-notifications/bounce-without-dsn'), { messageId, destination: ['bob@example.org'] });
    bounce.bounce.bouncedRecipients = [{ emailAddress: 'bob@example.org' }];
    bounce.bounce.timestamp = new Date(Date.now() + 60_000).toISOString();
    await expect(ingestSnsEvent(world.deps, snsEvent(bounce))).resolves.toEqual(['applied']);
    expect((await world.view(id)).lastEvent).toBe('bounced');
  });
});

describe('emails of the previous layout', () => {
  it('are still applied the previous way, found by their MessageId map, and their log reads the same', async () => {
    const world = await makeWorld(dynamo);
    const id = '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a';
    const messageId = 'legacy-message-1';
    const put = (Item: Record<string, unknown>) => dynamo.doc.send(new PutCommand({ TableName: world.table, Item }));
    // As the previous send wrote them: META without the sending mark, STATUS without a version, the M# map.
    await put({ pk: `E#${id}`, sk: 'META', kind: 'email', email_id: id, tenant_id: 'tenant-a', from: 'a@example.com', to: ['bob@example.org'], cc: [], bcc: [], reply_to: [], subject: 'Old', tags: [], created_at: '2016-01-01T00:00:00.000Z' });
    await put({ pk: `E#${id}`, sk: 'STATUS', last_event: 'sent', last_key: '2016-01-01T00:00:00.000Z#10#send-response', message_id: messageId, tenant_id: 'tenant-a' });
    await put({ pk: `M#${messageId}`, sk: 'MSG', kind: 'ses_message', email_id: id, tenant_id: 'tenant-a' });

    const delivery = withMail(sesFixture('identity-notifications/delivery'), { messageId, destination: ['bob@example.org'] });
    delivery.delivery.recipients = ['bob@example.org'];
    await expect(ingestSnsEvent(world.deps, snsEvent(delivery))).resolves.toEqual(['applied']);
    await expect(ingestSnsEvent(world.deps, snsEvent(delivery))).resolves.toEqual(['duplicate']);

    expect((await world.itemsOf(id, 'R#')).map((r) => r.status)).toEqual(['delivered']);
    const view = await world.view(id);
    expect(view.lastEvent).toBe('delivered');
    expect(view.events.map((e) => e.type)).toEqual(['email.delivered']);
    expect(world.fanned).toHaveLength(1);
  });
});

describe('the STATUS item keeps nothing it gives back otherwise', () => {
  it('a delivered email: no kind, no message_id beside gsi2pk, no id its event implies, no recipients the first entry has, no last_key the log gives, no empty list or details', async () => {
    const world = await makeWorld(dynamo);
    const { id, messageId, events } = await sendThroughSes(world, { to: ['delivered@resend.dev'] });
    for (const event of events) await ingestSnsEvent(world.deps, toSnsEvent(event, FIXTURE_TOPIC, 'sub'));

    const [status] = await world.itemsOf(id, 'STATUS');
    expect(Object.keys(status!).sort()).toEqual(['expires_at', 'gsi2pk', 'gsi2sk', 'last_event', 'lg', 'pk', 'rc', 'sk', 'tenant_id', 'v']);
    expect(status!.gsi2pk).toBe(`M#${messageId}`);
    expect(status!.lg).toEqual([
      { y: 'email.sent', t: expect.any(String), r: ['delivered@resend.dev'] },
      { y: 'email.delivered', t: expect.any(String), d: { delivery: expect.any(Object) } },
    ]);
    // In the layout before (kind, message_id, last_key, sp, ids, recipients, empty details) about 270 bytes more: above 750.
    expect(itemBytes(status!)).toBeLessThanOrEqual(500);

    // What it leaves out reads back: the MessageId, the events' ids and recipients, the last key.
    const { state } = await world.status.read(id);
    const fanned = world.fanned.filter((e) => e.emailId === id);
    expect(state.messageId).toBe(messageId);
    expect(state.log.map((e) => [e.eventId, e.recipients])).toEqual(fanned.map((e) => [e.eventId, ['delivered@resend.dev']]));
    const delivered = state.log[1]!;
    expect(state.lastKey).toBe(emailKey(delivered.timestamp, 'delivered', delivered.eventId));
    expect(await world.emails.sentMessageId(id)).toBe(messageId);
    // Redelivered, each event is found applied (its implied id matches).
    for (const event of events) await expect(ingestSnsEvent(world.deps, toSnsEvent(event, FIXTURE_TOPIC, 'sub'))).resolves.toEqual(['duplicate']);
  });

  it('keeps the id of an event whose recipients are not the ones SES reported, and the last key when its event is spilled', async () => {
    const world = await makeWorld(dynamo);
    const { id, messageId, tenantId } = await sendThroughSes(world, { to: ['bob@example.org'] });
    const opens = Array.from({ length: 16 }, (_, i) => {
      const open = withMail(sesFixture('open'), { messageId, emailId: id, tenantId });
      open.open.timestamp = new Date(Date.parse('2030-01-01T00:00:00.000Z') + i * 1000).toISOString();
      return open;
    });
    for (const open of opens) await ingestSnsEvent(world.deps, snsEvent(open));
    const [status] = await world.itemsOf(id, 'STATUS');
    // Sixteen events: the spilled ids grow the item, the newest inline events spill too, the item stays one write unit.
    expect(itemBytes(status!)).toBeLessThanOrEqual(MAX_STATUS_BYTES);
    expect((status!.lg as Record<string, unknown>[])[0]).toMatchObject({ y: 'email.sent' });
    expect(status!.last_key).toBe(emailKey(opens.at(-1)!.open.timestamp, 'opened', (await world.view(id)).events.at(-1)!.eventId));
    const view = await world.view(id);
    expect(view.events.map((e) => e.type)).toEqual(['email.sent', ...opens.map(() => 'email.opened')]);
    // Opens are not among the types whose id the log implies: each inline open keeps its id.
    expect((status!.lg as Record<string, unknown>[]).slice(1).every((e) => typeof e.i === 'string')).toBe(true);
  });

  it('reads and updates a STATUS item written before the trim (kind, message_id, last_key, ids, recipients, empty lists)', async () => {
    const world = await makeWorld(dynamo);
    const { id, tenantId } = await world.createEmail({ to: ['bob@example.org'] });
    const messageId = 'pre-trim-message-1';
    const sendId = 'a1b2c3d4-0000-8000-8000-000000000001';
    const sentAt = '2030-01-01T00:00:00.000Z';
    await dynamo.doc.send(new PutCommand({
      TableName: world.table,
      Item: {
        pk: `E#${id}`, sk: 'STATUS', kind: 'email_status', v: 1, tenant_id: tenantId, last_event: 'sent', last_key: `${sentAt}#10#${sendId}`,
        message_id: messageId, gsi2pk: `M#${messageId}`, gsi2sk: 'MSG', rc: {},
        lg: [{ i: sendId, y: 'email.sent', t: sentAt, r: ['bob@example.org'], d: {} }], sp: [],
      },
    }));
    expect(await world.emails.sentMessageId(id)).toBe(messageId);
    const before = await world.status.read(id);
    expect(before.state).toMatchObject({ messageId, lastEvent: 'sent', lastKey: `${sentAt}#10#${sendId}`, spilled: [] });
    expect(before.state.log).toEqual([{ eventId: sendId, type: 'email.sent', status: 'sent', sesType: 'Send', sesMessageId: messageId, timestamp: sentAt, recipients: ['bob@example.org'], details: {} }]);

    const delivery = withMail(sesFixture('delivery'), { messageId, emailId: id, tenantId, destination: ['bob@example.org'] });
    delivery.delivery.recipients = ['bob@example.org'];
    delivery.delivery.timestamp = '2030-01-01T00:00:01.000Z';
    await expect(ingestSnsEvent(world.deps, snsEvent(delivery))).resolves.toEqual(['applied']);
    const view = await world.view(id);
    expect(view).toMatchObject({ lastEvent: 'delivered', messageId, tenantId });
    expect(view.events.map((e) => [e.type, e.eventId])).toEqual([['email.sent', sendId], ['email.delivered', world.fanned.at(-1)!.eventId]]);
    // Written again in the current layout: the Send entry keeps its id (not the one its MessageId implies).
    const [status] = await world.itemsOf(id, 'STATUS');
    expect(status).not.toHaveProperty('kind');
    expect(status).not.toHaveProperty('message_id');
    expect((status!.lg as Record<string, unknown>[])[0]).toEqual({ i: sendId, y: 'email.sent', t: sentAt, r: ['bob@example.org'] });
  });
});
