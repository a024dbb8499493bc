/**
 * Inbound email end to end: local mode (started as `npm start` starts it) with receiving turned on
 * for its domain through the `resend` SDK; a MIME message with an attachment, built and sent over
 * SMTP by nodemailer (MailComposer and its SMTP transport: no hand-written SMTP); read back through
 * `resend.emails.receiving.*`, its attachment and raw message downloaded from their presigned URLs,
 * and the `email.received` webhook verified with `standardwebhooks`. A restart keeps everything and
 * receives nothing twice.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { promisify } from 'node:util';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { Resend } from 'resend';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { freePort, startLocalMode, type RunningLocal } from '../support/local-mode';

jest.setTimeout(120_000);

const dataDir = mkdtempSync(join(tmpdir(), 'sesame-inbound-'));
const DOMAIN = 'inbound.test';
let local: RunningLocal;
let resend: Resend;
let receiver: Server;
let receiverUrl: string;
const hooks: { headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  local = await startLocalMode({ dataDir, apiKey: 're_inbound_e2e_00001', domain: DOMAIN, extraEnv: { SESAME_WEBHOOK_RETRY_SCHEDULE: '0,1,1,1' } });
  resend = new Resend(local.apiKey, { baseUrl: local.apiUrl });
  const port = await freePort();
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hooks.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${port}/hooks`;
});
afterAll(async () => {
  await local?.stop();
  receiver?.close();
});

const wait = async <T>(get: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
};

const report = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31) % 256));
const smtp = () => createTransport({ host: '127.0.0.1', port: Number(local.env.SESAME_SMTP_PORT), secure: false, ignoreTLS: true });

describe('receiving through the resend SDK against npm start', () => {
  let secret: string;
  let emailId: string;
  let messageId: string;

  it('prints the SMTP address', () => {
    expect(local.output()).toMatch(new RegExp(`SMTP\\s+smtp://127\\.0\\.0\\.1:${local.env.SESAME_SMTP_PORT}`));
  });

  it('turns receiving on for the domain: the Receiving MX joins its records', async () => {
    const list = await resend.domains.list();
    const domain = list.data!.data.find((d) => d.name === DOMAIN)!;
    const updated = await resend.domains.update({ id: domain.id, capabilities: { receiving: 'enabled' } });
    expect(updated.error).toBeNull();
    const got = await resend.domains.get(domain.id);
    expect(got.data!.capabilities).toEqual({ sending: 'enabled', receiving: 'enabled' });
    expect(got.data!.records).toContainEqual(expect.objectContaining({ record: 'Receiving', type: 'MX', name: DOMAIN, value: 'inbound-smtp.us-east-1.amazonaws.com', priority: 10 }));
    const hook = await resend.webhooks.create({ endpoint: receiverUrl, events: ['email.received'] });
    expect(hook.error).toBeNull();
    secret = hook.data!.signing_secret;
  });

  it('receives a MIME message sent over SMTP, readable through resend.emails.receiving', async () => {
    const sent = await smtp().sendMail({
      from: 'Customer <customer@elsewhere.example>', to: `support@${DOMAIN}`, cc: 'someone@elsewhere.example',
      envelope: { from: 'bounces@elsewhere.example', to: [`support@${DOMAIN}`, 'nobody@not-ours.example'] },
      subject: 'Monthly report', text: 'Attached.', html: '<p>Attached.</p>',
      attachments: [{ filename: 'report.bin', content: report, contentType: 'application/octet-stream' }],
    });
    expect(sent.response).toMatch(/^250 /);
    messageId = sent.messageId;

    const listed = await wait(async () => {
      const page = await resend.emails.receiving.list();
      expect(page.error).toBeNull();
      return page.data!.data.length > 0 ? page.data! : undefined;
    });
    expect(listed.data).toHaveLength(1);
    const [summary] = listed.data;
    emailId = summary!.id;
    expect(summary).toMatchObject({
      from: '"Customer" <customer@elsewhere.example>', to: [`support@${DOMAIN}`], cc: ['someone@elsewhere.example'], subject: 'Monthly report',
      received_for: [`support@${DOMAIN}`], message_id: messageId,
    });

    const got = await resend.emails.receiving.get(emailId);
    expect(got.error).toBeNull();
    expect(got.data).toMatchObject({ object: 'email', id: emailId, text: 'Attached.', html: '<p>Attached.</p>', received_for: [`support@${DOMAIN}`] });
    expect(got.data!.headers).toMatchObject({ Subject: 'Monthly report' });
    const raw = await fetch(got.data!.raw!.download_url);
    expect(raw.status).toBe(200);
    const rawText = Buffer.from(await raw.arrayBuffer()).toString('utf8');
    expect(rawText).toContain('Subject: Monthly report');
  });

  it('lists and gets the attachment, whose presigned URL downloads the bytes sent', async () => {
    const list = await resend.emails.receiving.attachments.list({ emailId });
    expect(list.error).toBeNull();
    expect(list.data!.data).toEqual([expect.objectContaining({ filename: 'report.bin', size: report.length, content_type: 'application/octet-stream', content_disposition: 'attachment' })]);
    const one = await resend.emails.receiving.attachments.get({ emailId, id: list.data!.data[0]!.id });
    expect(one.error).toBeNull();
    const res = await fetch(one.data!.download_url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(report)).toBe(true);
  });

  it('fires email.received, signed as Standard Webhooks verifies', async () => {
    const hit = await wait(() => hooks.find((h) => h.body.includes(emailId)));
    const payload = new StandardWebhook(secret).verify(hit.body, hit.headers) as { type: string; data: Record<string, unknown> };
    expect(payload).toMatchObject({
      type: 'email.received',
      data: { email_id: emailId, subject: 'Monthly report', received_for: [`support@${DOMAIN}`], message_id: messageId, attachments: [expect.objectContaining({ filename: 'report.bin' })] },
    });
  });

  it('keeps it across a restart, and receives nothing twice', async () => {
    await local.stop();
    local = await startLocalMode({ dataDir, apiKey: 're_inbound_e2e_00001', domain: DOMAIN, extraEnv: { ...local.env, SESAME_WEBHOOK_RETRY_SCHEDULE: '0,1,1,1' } });
    resend = new Resend(local.apiKey, { baseUrl: local.apiUrl });
    const again = await resend.emails.receiving.list();
    expect(again.data!.data.map((e) => e.id)).toEqual([emailId]);
    await new Promise((r) => setTimeout(r, 1500));
    expect(hooks.filter((h) => h.body.includes('email.received'))).toHaveLength(1);
  });

  it('gives another tenant nothing of it: 404', async () => {
    const line = local.output().split('\n').find((l) => l.includes('AWS_ENDPOINT_URL_DYNAMODB='))!;
    const adminEnv = Object.fromEntries([...line.matchAll(/([A-Z][A-Z0-9_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'sesame', 'tenants', 'create', 'stranger'], { env: { ...process.env, ...adminEnv }, cwd: join(__dirname, '../..') });
    const stranger = new Resend(JSON.parse(stdout).api_key, { baseUrl: local.apiUrl });
    expect((await stranger.emails.receiving.get(emailId)).error).toMatchObject({ statusCode: 404, name: 'not_found' });
    expect((await stranger.emails.receiving.attachments.list({ emailId })).error).toMatchObject({ statusCode: 404, name: 'not_found' });
    expect((await stranger.emails.receiving.list()).data!.data).toEqual([]);
  });
});
