/**
 * A send is made once, whatever fails around SendEmail: the SDK does not retry SendEmail, the
 * email is marked `sending` before it, only SES's refusal frees it, the MessageId comes from
 * SendEmail's answer or from the Send event, and a keyed retry of an unconfirmed send waits W.
 * Against the local SES server and dynalite; the crashes are adapters that throw around the real
 * SES call, and an HTTP server that accepts a SendEmail and drops the connection unanswered.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import { EventStore } from '../../lambdas/core/adapters/events';
import { SuppressionStore } from '../../lambdas/core/adapters/suppressions';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { SendUnconfirmedError, SesSender, sendingClient } from '../../lambdas/core/adapters/ses';
import { sesClient, sesSendClient } from '../../lambdas/core/clients';
import { parseSendRequest } from '../../lambdas/core/domain/send-request';
import { silentLogger } from '../../lambdas/core/log';
import { ingestSnsEvent, type IngestDeps } from '../../lambdas/ingest/core';
import { simulateSesEvents, toSnsEvent } from '../../lambdas/local/events';
import { call, type Handler } from '../support/api';
import { localClientConfig } from '../support/services';
import { startSendHarness, type SendHarness } from './harness';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
const W = 15 * 60_000;

let h: SendHarness;
let acme: { tenantId: string; key: string; domain: string };
beforeAll(async () => {
  h = await startSendHarness();
  acme = await h.tenant('once');
});
afterAll(() => h.close());

const email = (subject: string) => ({ from: `Acme <hello@${acme.domain}>`, to: 'user@example.org', subject, text: 'Hi' });

/** An SES endpoint that reads each request to its end, counts it, and closes the connection unanswered. */
async function droppingSes(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.socket?.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The ingest core on the harness's table, with its webhooks collected. */
function ingestOn(): IngestDeps & { fanned: string[] } {
  const db = createDb(h.dynamo.doc, h.table);
  const fanned: string[] = [];
  return {
    events: new EventStore(db), status: new EmailStatusStore(db), suppressions: new SuppressionStore(db), fanned,
    fanOut: { fanOut: async (e) => void fanned.push(e.type) },
    topicArn: TOPIC, retentionDays: 30, now: Date.now, log: silentLogger,
  };
}

const sesSends = (subject: string) => h.ses.sent().filter((s) => s.request.Content?.Simple?.Subject?.Data === subject);

describe('SendEmail is made once: Sesame decides about retries, not the SDK', () => {
  it('makes one attempt when the connection drops before SES answers, and says the outcome is unknown', async () => {
    const ses = await droppingSes();
    try {
      const sender = new SesSender(sendingClient(localClientConfig(ses.url)));
      const draft = parseSendRequest(email('dropped'));
      await expect(sender.send({ emailId: '6f1c2d3e-4a5b-4c6d-8e7f-0a1b2c3d4e5f', tenantId: 't', tenantName: 'test-t', draft, configurationSet: 'sesame', createdMs: Date.now() }))
        .rejects.toBeInstanceOf(SendUnconfirmedError);
      expect(ses.requests()).toBe(1);
    } finally {
      await ses.close();
    }
  });

  it('builds the send function\'s SES client with one attempt, and leaves the other SES client\'s retries alone', async () => {
    expect(await sesSendClient().config.maxAttempts()).toBe(1);
    expect(await sesClient().config.maxAttempts()).toBe(3);
  });

  it('answers a generic 500 for a lost answer and keeps the email, queued, for its Send event', async () => {
    const ses = await droppingSes();
    try {
      const handler = h.handler({ sender: () => new SesSender(sendingClient(localClientConfig(ses.url))) });
      const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email('lost answer'), headers: { 'Idempotency-Key': 'lost-1' } });
      expect(res.body).toEqual({ statusCode: 500, name: 'internal_server_error', message: 'An unexpected error occurred.' });
      expect(ses.requests()).toBe(1);
      const listed = await call(handler, 'GET', '/emails?limit=100', { key: acme.key });
      expect(listed.body.data.find((e: { subject: string }) => e.subject === 'lost answer')).toMatchObject({ last_event: 'queued' });
    } finally {
      await ses.close();
    }
  });
});

describe('the sending mark: only a refusal frees the email', () => {
  it('marks the email sending (shown as queued) before SendEmail', async () => {
    let seen: unknown;
    let handler: Handler;
    handler = h.handler({
      sender: (real) => ({
        send: async (e) => {
          seen = (await call(handler, 'GET', `/emails/${e.emailId}`, { key: acme.key })).body;
          return real.send(e);
        },
      }),
    });
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email('marked') });
    expect(res.status).toBe(200);
    expect(seen).toMatchObject({ id: res.body.id, last_event: 'queued', message_id: null });
    expect((await call(handler, 'GET', `/emails/${res.body.id}`, { key: acme.key })).body).toMatchObject({ last_event: 'sent' });
  });

  it.each([
    ['MessageRejected', 422],
    ['TooManyRequestsException', 429],
    ['BadRequestException', 422],
    ['SendingPausedException', 403],
    ['AccountSuspendedException', 403],
  ])('frees the email when SES refuses it (%s): nothing is left, and the same key sends it next time', async (errorType, status) => {
    const handler = h.handler();
    const key = `refused-${errorType}`;
    h.ses.failNext('SendEmail', errorType);
    const before = (await h.items()).length;
    const refused = await call(handler, 'POST', '/emails', { key: acme.key, body: email(key), headers: { 'Idempotency-Key': key } });
    expect(refused.status).toBe(status);
    expect(await h.items()).toHaveLength(before);

    const retried = await call(handler, 'POST', '/emails', { key: acme.key, body: email(key), headers: { 'Idempotency-Key': key } });
    expect(retried.status).toBe(200);
    expect(sesSends(key)).toHaveLength(1);
  });

  it('keeps the email sending after a 5xx from SES, which does not prove a refusal', async () => {
    const handler = h.handler();
    h.ses.failNext('SendEmail', 'InternalServiceErrorException');
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email('ses 500'), headers: { 'Idempotency-Key': 'ses-500' } });
    expect(res.status).toBe(500);
    const retry = await call(handler, 'POST', '/emails', { key: acme.key, body: email('ses 500'), headers: { 'Idempotency-Key': 'ses-500' } });
    expect([retry.status, retry.body.name]).toEqual([409, 'concurrent_idempotent_requests']);
  });
});

