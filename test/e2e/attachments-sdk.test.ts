/**
 * Attachments end to end: the official `resend` SDK against local mode (started as `npm start`
 * starts it) sends an email with two attachments, lists and fetches them, and downloads each
 * presigned URL with plain fetch, as a browser would; another tenant gets 404.
 */
import { Resend } from 'resend';
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { anotherTenant, sdkFor, tempDataDir } from '../support/e2e';

jest.setTimeout(120_000);

const dataDir = tempDataDir('attachments');
let local: RunningLocal;
let resend: Resend;

beforeAll(async () => {
  local = await startLocalMode({ dataDir, apiKey: 're_attachments_e2e_0001', domain: 'files.test' });
  resend = sdkFor(local);
});
afterAll(() => local?.stop());

const invoice = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
const logo = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>');

async function fetchBytes(url: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('attachments through the resend SDK against npm start', () => {
  let emailId: string;

  it('prints the S3 stand-in and points the admin tool at it', () => {
    expect(local.output()).toMatch(new RegExp(`S3\\s+http://127\\.0\\.0\\.1:${local.env.SESAME_S3_PORT}`));
    expect(local.output()).toMatch(new RegExp(`AWS_ENDPOINT_URL_S3=http://127\\.0\\.0\\.1:${local.env.SESAME_S3_PORT}`));
  });

  it('sends an email with two attachments, lists them and downloads the same bytes', async () => {
    const sent = await resend.emails.send({
      from: 'Files <hello@files.test>', to: 'delivered@resend.dev', subject: 'Your invoice', html: '<img src="cid:logo">',
      attachments: [
        { filename: 'invoice.bin', content: invoice, contentType: 'application/octet-stream' },
        { filename: 'logo.svg', content: logo.toString('base64'), contentId: 'logo' },
      ],
    });
    expect(sent.error).toBeNull();
    emailId = sent.data!.id;

    const list = await resend.emails.attachments.list({ emailId });
    expect(list.error).toBeNull();
    expect(list.data).toMatchObject({ object: 'list', has_more: false });
    const [first, second] = list.data!.data;
    expect(first).toMatchObject({ filename: 'invoice.bin', size: invoice.length, content_type: 'application/octet-stream', content_disposition: 'attachment' });
    expect(second).toMatchObject({ filename: 'logo.svg', size: logo.length, content_type: 'image/svg+xml', content_disposition: 'inline', content_id: 'logo' });
    for (const a of [first!, second!]) {
      expect(a.download_url.startsWith(`http://127.0.0.1:${local.env.SESAME_S3_PORT}/`)).toBe(true);
      expect(Date.parse(a.expires_at) - Date.now()).toBeGreaterThan(55 * 60_000);
    }
    expect((await fetchBytes(first!.download_url)).bytes.equals(invoice)).toBe(true);
    expect((await fetchBytes(second!.download_url)).bytes.equals(logo)).toBe(true);

    const one = await resend.emails.attachments.get({ emailId, id: second!.id });
    expect(one.error).toBeNull();
    expect(one.data).toMatchObject({ object: 'attachment', id: second!.id, filename: 'logo.svg', size: logo.length });
    expect((await fetchBytes(one.data!.download_url)).bytes.equals(logo)).toBe(true);
  });

  it('keeps them away from another tenant: 404', async () => {
    const { resend: stranger } = await anotherTenant(local, 'stranger', { npx: true });
    const mine = await resend.emails.attachments.list({ emailId });
    const list = await stranger.emails.attachments.list({ emailId });
    expect(list.data).toBeNull();
    expect(list.error).toMatchObject({ statusCode: 404, name: 'not_found' });
    const get = await stranger.emails.attachments.get({ emailId, id: mine.data!.data[0]!.id });
    expect(get.error).toMatchObject({ statusCode: 404, name: 'not_found' });
  });

  it('keeps them across a restart on the same data folder', async () => {
    expect(await local.stop()).toBe(0);
    local = await startLocalMode({ dataDir, domain: 'files.test' });
    const again = new Resend('re_attachments_e2e_0001', { baseUrl: local.apiUrl });
    const list = await again.emails.attachments.list({ emailId });
    expect(list.error).toBeNull();
    expect((await fetchBytes(list.data!.data[0]!.download_url)).bytes.equals(invoice)).toBe(true);
  });
});
