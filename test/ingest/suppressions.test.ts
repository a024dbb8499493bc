/**
 * Ingest's hook into the suppressions list: a hard bounce or a complaint, which SES answers by
 * putting the address on the tenant's SES list, adds the entry Resend's API shows (origin, the
 * email that caused it), once; anything else adds nothing.
 */
import { SuppressionStore } from '../../lambdas/core/adapters/suppressions';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { sesFixture, snsEvent, withMail } from './fixtures';
import { makeWorld } from './world';

let dynamo: TestDynamo;
beforeAll(async () => {
  dynamo = await startTestDynamo();
});
afterAll(() => dynamo.close());

async function applied(fixture: string, mutate: (ses: Record<string, any>) => void = () => undefined) { // eslint-disable-line @typescript-eslint/no-explicit-any
  const world = await makeWorld(dynamo);
  const ses = structuredClone(sesFixture(fixture));
  mutate(ses);
  const { id, tenantId } = await world.createEmail({ to: ses.mail.destination, sesMessageId: ses.mail.messageId });
  const event = snsEvent(withMail(ses, { emailId: id, tenantId }));
  await world.handler(event);
  const store = new SuppressionStore(world.db);
  return { world, store, id, tenantId, event };
}

describe('ingest adds suppressions', () => {
  it('adds a hard-bounced address once, origin bounce, with the email that bounced, in the case SES reported it', async () => {
    const { world, store, id, tenantId, event } = await applied('bounce-permanent-general', (ses) => {
      ses.bounce.bouncedRecipients[0].emailAddress = 'Recipient@Example.com';
    });
    await world.handler(event); // SNS delivers again: still one entry

    const entry = await store.byAddress(tenantId, 'recipient@example.com');
    expect(entry).toMatchObject({ email: 'Recipient@Example.com', origin: 'bounce', sourceId: id, complete: true });
    const page = await store.list(tenantId, { limit: 10 });
    expect(page.data.map((s) => s.id)).toEqual([entry!.id]);
    expect(await store.byAddress('tenant-b', 'recipient@example.com')).toBeUndefined();
  });

  it('adds a complained address with origin complaint', async () => {
    const { store, id, tenantId } = await applied('complaint-with-feedback-report');
    const page = await store.list(tenantId, { limit: 10, origin: 'complaint' });
    expect(page.data).toEqual([expect.objectContaining({ origin: 'complaint', sourceId: id })]);
  });

  it.each([
    ['a transient bounce', 'bounce-transient-general', () => undefined],
    ['a bounce because the address was already on a list', 'bounce-permanent-suppressed', () => undefined],
    ['a complaint SES made for an address already on a list', 'complaint-onaccountsuppressionlist', () => undefined],
    ['a delivery', 'delivery', () => undefined],
    ['a bounce of the mailbox simulator', 'bounce-permanent-general', (ses: Record<string, any>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      ses.bounce.bouncedRecipients[0].emailAddress = 'bounce@simulator.amazonses.com';
      ses.mail.destination = ['bounce@simulator.amazonses.com'];
    }],
  ])('adds nothing for %s', async (_what, fixture, mutate) => {
    const { store, tenantId } = await applied(fixture, mutate);
    expect((await store.list(tenantId, { limit: 10 })).data).toEqual([]);
  });
});
