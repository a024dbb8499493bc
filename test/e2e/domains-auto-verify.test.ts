/**
 * Automatic verification end to end, through the resend SDK against local mode: a domain is added
 * and never verified by hand; local SES finds its records after SESAME_LOCAL_VERIFY_DELAY_SECONDS,
 * the local verifier (the EventBridge schedule's stand-in) sees it, and a signed domain.updated
 * reaches the endpoint. The domain then reads verified and sends.
 */
import type { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { type ReceivedRequest, type Receiver, sdkFor, startReceiver, tempDataDir, waitFor } from '../support/e2e';
import { resendSchemaErrors } from '../support/resend-schema';

jest.setTimeout(120_000);

let local: RunningLocal;
let resend: Resend;
let receiver: Receiver;
let receiverUrl: string;
let hits: ReceivedRequest[];

beforeAll(async () => {
  local = await startLocalMode({
    dataDir: tempDataDir('autoverify'), domain: 'seeded.test',
    extraEnv: { SESAME_LOCAL_VERIFY_DELAY_SECONDS: '2', SESAME_DOMAIN_CHECK_BASE_SECONDS: '1' },
  });
  resend = sdkFor(local);
  receiver = await startReceiver('/domains');
  ({ url: receiverUrl, received: hits } = receiver);
});
afterAll(async () => {
  await local?.stop();
  await receiver?.close();
});

it('verifies a domain on its own and says so with a signed domain.updated', async () => {
  // Prepare
  const hook = await resend.webhooks.create({ endpoint: receiverUrl, events: ['domain.created', 'domain.updated'] });
  expect(hook.error).toBeNull();
  // Act: add the domain, and do not call verify
  const created = await resend.domains.create({ name: 'auto-e2e.com' });
  expect(created.data).toMatchObject({ status: 'pending' });
  const early = await resend.emails.send({ from: 'hi@auto-e2e.com', to: 'delivered@resend.dev', subject: 'x', text: 'x' });
  await waitFor(() => hits.some((h) => h.body.includes('"domain.updated"')));
  // Assess: signed, in Resend's shape, saying verified
  expect(early.error).toMatchObject({ statusCode: 403 });
  const events = hits.map((h) =>
    resend.webhooks.verify({ payload: h.body, headers: { id: h.headers['webhook-id']!, timestamp: h.headers['webhook-timestamp']!, signature: h.headers['webhook-signature']! }, webhookSecret: hook.data!.signing_secret }) as unknown as { type: string; data: { id: string; status: string } },
  );
  expect(events.map((e) => e.type)).toEqual(['domain.created', 'domain.updated']);
  expect(events[1]!.data).toMatchObject({ id: created.data!.id, status: 'verified' });
  expect(resendSchemaErrors('DomainUpdatedEvent', events[1])).toEqual([]);
  const got = await resend.domains.get(created.data!.id);
  expect(got.data).toMatchObject({ status: 'verified' });
  const sent = await resend.emails.send({ from: 'hi@auto-e2e.com', to: 'delivered@resend.dev', subject: 'x', text: 'x' });
  expect(sent.error).toBeNull();
});
