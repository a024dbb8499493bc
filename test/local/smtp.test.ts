/**
 * Local mode's SMTP listener follows the crash rules (docs/local-durability.md): a message is in the
 * spool, fsynced, before the client gets its 250; what was accepted and not processed is processed
 * at the next start; a processed message leaves the spool. SMTP is spoken by nodemailer's transport;
 * the raw message goes to the local S3 stand-in; the "inbound handler" here records the receipt
 * events it is given (the inbound core itself has its own tests, and the e2e test runs both).
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createTransport } from 'nodemailer';
import { rawMessageKey } from '../../lambdas/core/content';
import { parseReceiptEvent } from '../../lambdas/core/domain/inbound';
import { silentLogger } from '../../lambdas/core/log';
import { startLocalSmtp, type LocalSmtp } from '../../lambdas/local/smtp';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { receiptNoticesFromDlqBody } from '../../lambdas/inbound/redrive';
import { startTestS3, startTestSqs, type TestS3 } from '../support/services';

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(() => s3.close());

type Inbound = (event: unknown) => Promise<unknown>;

async function start(dir: string, inbound: Inbound, park?: (record: string) => Promise<void>): Promise<LocalSmtp> {
  return startLocalSmtp({ port: 0, dir, s3: s3.client, bucket: s3.bucket, inbound, log: silentLogger, retryDelayMs: 10, ...(park ? { park } : {}) });
}

const send = (smtp: LocalSmtp, to: string[], subject = 'Hi') =>
  createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true })
    .sendMail({ from: 'a@sender.example', to, subject, text: 'hello' });

const spool = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

it('listens on 127.0.0.1 only, and a taken port is refused cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-smtp-'));
  const smtp = await start(dir, async () => undefined);
  expect(smtp.host).toBe('127.0.0.1');
  await expect(startLocalSmtp({ port: smtp.port, dir, s3: s3.client, bucket: s3.bucket, inbound: async () => undefined, log: silentLogger })).rejects.toThrow(/EADDRINUSE/);
  await smtp.close();
});

it('answers 250 once the message is spooled, then stores it raw and invokes the inbound handler with a receipt event', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-smtp-'));
  const events: unknown[] = [];
  let spooledWhenInvoked: string[] = [];
  const smtp = await start(dir, async (event) => {
    spooledWhenInvoked = spool(dir);
    events.push(event);
  });
  const sent = await send(smtp, ['one@inbound.test', 'two@inbound.test'], 'Spooled');
  expect(sent.response).toMatch(/^250 Ok: queued as /);
  await smtp.idle();
  const [notice] = parseReceiptEvent(events[0]);
  expect(notice).toMatchObject({ recipients: ['one@inbound.test', 'two@inbound.test'], source: 'a@sender.example', verdicts: { spam: 'PASS', virus: 'PASS', spf: 'GRAY', dkim: 'GRAY', dmarc: 'GRAY' } });
  expect(sent.response).toContain(notice!.sesMessageId);
  // The spool held it while the handler ran, and lets it go after.
  expect(spooledWhenInvoked).toEqual([`${notice!.sesMessageId}.msg`]);
  expect(spool(dir)).toEqual([]);
  const raw = await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: rawMessageKey(notice!.sesMessageId) }))).Body!.transformToString();
  expect(raw).toContain('Subject: Spooled');
  await smtp.close();
});

it('keeps a message the handler failed on (after Lambda\'s two retries) and processes it at the next start, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-smtp-'));
  let calls = 0;
  const failing = await start(dir, async () => {
    calls += 1;
    throw new Error('DynamoDB is down');
  });
  await send(failing, ['x@inbound.test'], 'Kept');
  await failing.idle();
  expect(calls).toBe(3);
  const [file] = spool(dir);
  expect(file).toMatch(/\.msg$/);
  await failing.close();

  // A restart: what was accepted is processed before anything else, and leaves the spool.
  const events: unknown[] = [];
  // An interrupted accept (its temporary file) was never acknowledged: removed at start.
  writeFileSync(join(dir, `${file}.123.abcdef12.tmp`), 'half');
  const again = await start(dir, async (event) => void events.push(event));
  await again.idle();
  expect(events).toHaveLength(1);
  expect(parseReceiptEvent(events[0])[0]!.sesMessageId).toBe(file!.replace(/\.msg$/, ''));
  expect(spool(dir)).toEqual([]);
  await again.close();
  const third = await start(dir, async (event) => void events.push(event));
  await third.idle();
  expect(events).toHaveLength(1);
  await third.close();
});

it('refuses a message over SES\'s 40 MB with 552, spooling nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-smtp-'));
  const smtp = await start(dir, async () => undefined);
  const transport = createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true });
  await expect(transport.sendMail({ from: 'a@sender.example', to: 'x@inbound.test', subject: 'big', text: 'x'.repeat(41 * 1024 * 1024) })).rejects.toMatchObject({ responseCode: 552 });
  expect(spool(dir)).toEqual([]);
  await smtp.close();
}, 60_000);

it('parks a message the handler failed on in the inbound DLQ, as Lambda\'s on-failure destination, and lets it leave the spool', async () => {
  // Prepare: the local SQS's queue standing in for local mode's inbound DLQ.
  const sqs = await startTestSqs();
  const dlq = await sqs.freshQueue();
  const dir = mkdtempSync(join(tmpdir(), 'sesame-smtp-'));
  let calls = 0;
  const smtp = await start(dir, async () => {
    calls += 1;
    throw new Error('DynamoDB is down');
  }, async (record) => void (await sqs.client.send(new SendMessageCommand({ QueueUrl: dlq.url, MessageBody: record }))));

  // Act
  await send(smtp, ['x@inbound.test'], 'Parked');
  await smtp.idle();
  await smtp.close();

  // Assess: three attempts, then one invocation record whose payload is the receipt event, readable by dlq redrive.
  expect(calls).toBe(3);
  expect(spool(dir)).toEqual([]);
  const { Messages } = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: dlq.url, MaxNumberOfMessages: 10 }));
  expect(Messages).toHaveLength(1);
  const record = JSON.parse(Messages![0]!.Body!);
  expect(record).toMatchObject({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 }, responsePayload: { errorMessage: 'DynamoDB is down' } });
  const [notice] = receiptNoticesFromDlqBody(Messages![0]!.Body!)!;
  expect(notice!.recipients).toEqual(['x@inbound.test']);
  // The raw message is where the receipt rule put it, for the redrive.
  const raw = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: rawMessageKey(notice!.sesMessageId) }));
  expect(await raw.Body!.transformToString()).toContain('Subject: Parked');
  await sqs.close();
});

it('keeps a message in the spool when parking it fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-smtp-'));
  const smtp = await start(dir, async () => { throw new Error('DynamoDB is down'); }, async () => { throw new Error('SQS is down too'); });
  await send(smtp, ['x@inbound.test'], 'Kept');
  await smtp.idle();
  await smtp.close();
  expect(spool(dir)).toEqual([expect.stringMatching(/\.msg$/)]);
});
