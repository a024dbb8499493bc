/**
 * GET /emails/receiving[/{id}[/attachments[/{attachment_id}]]]: Resend's shapes (the fields the SDK
 * reads: `received_for`, `raw.download_url`), presigned URLs that download the bytes received, the
 * inline body cap, `html_format`, paging, and tenant isolation. Emails are received through the
 * inbound core (test/inbound/harness.ts); the routes run through the real API middleware.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { createApiHandler } from '../../lambdas/core/http/api';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { silentLogger } from '../../lambdas/core/log';
import { INLINE_BODY_BYTES, receivedEmailId } from '../../lambdas/core/domain/inbound';
import { receivingRoutes } from '../../lambdas/send/receiving';
import { call, isResendError, type Handler } from '../support/api';
import { resendSchemaErrors } from '../support/resend-schema';
import { RECEIVED_AT, receiptEvent, startInboundHarness, type InboundHarness } from '../inbound/harness';

let h: InboundHarness;
let api: Handler;
let acme: Awaited<ReturnType<InboundHarness['tenant']>>;
let other: Awaited<ReturnType<InboundHarness['tenant']>>;

const mime = (options: Mail.Options): Promise<Buffer> => new MailComposer(options).compile().build();
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9, 9]);
const csv = Buffer.from('a,b\n1,2\n');

async function receive(tenant: typeof acme, options: Mail.Options): Promise<{ id: string; raw: Buffer }> {
  const raw = await mime(options);
  const sesMessageId = await h.storeRaw(raw);
  await h.handler(receiptEvent(sesMessageId, [`inbox@${tenant.domain}`]));
  return { id: receivedEmailId(tenant.tenantId, sesMessageId), raw };
}

let first: { id: string; raw: Buffer };
let second: { id: string; raw: Buffer };

beforeAll(async () => {
  h = await startInboundHarness();
  acme = await h.tenant('acme');
  other = await h.tenant('other');
  api = createApiHandler(receivingRoutes({ received: h.received, content: new ContentStore(h.s3.client, h.s3.bucket) }), createAuthenticator(h.tenants), silentLogger) as Handler;
  first = await receive(acme, {
    from: 'Ann <ann@sender.example>', to: `inbox@${acme.domain}`, subject: 'First', text: 'Hello', html: '<p>Hello</p><img src="cid:pic@x">',
    attachments: [{ filename: 'pic.png', content: png, contentType: 'image/png', cid: 'pic@x' }, { filename: 'data.csv', content: csv, contentType: 'text/csv' }],
  });
  second = await receive(acme, { from: 'bob@sender.example', to: `inbox@${acme.domain}`, subject: 'Second', text: 'é'.repeat(INLINE_BODY_BYTES) });
});
afterAll(() => h.close());

const get = (path: string, key = acme.key) => call(api, 'GET', path, { key });
const download = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type'), disposition: res.headers.get('content-disposition') };
};

describe('GET /emails/receiving', () => {
  it('lists the tenant\'s received emails in Resend\'s shape, newest first', async () => {
    const res = await get('/emails/receiving');
    expect(res.status).toBe(200);
    expect(resendSchemaErrors('ListReceivedEmailsResponse', res.body)).toEqual([]);
    expect(res.body).toMatchObject({ object: 'list', has_more: false });
    const ids = res.body.data.map((e: { id: string }) => e.id);
    expect(new Set(ids)).toEqual(new Set([first.id, second.id]));
    const one = res.body.data.find((e: { id: string }) => e.id === first.id);
    expect(one).toEqual({
      id: first.id, to: [`inbox@${acme.domain}`], from: '"Ann" <ann@sender.example>', created_at: RECEIVED_AT, subject: 'First',
      bcc: [], cc: [], reply_to: [], received_for: [`inbox@${acme.domain}`], message_id: expect.stringMatching(/^<.+>$/),
      attachments: [
        { id: expect.any(String), filename: 'pic.png', size: png.length, content_type: 'image/png', content_id: 'pic@x', content_disposition: 'inline' },
        { id: expect.any(String), filename: 'data.csv', size: csv.length, content_type: 'text/csv', content_id: null, content_disposition: 'attachment' },
      ],
    });
  });

  it('pages with limit and cursors, and refuses a cursor that is not one of its emails', async () => {
    const page = await get('/emails/receiving?limit=1');
    expect(page.body).toMatchObject({ has_more: true, data: [expect.any(Object)] });
    const next = await get(`/emails/receiving?limit=1&after=${page.body.data[0].id}`);
    expect(next.body.has_more).toBe(false);
    expect(next.body.data[0].id).not.toBe(page.body.data[0].id);
    const bad = await get(`/emails/receiving?after=${receivedEmailId(other.tenantId, 'x')}`);
    expect([bad.status, bad.body.name]).toEqual([422, 'validation_error']);
  });

  it('shows another tenant none of them', async () => {
    const res = await get('/emails/receiving', other.key);
    expect(res.body.data).toEqual([]);
  });
});

describe('GET /emails/receiving/{id}', () => {
  it('answers the email with its bodies, headers, SES\'s verdicts and a presigned raw download of the original message', async () => {
    const res = await get(`/emails/receiving/${first.id}`);
    expect(res.status).toBe(200);
    expect(resendSchemaErrors('GetReceivedEmailResponse', res.body)).toEqual([]);
    expect(res.body).toMatchObject({
      object: 'email', id: first.id, subject: 'First', text: 'Hello', received_for: [`inbox@${acme.domain}`],
      headers: expect.objectContaining({ Subject: 'First' }),
      raw: { download_url: expect.any(String), expires_at: expect.any(String) },
      verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'GRAY', dmarc_policy: null },
      truncated: false, parse_error: null,
    });
    // Resend's default html_format: the inline image as a data URI.
    expect(res.body.html).toBe(`<p>Hello</p><img src="data:image/png;base64,${png.toString('base64')}">`);
    const raw = await download(res.body.raw.download_url);
    expect(raw).toMatchObject({ status: 200, type: 'message/rfc822', disposition: expect.stringContaining(`${first.id}.eml`) });
    expect(raw.bytes.equals(first.raw)).toBe(true);
  });

  it('keeps cid: references with html_format=cid, and refuses another format', async () => {
    const cid = await get(`/emails/receiving/${first.id}?html_format=cid`);
    expect(cid.body.html).toBe('<p>Hello</p><img src="cid:pic@x">');
    const bad = await get(`/emails/receiving/${first.id}?html_format=inline`);
    expect(bad.status).toBe(422);
    expect(isResendError(bad.body)).toBe(true);
  });

  it('caps an inline body at INLINE_BODY_BYTES and says so; the raw message has all of it', async () => {
    const res = await get(`/emails/receiving/${second.id}`);
    expect(res.body.truncated).toBe(true);
    expect(Buffer.byteLength(res.body.text, 'utf8')).toBe(INLINE_BODY_BYTES);
    expect(res.body.html).toBeNull();
    expect(JSON.stringify(res.body).length).toBeLessThan(6_000_000);
    expect((await download(res.body.raw.download_url)).bytes.equals(second.raw)).toBe(true);
  });

  it('is 404 for another tenant, an unknown id and a malformed one', async () => {
    for (const [path, key] of [[`/emails/receiving/${first.id}`, other.key], [`/emails/receiving/${receivedEmailId(acme.tenantId, 'nope')}`, acme.key], ['/emails/receiving/not-an-id', acme.key]] as const) {
      const res = await get(path, key);
      expect([path, res.status, res.body.name]).toEqual([path, 404, 'not_found']);
    }
  });
});

describe('GET /emails/receiving/{id}/attachments', () => {
  it('lists them with presigned URLs that download the bytes received, as files', async () => {
    const res = await get(`/emails/receiving/${first.id}/attachments`);
    expect(res.status).toBe(200);
    expect(resendSchemaErrors('ListAttachmentsResponse', res.body)).toEqual([]);
    expect(res.body.data.map((a: { filename: string }) => a.filename)).toEqual(['pic.png', 'data.csv']);
    const file = await download(res.body.data[1].download_url);
    expect(file).toMatchObject({ status: 200, disposition: expect.stringContaining('filename="data.csv"') });
    expect(file.bytes.equals(csv)).toBe(true);
  });

  it('gets one, and is 404 for an unknown attachment or another tenant\'s email', async () => {
    const list = await get(`/emails/receiving/${first.id}/attachments`);
    const one = await get(`/emails/receiving/${first.id}/attachments/${list.body.data[0].id}`);
    expect(one.status).toBe(200);
    expect(resendSchemaErrors('RetrievedAttachment', one.body)).toEqual([]);
    expect(one.body).toMatchObject({ object: 'attachment', id: list.body.data[0].id, filename: 'pic.png', content_id: 'pic@x' });
    expect((await download(one.body.download_url)).bytes.equals(png)).toBe(true);
    expect((await get(`/emails/receiving/${first.id}/attachments/${receivedEmailId('x', 'y')}`)).status).toBe(404);
    expect((await get(`/emails/receiving/${first.id}/attachments`, other.key)).status).toBe(404);
  });
});
