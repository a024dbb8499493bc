/**
 * The official `resend` SDK against local mode, started as `npm start` starts it.
 */
import { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { anotherTenant, sdkFor, tempDataDir } from '../support/e2e';

jest.setTimeout(120_000);

const dataDir = tempDataDir('e2e');
let local: RunningLocal;
let resend: Resend;

beforeAll(async () => {
  local = await startLocalMode({ dataDir, apiKey: 're_e2e_test_key_0001', domain: 'e2e.test' });
  resend = sdkFor(local);
});
afterAll(() => local?.stop());

describe('the resend SDK against npm start', () => {
  let sentId: string;

  it('sends an email and reads it back in Resend\'s shape', async () => {
    const sent = await resend.emails.send({ from: 'E2E <hello@e2e.test>', to: ['delivered@resend.dev'], subject: 'Hello', html: '<b>Hi</b>', text: 'Hi', tags: [{ name: 'kind', value: 'e2e' }] });
    expect(sent.error).toBeNull();
    sentId = sent.data!.id;
    const got = await resend.emails.get(sentId);
    expect(got.error).toBeNull();
    expect(got.data).toMatchObject({ object: 'email', id: sentId, from: 'E2E <hello@e2e.test>', to: ['delivered@resend.dev'], subject: 'Hello', html: '<b>Hi</b>', text: 'Hi' });
    expect(['sent', 'delivered']).toContain(got.data!.last_event);
  });

  it('batch-sends and lists', async () => {
    const batch = await resend.batch.send([
      { from: 'hello@e2e.test', to: 'a@example.org', subject: 'One', text: '1' },
      { from: 'hello@e2e.test', to: 'b@example.org', subject: 'Two', text: '2' },
    ]);
    expect(batch.error).toBeNull();
    expect(batch.data!.data).toHaveLength(2);
    const list = await resend.emails.list({ limit: 3 });
    expect(list.error).toBeNull();
    const listed = list.data!.data.map((e) => e.id);
    // The batch's two emails are the newest (created together, in either order), then the first email.
    expect(new Set(listed.slice(0, 2))).toEqual(new Set(batch.data!.data.map((d) => d.id)));
    expect(listed[2]).toBe(sentId);
  });

  it('returns Resend\'s error shape for bad input', async () => {
    const bad = await resend.emails.send({ from: 'hello@e2e.test', to: 'not-an-address', subject: 'x', text: 'x' });
    expect(bad.data).toBeNull();
    expect(bad.error).toMatchObject({ statusCode: 422, name: 'validation_error' });
    const foreign = await resend.emails.send({ from: 'hello@elsewhere.test', to: 'a@example.org', subject: 'x', text: 'x' });
    expect(foreign.error).toMatchObject({ statusCode: 403, name: 'validation_error' });
  });

  it('keeps a second tenant made with npx sesame away from the first one\'s emails', async () => {
    const { resend: other } = await anotherTenant(local, 'other', { npx: true });
    const read = await other.emails.get(sentId);
    expect(read.error).toMatchObject({ statusCode: 404, name: 'not_found' });
    expect((await other.emails.list()).data!.data).toEqual([]);
  });

  it('keeps emails across a restart on the same data folder', async () => {
    expect(await local.stop()).toBe(0);
    local = await startLocalMode({ dataDir, domain: 'e2e.test' });
    // The key seeded by the first start is still in the store, whatever key this start printed.
    const again = new Resend('re_e2e_test_key_0001', { baseUrl: local.apiUrl });
    const got = await again.emails.get(sentId);
    expect(got.data?.id).toBe(sentId);
  });
});
