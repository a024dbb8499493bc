/**
 * Attachments kept in the content bucket: written once by the send path (one PutObject each, never
 * read back), listed and fetched in Resend's shapes with presigned download URLs, per tenant.
 * Through the real handlers, on dynalite, the local SES server and the local S3 stand-in.
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { attachmentKey } from '../../lambdas/core/content';
import { call, isResendError, type Handler } from '../support/api';
import { startSendHarness, type SendHarness } from './harness';

let h: SendHarness;
let handler: Handler;
let acme: { tenantId: string; key: string; domain: string };
let other: { tenantId: string; key: string; domain: string };
// Now (the local S3 checks a presigned URL's expiry against the real time), 250 ms into a second.
let clock = Math.floor(Date.now() / 1000) * 1000 + 250;
/** An hour after `clock`, to the second: presigned URLs expire in whole seconds. */
const inAnHour = new Date(clock - 250 + 3_600_000).toISOString();
/** The S3 operations the handler's client made, in order. */
const s3Calls: string[] = [];

beforeAll(async () => {
  h = await startSendHarness();
  h.s3.client.middlewareStack.add((next, context) => (args) => {
    s3Calls.push(String(context.commandName));
    return next(args);
  }, { step: 'initialize', name: 'countS3Calls' });
  handler = h.handler({ now: () => clock });
  acme = await h.tenant('acme');
  other = await h.tenant('other');
});
afterAll(() => h.close());

const pdf = Buffer.from('%PDF-1.4\n' + 'x'.repeat(3000) + '\u0000\u00ff', 'latin1');
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const twoAttachments = [
  { filename: 'receipt.pdf', content: pdf.toString('base64') },
  { filename: 'logo.png', content: png.toString('base64'), content_id: 'logo-1' },
];
const email = (over: Record<string, unknown> = {}) => ({ from: 'Acme <hello@acme.test>', to: 'user@example.org', subject: 'Receipt', html: '<img src="cid:logo-1">', ...over });

async function send(body: Record<string, unknown>, key = acme.key): Promise<string> {
  const res = await call(handler, 'POST', '/emails', { key, body });
  expect(res.status).toBe(200);
  return res.body.id as string;
}

const download = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), disposition: res.headers.get('content-disposition'), type: res.headers.get('content-type') };
};