describe('the MessageId from whichever comes first: SendEmail\'s answer or the Send event', () => {
  it('a send killed after SES accepted the email is completed by its Send event; the keyed retry sends nothing', async () => {
    // Prepare: the real SES call, then the process dies before STATUS is written.
    const killed = h.handler({
      sender: (real) => ({
        send: async (e) => {
          await real.send(e);
          throw new Error('killed after SendEmail');
        },
      }),
    });
    const first = await call(killed, 'POST', '/emails', { key: acme.key, body: email('killed'), headers: { 'Idempotency-Key': 'killed-1' } });
    expect(first.status).toBe(500);
    const [accepted] = sesSends('killed');

    // Act: SES publishes the Send event; ingest records the MessageId the send could not.
    const ingest = ingestOn();
    const send = simulateSesEvents(accepted!, { region: 'us-east-1', accountId: '123456789012' })[0]!.event;
    await expect(ingestSnsEvent(ingest, toSnsEvent(send, TOPIC, 'sub'))).resolves.toEqual(['applied']);
    const handler = h.handler();
    const retried = await call(handler, 'POST', '/emails', { key: acme.key, body: email('killed'), headers: { 'Idempotency-Key': 'killed-1' } });

    // Assess: sent once, the retry answers the same id, and the email reads as sent.
    expect(retried.status).toBe(200);
    expect(sesSends('killed')).toHaveLength(1);
    const got = await call(handler, 'GET', `/emails/${retried.body.id}`, { key: acme.key });
    expect(got.body).toMatchObject({ last_event: 'sent', message_id: `<${accepted!.messageId}@email.amazonses.com>` });
    expect(ingest.fanned).toEqual(['email.sent']);
  });

  it('after SendEmail\'s answer, the Send event costs no write: it is found applied and only fanned out', async () => {
    const handler = h.handler();
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email('answered') });
    const [accepted] = sesSends('answered');
    const before = await h.items();
    const ingest = ingestOn();
    const send = simulateSesEvents(accepted!, { region: 'us-east-1', accountId: '123456789012' })[0]!.event;
    await expect(ingestSnsEvent(ingest, toSnsEvent(send, TOPIC, 'sub'))).resolves.toEqual(['duplicate']);
    expect(await h.items()).toEqual(before);
    expect(ingest.fanned).toEqual(['email.sent']);
    expect((await call(handler, 'GET', `/emails/${res.body.id}/events`, { key: acme.key })).body.data.map((e: { type: string }) => e.type)).toEqual(['email.sent']);
  });
});

describe('a keyed retry of an unconfirmed send waits W for the Send event', () => {
  it('answers 409 concurrent_idempotent_requests within W, then sends, once', async () => {
    let clock = Date.now();
    const now = () => clock;
    const killed = h.handler({ now, retryWindowMs: W, sender: () => ({ send: async () => { throw new Error('timed out'); } }) });
    const body = email('unconfirmed');
    expect((await call(killed, 'POST', '/emails', { key: acme.key, body, headers: { 'Idempotency-Key': 'unconfirmed-1' } })).status).toBe(500);

    const handler = h.handler({ now, retryWindowMs: W });
    clock += W - 1000;
    const early = await call(handler, 'POST', '/emails', { key: acme.key, body, headers: { 'Idempotency-Key': 'unconfirmed-1' } });
    expect([early.status, early.body.name]).toEqual([409, 'concurrent_idempotent_requests']);
    expect(sesSends('unconfirmed')).toHaveLength(0);

    clock += 2000;
    const late = await call(handler, 'POST', '/emails', { key: acme.key, body, headers: { 'Idempotency-Key': 'unconfirmed-1' } });
    expect(late.status).toBe(200);
    const again = await call(handler, 'POST', '/emails', { key: acme.key, body, headers: { 'Idempotency-Key': 'unconfirmed-1' } });
    expect(again.body).toEqual(late.body);
    expect(sesSends('unconfirmed')).toHaveLength(1);
  });

  it('lets one of two concurrent claims after W send (the mark moves under a condition)', async () => {
    const created = Date.now() - W - 1000;
    const emails = new EmailStore(createDb(h.dynamo.doc, h.table), 30);
    const id = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
    await emails.create({ id, tenantId: acme.tenantId, from: 'a@b.co', to: ['c@d.co'], cc: [], bcc: [], replyTo: [], subject: 's', text: 't', tags: [], createdAt: new Date(created).toISOString() });
    const claims = await Promise.all([emails.reclaimSending(id, Date.now(), W), emails.reclaimSending(id, Date.now(), W)]);
    expect(claims.sort()).toEqual([false, true]);
    // The mark moved: within W again.
    expect(await emails.reclaimSending(id, Date.now() + 1000, W)).toBe(false);
  });
});
