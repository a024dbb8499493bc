import { call, type Handler } from '../support/api';
import { startSendHarness, type SendHarness } from './harness';
import { EMAIL_LIST_SHARDS } from '../../lambdas/core/table';

let h: SendHarness;
let handler: Handler;
let acme: { tenantId: string; key: string };
let newestFirst: string[];

beforeAll(async () => {
  h = await startSendHarness();
  acme = await h.tenant('acme');
  // A clock that moves a second per email, so creation order is unambiguous.
  let t = Date.parse('2026-11-01T00:00:00Z');
  handler = h.handler({ now: () => t });
  const ids: string[] = [];
  for (let i = 0; i < 25; i++) {
    t += 1000;
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: { from: 'a@acme.test', to: `u${i}@x.io`, subject: `n${i}`, text: 'x' } });
    ids.push(res.body.id);
  }
  newestFirst = ids.reverse();
  handler = h.handler({ now: () => Date.parse('2026-11-02T00:00:00Z') });
});
afterAll(() => h.close());

const ids = (body: { data: { id: string }[] }) => body.data.map((e) => e.id);

describe('GET /emails', () => {
  it('lists newest first with a default of 20', async () => {
    const res = await call(handler, 'GET', '/emails', { key: acme.key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'list', has_more: true });
    expect(ids(res.body)).toEqual(newestFirst.slice(0, 20));
    expect(res.body.data[0]).toMatchObject({ object: 'email', subject: 'n24', last_event: 'sent' });
    expect(res.body.data[0].html).toBeUndefined();
  });

  it('pages forward with after and back with before', async () => {
    const first = await call(handler, 'GET', '/emails?limit=10', { key: acme.key });
    const second = await call(handler, 'GET', `/emails?limit=10&after=${newestFirst[9]}`, { key: acme.key });
    const third = await call(handler, 'GET', `/emails?limit=10&after=${newestFirst[19]}`, { key: acme.key });
    expect(ids(first.body)).toEqual(newestFirst.slice(0, 10));
    expect(ids(second.body)).toEqual(newestFirst.slice(10, 20));
    expect(ids(third.body)).toEqual(newestFirst.slice(20));
    expect([first.body.has_more, second.body.has_more, third.body.has_more]).toEqual([true, true, false]);

    const back = await call(handler, 'GET', `/emails?limit=10&before=${newestFirst[20]}`, { key: acme.key });
    expect(ids(back.body)).toEqual(newestFirst.slice(10, 20));
    expect(back.body.has_more).toBe(true);
    const top = await call(handler, 'GET', `/emails?limit=10&before=${newestFirst[5]}`, { key: acme.key });
    expect(ids(top.body)).toEqual(newestFirst.slice(0, 5));
    expect(top.body.has_more).toBe(false);
  });

  it('spreads a tenant over several index partitions', async () => {
    const shards = new Set((await h.items()).filter((i) => i.sk === 'META').map((i) => i.gsi2pk));
    expect(shards.size).toBeGreaterThan(1);
    expect(shards.size).toBeLessThanOrEqual(EMAIL_LIST_SHARDS);
  });

  it('drops emails past retention', async () => {
    const later = h.handler({ now: () => Date.parse('2026-11-01T00:00:00Z') + 30 * 86_400_000 + 11_500 });
    const res = await call(later, 'GET', '/emails?limit=100', { key: acme.key });
    // Created at 1 s .. 25 s; 30 days and 11.5 s later, the first eleven are gone.
    expect(ids(res.body)).toEqual(newestFirst.slice(0, 14));
  });

  it.each(['0', '101', 'ten', '-1', '1.5'])('refuses limit=%s with 422', async (limit) => {
    const res = await call(handler, 'GET', `/emails?limit=${limit}`, { key: acme.key });
    expect([res.status, res.body.name]).toEqual([422, 'validation_error']);
  });

  it('refuses a cursor that is not one of the tenant\'s emails, and both cursors at once', async () => {
    expect((await call(handler, 'GET', '/emails?after=nope', { key: acme.key })).status).toBe(422);
    expect((await call(handler, 'GET', '/emails?after=0b7f3c1e-8d8e-4c1f-9d6e-2f1a3b4c5d6e', { key: acme.key })).status).toBe(422);
    expect((await call(handler, 'GET', `/emails?after=${newestFirst[1]}&before=${newestFirst[3]}`, { key: acme.key })).status).toBe(422);
  });
});
