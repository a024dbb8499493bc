/**
 * The inbound function: SES's receipt event (AWS's example, test/fixtures/ses-receiving) and the raw
 * message the receipt rule stored become received emails, per tenant, once; email.received is queued;
 * viruses and mail for domains that do not receive are dropped and counted; broken MIME never throws.
 * On dynalite, the local S3 stand-in and the local SQS.
 */
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { attachmentKey, rawMessageKey } from '../../lambdas/core/content';
import { RECEIVED_PUT_CONCURRENCY } from '../../lambdas/core/adapters/content';
import { INLINE_BODY_BYTES, MAX_RECEIVED_ATTACHMENTS, parseReceiptEvent, receivedEmailId } from '../../lambdas/core/domain/inbound';
import { resendSchemaErrors } from '../support/resend-schema';
import { RECEIVED_AT, fixtureEvent, receiptEvent, startInboundHarness, type InboundHarness } from './harness';

let h: InboundHarness;
let acme: Awaited<ReturnType<InboundHarness['tenant']>>;
let beta: Awaited<ReturnType<InboundHarness['tenant']>>;

beforeAll(async () => {
  h = await startInboundHarness();
  acme = await h.tenant('acme');
  beta = await h.tenant('beta');
  await h.tenant('quiet', { receiving: false });
});
afterAll(() => h.close());

const mime = (options: Mail.Options): Promise<Buffer> => new MailComposer(options).compile().build();

const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(2000, 7), Buffer.from([0, 255, 128])]);
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

