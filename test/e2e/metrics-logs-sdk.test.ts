/**
 * `resend.emails.metrics` and `resend.logs.list/get` against local mode: counts match what was
 * sent and what the (simulated) SES reported, in two time zones; logs show the SDK's requests with
 * secrets removed, and another tenant sees none of them.
 */
import type { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { anotherTenant, sdkFor, tempDataDir } from '../support/e2e';

jest.setTimeout(120_000);

let local: RunningLocal;
let resend: Resend;
let other: Resend;
const sent: { id: string; to: string }[] = [];

/** The last status each test address ends in (a complaint follows the delivery). */
const finalStatus = (to: string) => (to.startsWith('bounced') ? 'bounced' : to.startsWith('complained') ? 'complained' : 'delivered');

beforeAll(async () => {
  local = await startLocalMode({ dataDir: tempDataDir('metrics'), domain: 'ml.test' });
  resend = sdkFor(local);
  ({ resend: other } = await anotherTenant(local, 'other'));

  // 3 delivered, 2 bounced, 1 complained (delivered first, then complained of).
  for (const to of ['delivered@resend.dev', 'delivered+2@resend.dev', 'bounced@resend.dev', 'complained@resend.dev']) {
    const res = await resend.emails.send({ from: 'hello@ml.test', to, subject: 'Hi', text: 'hi' });
    expect(res.error).toBeNull();
    sent.push({ id: res.data!.id, to });
  }
  const batch = await resend.batch.send([
    { from: 'hello@ml.test', to: 'delivered+3@resend.dev', subject: 'One', text: '1' },
    { from: 'hello@ml.test', to: 'bounced+2@resend.dev', subject: 'Two', text: '2' },
  ]);
  expect(batch.error).toBeNull();
  sent.push(...batch.data!.data.map((d, i) => ({ id: d.id, to: i === 0 ? 'delivered+3@resend.dev' : 'bounced+2@resend.dev' })));
  // Until SES (simulated) has reported every outcome.
  for (const { id, to } of sent) {
    for (let i = 0; ; i++) {
      const got = await resend.emails.get(id);
      if (got.data!.last_event === finalStatus(to)) break;
      if (i > 300) throw new Error(`email ${id} stayed ${got.data!.last_event}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
afterAll(() => local?.stop());

it('answers metrics matching what was sent and reported, per day in two time zones', async () => {
  const expected = { sent: 6, delivered: 4, bounced: 2, bounced_permanent: 2, complained: 1, opened: 0, unique_opened: 0 };
  const metrics = Object.keys(expected) as (keyof typeof expected)[];
  // UTC, and a fixed UTC+9 zone (no daylight saving: its midnight is 15:00Z every day).
  for (const [timezone, midnight] of [['UTC', 'T00:00:00.000Z'], ['Etc/GMT-9', 'T15:00:00.000Z']] as const) {
    const res = await resend.emails.metrics({ timezone, dimensions: ['period'], metrics });
    expect(res.error).toBeNull();
    expect(res.data).toMatchObject({ object: 'metrics', granularity: 'daily', dimensions: ['period'], metrics, totals: expected });
    const rows = res.data!.data!;
    expect(rows.length).toBeGreaterThanOrEqual(7);
    for (const m of metrics) expect(rows.reduce((n, r) => n + (r[m] ?? 0), 0)).toBe(expected[m]);
    // Every day with counts starts at that zone's midnight.
    for (const row of rows.filter((r) => (r.sent ?? 0) > 0)) expect(row.period!.slice(10)).toBe(midnight);
  }
  const theirs = await other.emails.metrics({ metrics: ['sent'] });
  expect(theirs.data!.totals).toEqual({ sent: 0 });
});

it('lists and shows the SDK\'s requests as logs, newest first, to their tenant only', async () => {
  const listed = await resend.logs.list({ limit: 100 });
  expect(listed.error).toBeNull();
  const posts = listed.data!.data.filter((l) => l.method === 'POST' && l.endpoint === '/emails');
  expect(posts).toHaveLength(4);
  expect(posts[0]).toMatchObject({ response_status: 200, user_agent: expect.stringMatching(/^resend-node:/) });
  const times = listed.data!.data.map((l) => l.created_at);
  expect([...times].sort().reverse()).toEqual(times);

  const one = await resend.logs.get(posts.at(-1)!.id);
  expect(one.error).toBeNull();
  expect(one.data).toMatchObject({
    object: 'log', id: posts.at(-1)!.id, method: 'POST', endpoint: '/emails',
    request_body: { from: 'hello@ml.test', to: 'delivered@resend.dev', subject: 'Hi' },
    response_body: { id: sent[0]!.id },
  });
  expect(JSON.stringify(one.data)).not.toContain(local.apiKey);

  // The other tenant sees its own requests (its GET /emails/metrics above), none of these.
  const theirs = (await other.logs.list({ limit: 100 })).data!.data;
  expect(theirs.map((l) => l.endpoint)).toEqual(['/emails/metrics']);
  expect(theirs.some((l) => listed.data!.data.some((m) => m.id === l.id))).toBe(false);
  expect((await other.logs.get(posts[0]!.id)).error).toMatchObject({ statusCode: 404 });
});
