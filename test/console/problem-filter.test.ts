/**
 * The sparse problem index (gsi3) and `GET /emails?status=`: an email is listed under the worst of
 * failed, bounced, complained once its STATUS item reaches it, and no other email has an entry.
 * Events are applied through the real STATUS write (EmailStatusStore.apply) on dynalite.
 */
import { call, type Handler } from '../support/api';
import { startSendHarness, type SendHarness } from '../send/harness';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import type { LoggedEvent } from '../../lambdas/core/domain/email-state';
import { newId } from '../../lambdas/core/domain/ids';
import { problemOf } from '../../lambdas/core/domain/problem-index';
import { EMPTY_STATE } from '../../lambdas/core/domain/email-state';
import { recipientKey } from '../../lambdas/core/domain/status';

let h: SendHarness;
let handler: Handler;
let acme: { tenantId: string; key: string };
let other: { tenantId: string; key: string };
const sent: string[] = [];

const event = (status: LoggedEvent['status'], to: string, at: string): LoggedEvent => ({
  eventId: newId(), type: `email.${status}` as LoggedEvent['type'], status, sesType: 'x', sesMessageId: 'm', timestamp: at, recipients: [to], details: {},
});

beforeAll(async () => {
  h = await startSendHarness();
  acme = await h.tenant('acme');
  other = await h.tenant('other');
  handler = h.handler();
  for (let i = 0; i < 5; i++) {
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: { from: 'a@acme.test', to: `u${i}@x.io`, subject: `n${i}`, text: 'x' } });
    sent.push(res.body.id);
  }
  const status = new EmailStatusStore(createDb(h.dynamo.doc, h.table));
  const owner = (emailId: string) => ({ emailId, tenantId: acme.tenantId });
  await status.apply(owner(sent[0]!), event('delivered', 'u0@x.io', '2026-11-01T00:00:01.000Z'), 'recipients');
  await status.apply(owner(sent[1]!), event('bounced', 'u1@x.io', '2026-11-01T00:00:02.000Z'), 'recipients');
  await status.apply(owner(sent[2]!), event('bounced', 'u2@x.io', '2026-11-01T00:00:03.000Z'), 'recipients');
  await status.apply(owner(sent[3]!), event('delivered', 'u3@x.io', '2026-11-01T00:00:04.000Z'), 'recipients');
  await status.apply(owner(sent[3]!), event('complained', 'u3@x.io', '2026-11-01T00:00:05.000Z'), 'recipients');
  // A later open does not take a bounced email off the list (a recipient's state keeps its worst).
  await status.apply(owner(sent[2]!), event('opened', 'u2@x.io', '2026-11-01T00:00:06.000Z'), 'recipients');
});
afterAll(() => h.close());

const ids = (body: { data: { id: string }[] }) => body.data.map((e) => e.id);

describe('GET /emails?status=', () => {
  it('lists the bounced emails, newest bounce first, with their status', async () => {
    const res = await call(handler, 'GET', '/emails?status=bounced', { key: acme.key });
    expect(res.status).toBe(200);
    expect(ids(res.body)).toEqual([sent[2], sent[1]]);
    expect(res.body.has_more).toBe(false);
  });

  it('lists a complaint under complained only, and pages by cursor', async () => {
    expect(ids((await call(handler, 'GET', '/emails?status=complained', { key: acme.key })).body)).toEqual([sent[3]]);
    const first = await call(handler, 'GET', '/emails?status=bounced&limit=1', { key: acme.key });
    expect(ids(first.body)).toEqual([sent[2]]);
    expect(first.body.has_more).toBe(true);
    const next = await call(handler, 'GET', `/emails?status=bounced&limit=1&after=${sent[2]}`, { key: acme.key });
    expect(ids(next.body)).toEqual([sent[1]]);
    expect(next.body.has_more).toBe(false);
    const back = await call(handler, 'GET', `/emails?status=bounced&limit=1&before=${sent[1]}`, { key: acme.key });
    expect(ids(back.body)).toEqual([sent[2]]);
  });

  it('writes the index entry only for emails with a problem (sparse)', async () => {
    const entries = (await h.items()).filter((i) => i.gsi3pk !== undefined);
    expect(entries.map((i) => i.pk).sort()).toEqual([sent[1], sent[2], sent[3]].map((id) => `E#${id}`).sort());
    expect(entries.every((i) => i.sk === 'STATUS')).toBe(true);
  });

  it("shows another tenant none of them, and refuses other filters and foreign cursors", async () => {
    expect(ids((await call(handler, 'GET', '/emails?status=bounced', { key: other.key })).body)).toEqual([]);
    const bad = await call(handler, 'GET', '/emails?status=delivered', { key: acme.key });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ name: 'validation_error' });
    const foreign = await call(handler, 'GET', `/emails?status=bounced&after=${sent[1]}`, { key: other.key });
    expect(foreign.status).toBe(422);
  });
});

describe('problemOf', () => {
  it('takes the highest-ranked problem among the recipients and the message', () => {
    const state = { ...EMPTY_STATE, recipients: { a: recipientKey('2026-01-01T00:00:00Z', 'bounced', 'e1'), b: recipientKey('2026-01-02T00:00:00Z', 'delivered', 'e2') } };
    expect(problemOf(state)).toEqual({ status: 'bounced', time: '2026-01-01T00:00:00.000Z' });
    expect(problemOf({ ...EMPTY_STATE, recipients: { b: recipientKey('2026-01-02T00:00:00Z', 'delivered', 'e2') } })).toBeUndefined();
  });
});