async function objectExists(key: string): Promise<boolean> {
  try {
    await h.s3.client.send(new HeadObjectCommand({ Bucket: h.s3.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

const bytesOf = async (key: string) => Buffer.from(await (await h.s3.client.send(new GetObjectCommand({ Bucket: h.s3.bucket, Key: key }))).Body!.transformToByteArray());

describe('the receipt event', () => {
  it('reads AWS\'s example: message id, time, envelope, recipients and every verdict', () => {
    expect(parseReceiptEvent(fixtureEvent())).toEqual([{
      sesMessageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
      timestamp: '2019-08-05T21:30:02.028Z',
      source: 'prvs=144d0cba7=sender@example.com',
      recipients: ['recipient@example.com'],
      verdicts: { spam: 'PASS', virus: 'PASS', spf: 'PASS', dkim: 'PASS', dmarc: 'GRAY' },
    }]);
  });

  it('refuses what is not one (the invocation fails, so the event is parked in the DLQ)', async () => {
    await expect(h.handler({ Records: [{ Sns: {} }] })).rejects.toThrow(/Not an SES receipt event/);
  });
});

describe('a message with an attachment, to a receiving domain', () => {
  let sesMessageId: string;
  let raw: Buffer;
  let firstDelivery: string;
  const id = () => receivedEmailId(acme.tenantId, sesMessageId);

  beforeAll(async () => {
    raw = await mime({
      from: '"Doe, John" <john@sender.example>', to: [`support@${acme.domain}`, 'someone@elsewhere.example'], cc: `cc@${acme.domain}`,
      replyTo: 'replies@sender.example', subject: 'Invoice 42', messageId: '<invoice-42@sender.example>',
      text: 'Please find it attached.', html: '<p>Please find it attached.</p><img src="cid:logo@sender">',
      headers: { 'X-Custom': 'kept' },
      attachments: [{ filename: 'invoice.pdf', content: pdf, contentType: 'application/pdf' }, { filename: 'logo.png', content: png, contentType: 'image/png', cid: 'logo@sender' }],
    });
    sesMessageId = await h.storeRaw(raw);
  });

  it('is stored once for the tenant, with its addresses, verdicts and attachments; email.received is queued', async () => {
    const [outcome] = await h.handler(receiptEvent(sesMessageId, [`support@${acme.domain}`, `cc@${acme.domain}`], { spam: 'GRAY', dkim: 'FAIL' }));
    expect(outcome).toMatchObject({ stored: [{ tenantId: acme.tenantId, emailId: id(), created: true }], dropped: [], virus: false });
    const email = await h.received.get(acme.tenantId, id());
    expect(email).toMatchObject({
      from: '"Doe, John" <john@sender.example>', to: [`support@${acme.domain}`, 'someone@elsewhere.example'], cc: [`cc@${acme.domain}`],
      replyTo: ['replies@sender.example'], subject: 'Invoice 42', messageId: '<invoice-42@sender.example>',
      receivedFor: [`support@${acme.domain}`, `cc@${acme.domain}`], createdAt: RECEIVED_AT, rawSize: raw.length,
      verdicts: { spam: 'GRAY', virus: 'PASS', spf: 'PASS', dkim: 'FAIL', dmarc: 'GRAY' },
    });
    expect(email!.headers['X-Custom']).toBe('kept');
    // In the message's order: the inline image is in the multipart/related part before the attachment.
    expect(email!.attachments.map((a) => [a.filename, a.contentType, a.size, a.disposition, a.contentId])).toEqual([
      ['logo.png', 'image/png', png.length, 'inline', 'logo@sender'],
      ['invoice.pdf', 'application/pdf', pdf.length, 'attachment', null],
    ]);
    expect((await bytesOf(attachmentKey('received', acme.tenantId, id(), email!.attachments[1]!.id))).equals(pdf)).toBe(true);
    expect(await h.content.readReceivedBody(acme.tenantId, id())).toEqual({ html: '<p>Please find it attached.</p><img src="cid:logo@sender">', text: 'Please find it attached.' });
    // The raw message stays where SES put it, for `raw.download_url`.
    expect((await bytesOf(rawMessageKey(sesMessageId))).equals(raw)).toBe(true);

    const [queued, ...more] = await h.queued();
    expect(more).toEqual([]);
    expect(queued).toMatchObject({ webhook_id: acme.webhookId, tenant_id: acme.tenantId, email_id: id(), event_type: 'email.received' });
    expect(JSON.parse(queued!.payload)).toEqual({
      type: 'email.received',
      created_at: RECEIVED_AT,
      data: {
        email_id: id(), created_at: RECEIVED_AT, from: '"Doe, John" <john@sender.example>',
        to: [`support@${acme.domain}`, 'someone@elsewhere.example'], bcc: [], cc: [`cc@${acme.domain}`],
        received_for: [`support@${acme.domain}`, `cc@${acme.domain}`], message_id: '<invoice-42@sender.example>', subject: 'Invoice 42',
        attachments: [
          { id: email!.attachments[0]!.id, filename: 'logo.png', content_type: 'image/png', content_disposition: 'inline', content_id: 'logo@sender' },
          { id: email!.attachments[1]!.id, filename: 'invoice.pdf', content_type: 'application/pdf', content_disposition: 'attachment', content_id: null },
        ],
      },
    });
    expect(resendSchemaErrors('EmailReceivedEvent', JSON.parse(queued!.payload))).toEqual([]);
    expect(h.counted.filter((c) => c.name === 'EmailsReceived')).toEqual([{ name: 'EmailsReceived', options: { tenantId: acme.tenantId } }]);
    firstDelivery = queued!.delivery_id;
  });

  it('redelivered (a Lambda retry), has the effect of once: the same email, not counted again, the same webhook delivery id', async () => {
    h.counted.length = 0;
    const first = await h.received.get(acme.tenantId, id());
    const [outcome] = await h.handler(receiptEvent(sesMessageId, [`support@${acme.domain}`, `cc@${acme.domain}`], { spam: 'GRAY', dkim: 'FAIL' }));
    expect(outcome!.stored).toEqual([{ tenantId: acme.tenantId, emailId: id(), created: false }]);
    expect(await h.received.get(acme.tenantId, id())).toEqual(first);
    expect(h.counted.filter((c) => c.name === 'EmailsReceived')).toEqual([]);
    const page = await h.received.list(acme.tenantId, { limit: 100 });
    expect(page.data.filter((e) => e.sesMessageId === sesMessageId)).toHaveLength(1);
    // Queued again (a crash after the put must not lose it), under the delivery id the deliver function already knows.
    expect((await h.queued()).map((m) => m.delivery_id)).toEqual([firstDelivery]);
  });
});

describe('what is dropped', () => {
  it('a message SES marks as a virus: nothing stored, the raw message deleted, counted', async () => {
    const sesMessageId = await h.storeRaw(await mime({ from: 'x@sender.example', to: `support@${acme.domain}`, subject: 'EICAR', text: 'x' }));
    h.counted.length = 0;
    const [outcome] = await h.handler(receiptEvent(sesMessageId, [`support@${acme.domain}`], { virus: 'FAIL' }));
    expect(outcome).toMatchObject({ stored: [], virus: true });
    expect(await h.received.get(acme.tenantId, receivedEmailId(acme.tenantId, sesMessageId))).toBeUndefined();
    expect(await objectExists(rawMessageKey(sesMessageId))).toBe(false);
    expect(h.counted).toEqual([{ name: 'InboundDropped', options: { reason: 'virus' } }]);
  });

  it('mail for a domain without receiving, or no known domain: dropped and counted per recipient, the raw message deleted', async () => {
    const sesMessageId = await h.storeRaw(await mime({ from: 'x@sender.example', to: 'a@quiet.test', subject: 'hi', text: 'x' }));
    h.counted.length = 0;
    const [outcome] = await h.handler(receiptEvent(sesMessageId, ['a@quiet.test', 'b@nobody.example', 'not-an-address']));
    expect(outcome).toMatchObject({ stored: [], dropped: ['a@quiet.test', 'b@nobody.example', 'not-an-address'] });
    expect(h.counted).toEqual([{ name: 'InboundDropped', options: { reason: 'no_receiving_domain', value: 3 } }]);
    expect(await objectExists(rawMessageKey(sesMessageId))).toBe(false);
    expect(await h.queued()).toEqual([]);
  });

  it('a message for two tenants is one email each, each with its own recipients; the others are dropped', async () => {
    const sesMessageId = await h.storeRaw(await mime({ from: 'x@sender.example', to: [`a@${acme.domain}`, `b@${beta.domain}`, 'c@quiet.test'], subject: 'both', text: 'x' }));
    const [outcome] = await h.handler(receiptEvent(sesMessageId, [`a@${acme.domain}`, `b@${beta.domain}`, `B2@${beta.domain.toUpperCase()}`, 'c@quiet.test']));
    expect(outcome!.dropped).toEqual(['c@quiet.test']);
    expect((await h.received.get(acme.tenantId, receivedEmailId(acme.tenantId, sesMessageId)))!.receivedFor).toEqual([`a@${acme.domain}`]);
    expect((await h.received.get(beta.tenantId, receivedEmailId(beta.tenantId, sesMessageId)))!.receivedFor).toEqual([`b@${beta.domain}`, `B2@${beta.domain.toUpperCase()}`]);
    // Tenant isolation: an email is found only by its own tenant.
    expect(await h.received.get(beta.tenantId, receivedEmailId(acme.tenantId, sesMessageId))).toBeUndefined();
    expect((await h.queued()).map((m) => m.tenant_id).sort()).toEqual([acme.tenantId, beta.tenantId].sort());
    expect(await objectExists(rawMessageKey(sesMessageId))).toBe(true);
  });
});

describe('bad MIME never crashes the function: kept raw, with what could be parsed, and logged', () => {
  const receive = async (raw: Buffer) => {
    const sesMessageId = await h.storeRaw(raw);
    const [outcome] = await h.handler(receiptEvent(sesMessageId, [`support@${acme.domain}`]));
    expect(outcome!.stored).toHaveLength(1);
    expect((await bytesOf(rawMessageKey(sesMessageId))).equals(raw)).toBe(true);
    return (await h.received.get(acme.tenantId, receivedEmailId(acme.tenantId, sesMessageId)))!;
  };

  it('a truncated message (cut inside an attachment)', async () => {
    const whole = await mime({ from: 'x@sender.example', to: `support@${acme.domain}`, subject: 'Cut short', text: 'The start.', attachments: [{ filename: 'big.bin', content: Buffer.alloc(20_000, 1) }] });
    const email = await receive(whole.subarray(0, Math.floor(whole.length * 0.6)));
    expect(email).toMatchObject({ subject: 'Cut short', from: 'x@sender.example' });
    expect(await h.content.readReceivedBody(acme.tenantId, email.id)).toMatchObject({ text: 'The start.' });
  });

  it('a multipart message without a boundary parameter', async () => {
    const raw = Buffer.from(['From: x@sender.example', `To: support@${acme.domain}`, 'Subject: No boundary', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed', '', '--foo', 'Content-Type: text/plain', '', 'hello', '--foo--', ''].join('\r\n'));
    const email = await receive(raw);
    expect(email.subject).toBe('No boundary');
  });

  it('binary garbage with no headers at all: shown with its envelope sender', async () => {
    const email = await receive(Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) % 256)));
    expect(email.from).toBe('prvs=144d0cba7=sender@example.com');
  });

  it('thousands of parts: parsed up to mailparser\'s guard of 1,000 nodes, at most MAX_RECEIVED_ATTACHMENTS kept, the rest counted', async () => {
    const attachments = Array.from({ length: 2000 }, (_, i) => ({ filename: `part-${i}.txt`, content: `part ${i}` }));
    const email = await receive(await mime({ from: 'x@sender.example', to: `support@${acme.domain}`, subject: 'Many parts', text: 'x', attachments }));
    expect(email.subject).toBe('Many parts');
    expect(email.parseError).toMatch(/child nodes/);
    expect(email.attachments.length).toBeLessThanOrEqual(MAX_RECEIVED_ATTACHMENTS);
    expect(email.attachments.length + email.attachmentsOmitted).toBeLessThan(1000);
    expect(h.logs.some((l) => l.includes('only partly parsed'))).toBe(true);
  }, 60_000);

  it('more attachments than are kept (within the node guard): the first MAX_RECEIVED_ATTACHMENTS stored, the others counted', async () => {
    const attachments = Array.from({ length: 700 }, (_, i) => ({ filename: `part-${i}.txt`, content: `part ${i}` }));
    // Hundreds of PutObjects at once exhausted the client's sockets (ECONNRESET): they go a few at a time.
    let inFlight = 0;
    let most = 0;
    h.s3.client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName !== 'PutObjectCommand') return next(args);
      most = Math.max(most, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    }, { step: 'initialize', name: 'countInFlightPuts' });
    const email = await receive(await mime({ from: 'x@sender.example', to: `support@${acme.domain}`, subject: 'Many parts', text: 'x', attachments }));
    h.s3.client.middlewareStack.remove('countInFlightPuts');
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(RECEIVED_PUT_CONCURRENCY);
    expect(email.parseError).toBeUndefined();
    expect(email.attachments).toHaveLength(MAX_RECEIVED_ATTACHMENTS);
    expect(email.attachmentsOmitted).toBe(700 - MAX_RECEIVED_ATTACHMENTS);
    expect(email.attachments[499]!.filename).toBe('part-499.txt');
    expect(h.logs.some((l) => l.includes('more attachments than are kept'))).toBe(true);
  }, 60_000);

  it('a 30 MB message: its body capped at INLINE_BODY_BYTES, its attachment kept whole', async () => {
    const blob = Buffer.alloc(20 * 1024 * 1024, 'abc');
    const text = 'é'.repeat(INLINE_BODY_BYTES); // 2 bytes each: twice the cap
    const raw = await mime({ from: 'x@sender.example', to: `support@${acme.domain}`, subject: 'Huge', text, attachments: [{ filename: 'blob.bin', content: blob }] });
    expect(raw.length).toBeGreaterThan(30 * 1024 * 1024);
    const email = await receive(raw);
    expect(email).toMatchObject({ bodyTruncated: true, rawSize: raw.length });
    const body = await h.content.readReceivedBody(acme.tenantId, email.id);
    expect(Buffer.byteLength(body.text!, 'utf8')).toBe(INLINE_BODY_BYTES);
    expect(body.text!.endsWith('é')).toBe(true);
    expect(email.attachments[0]!.size).toBe(blob.length);
  }, 120_000);
});