describe('a sent email\'s attachments', () => {
  let id: string;
  let listed: Record<string, unknown>[];

  it('are written once, one PutObject each, and never read back while sending', async () => {
    s3Calls.length = 0;
    id = await send(email({ attachments: twoAttachments }));
    expect(s3Calls).toEqual(['PutObjectCommand', 'PutObjectCommand']);
  });

  it('are listed in Resend\'s shape, in the order they were sent, with presigned URLs valid for an hour', async () => {
    const res = await call(handler, 'GET', `/emails/${id}/attachments`, { key: acme.key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'list', has_more: false });
    listed = res.body.data;
    expect(listed).toEqual([
      { id: expect.any(String), filename: 'receipt.pdf', size: pdf.length, content_type: 'application/pdf', content_disposition: 'attachment', download_url: expect.any(String), expires_at: inAnHour },
      { id: expect.any(String), filename: 'logo.png', size: png.length, content_type: 'image/png', content_disposition: 'inline', content_id: 'logo-1', download_url: expect.any(String), expires_at: inAnHour },
    ]);
    expect(listed[0]!.id).not.toBe(listed[1]!.id);
  });

  it('download as the bytes that were sent, as files under their own names', async () => {
    const first = await download(listed[0]!.download_url as string);
    expect(first).toMatchObject({ status: 200, type: 'application/pdf', disposition: expect.stringContaining('filename="receipt.pdf"') });
    expect(first.bytes.equals(pdf)).toBe(true);
    const second = await download(listed[1]!.download_url as string);
    expect(second.bytes.equals(png)).toBe(true);
    // Inline in the email, but a download all the same: never rendered at the bucket's origin.
    expect(second.disposition).toMatch(/^attachment;/);
  });

  it('are kept under the tenant, the email and the attachment id', async () => {
    const key = attachmentKey('sent', acme.tenantId, id, listed[1]!.id as string);
    expect(key).toBe(`emails/${acme.tenantId}/${id}/attachments/${listed[1]!.id}`);
    const object = await h.s3.client.send(new GetObjectCommand({ Bucket: h.s3.bucket, Key: key }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(png)).toBe(true);
  });

  it('are fetched one by one', async () => {
    const res = await call(handler, 'GET', `/emails/${id}/attachments/${listed[1]!.id}`, { key: acme.key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ object: 'attachment', ...listed[1], download_url: expect.any(String) });
    expect((await download(res.body.download_url)).bytes.equals(png)).toBe(true);
  });

  it('page by attachment id, as Resend\'s lists do', async () => {
    const first = await call(handler, 'GET', `/emails/${id}/attachments?limit=1`, { key: acme.key });
    expect(first.body).toMatchObject({ has_more: true, data: [{ id: listed[0]!.id }] });
    const next = await call(handler, 'GET', `/emails/${id}/attachments?limit=1&after=${listed[0]!.id}`, { key: acme.key });
    expect(next.body).toMatchObject({ has_more: false, data: [{ id: listed[1]!.id }] });
    const back = await call(handler, 'GET', `/emails/${id}/attachments?limit=1&before=${listed[1]!.id}`, { key: acme.key });
    expect(back.body).toMatchObject({ has_more: false, data: [{ id: listed[0]!.id }] });
    const bad = await call(handler, 'GET', `/emails/${id}/attachments?after=${id}`, { key: acme.key });
    expect(bad.status).toBe(422);
    expect(isResendError(bad.body)).toBe(true);
    expect((await call(handler, 'GET', `/emails/${id}/attachments?limit=0`, { key: acme.key })).status).toBe(422);
  });

  it('are not found for another tenant, nor for an unknown email or attachment', async () => {
    for (const path of [`/emails/${id}/attachments`, `/emails/${id}/attachments/${listed[0]!.id}`]) {
      const res = await call(handler, 'GET', path, { key: other.key });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ statusCode: 404, name: 'not_found', message: 'Email not found' });
    }
    const unknownAttachment = await call(handler, 'GET', `/emails/${id}/attachments/${id}`, { key: acme.key });
    expect(unknownAttachment.body).toMatchObject({ statusCode: 404, name: 'not_found', message: 'Attachment not found' });
    expect((await call(handler, 'GET', '/emails/not-an-id/attachments', { key: acme.key })).status).toBe(404);
    expect((await call(handler, 'GET', `/emails/${listed[0]!.id}/attachments`, { key: acme.key })).status).toBe(404);
  });

  it('are an empty list for an email sent without any', async () => {
    const plain = await send(email({ text: 'no files' }));
    const res = await call(handler, 'GET', `/emails/${plain}/attachments`, { key: acme.key });
    expect(res.body).toEqual({ object: 'list', has_more: false, data: [] });
  });

  it('go with the email past its retention', async () => {
    const saved = clock;
    clock += 31 * 86_400_000;
    try {
      const res = await call(handler, 'GET', `/emails/${id}/attachments`, { key: acme.key });
      expect(res.status).toBe(404);
    } finally {
      clock = saved;
    }
  });
});

describe('a send that fails', () => {
  it('leaves no attachment behind when SES refuses the email', async () => {
    s3Calls.length = 0;
    h.ses.failNext('SendEmail', 'MessageRejected');
    const res = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ attachments: twoAttachments }) });
    expect(res.status).toBe(422);
    expect(s3Calls).toEqual(['PutObjectCommand', 'PutObjectCommand', 'DeleteObjectCommand', 'DeleteObjectCommand']);
  });

  it('answers a generic 500 and sends nothing when the content bucket cannot take the attachments', async () => {
    // A real failure of the stand-in: the bucket does not exist (NoSuchBucket).
    const broken = h.handler({ now: () => clock, content: () => new ContentStore(h.s3.client, 'no-such-bucket', () => clock) });
    const before = h.ses.sent().length;
    const res = await call(broken, 'POST', '/emails', { key: acme.key, body: email({ attachments: twoAttachments }) });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ statusCode: 500, name: 'internal_server_error', message: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toMatch(/bucket|NoSuch/i);
    expect(h.ses.sent().length).toBe(before);
    const emails = (await h.items()).filter((i) => i.sk === 'META' && i.tenant_id === acme.tenantId && i.attachments !== undefined);
    // Only the first test's email is kept: the refused and the failed ones were removed.
    expect(emails).toHaveLength(1);
  });

  it('overwrites the same objects when retried under the same Idempotency-Key', async () => {
    const headers = { 'Idempotency-Key': 'retry-with-files' };
    h.ses.failNext('SendEmail', 'TooManyRequestsException');
    const throttled = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ attachments: twoAttachments }), headers });
    expect(throttled.status).toBe(429);
    const sent = await call(handler, 'POST', '/emails', { key: acme.key, body: email({ attachments: twoAttachments }), headers });
    expect(sent.status).toBe(200);
    const list = await call(handler, 'GET', `/emails/${sent.body.id}/attachments`, { key: acme.key });
    expect(list.body.data).toHaveLength(2);
    const head = await h.s3.client.send(new HeadObjectCommand({ Bucket: h.s3.bucket, Key: attachmentKey('sent', acme.tenantId, sent.body.id, list.body.data[0].id) }));
    expect(head.ContentLength).toBe(pdf.length);
  });
});
