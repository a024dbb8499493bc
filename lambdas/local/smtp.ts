/**
 * Local mode's SMTP listener (`smtp-server`, a kept library: no hand-written SMTP), standing in for
 * SES receiving: what SES's receipt rule does, this does on 127.0.0.1 (SESAME_SMTP_PORT, 2525):
 *
 * 1. accept: the raw message and its envelope are written to the spool (`smtp/<id>.msg`, one file,
 *    atomic: written, fsynced, renamed, folder fsynced) BEFORE the client gets its 250;
 * 2. the S3 action: the raw bytes are put into the local S3 stand-in under `inbound/<id>`;
 * 3. the Lambda action: the inbound handler (the same core as in AWS) is invoked with a receipt
 *    event shaped as SES's, the spool id as SES message id; like Lambda's asynchronous invocation,
 *    a failure is tried again twice;
 * 4. the spool file is deleted (durably) once the handler succeeded.
 *
 * At start, every spool file left is processed again (accepted, maybe not processed): the inbound
 * core turns a repetition into a no-op (ids derived from the message id), so nothing is received
 * twice and nothing accepted is lost. A message whose handler still fails after the retries is
 * parked as Lambda's on-failure destination parks it (`park`: local mode's inbound DLQ, an invocation
 * record whose `requestPayload` is the receipt event, for `npx sesame dlq redrive`), then leaves the
 * spool; without `park`, or when parking fails, or when the raw message could not even be stored (the
 * receipt rule's part, before any invocation), it stays in the spool for the next start. Temporary
 * files of an interrupted accept (never acknowledged) are removed at start.
 *
 * No authentication, no STARTTLS (loopback only); every recipient is accepted, as SES's catch-all
 * rule does, and the inbound core drops mail for domains that do not receive. Local mode does not
 * check SPF, DKIM or DMARC, nor scan: the event says GRAY for the authentication verdicts and PASS
 * for spam and virus.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { rawMessageKey } from '../core/content';
import type { Logger } from '../core/log';
import { isTemporaryFile, removeDurably, writeFileAtomic } from './json-files';
import { listenOnLoopback } from './listen';

/** SES's largest received message (40 MB, headers included). */
export const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** Attempts of one message per run: Lambda's first invocation and its two retries. */
const ATTEMPTS = 3;

export interface LocalSmtpOptions {
  /** 0: a free port. */
  readonly port: number;
  /** The spool folder (`<data folder>/smtp`). */
  readonly dir: string;
  readonly s3: Pick<S3Client, 'send'>;
  readonly bucket: string;
  /** The inbound handler, as SES's Lambda action invokes it. */
  readonly inbound: (event: unknown) => Promise<unknown>;
  readonly log: Logger;
  /** Milliseconds between attempts. @default 1000 */
  readonly retryDelayMs?: number;
  /**
   * Lambda's on-failure destination: takes the invocation record (JSON) of a message whose handler
   * failed every attempt; once it resolves, the message leaves the spool. @default - kept in the spool
   */
  readonly park?: (record: string) => Promise<void>;
}

export interface LocalSmtp {
  readonly host: string;
  readonly port: number;
  /** Resolves when every message accepted so far (and the spool found at start) was processed or given up for this run. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** What the spool keeps of an accepted message besides its bytes. */
interface Envelope {
  readonly v: 1;
  readonly id: string;
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  readonly acceptedAt: string;
}

const SPOOL_SUFFIX = '.msg';
const SAFE_ID = /^[A-Za-z0-9-]{1,128}$/;

/** A spool file: one line of JSON (the envelope), then the raw message. */
const spoolBytes = (envelope: Envelope, raw: Buffer): Buffer => Buffer.concat([Buffer.from(JSON.stringify(envelope) + '\n'), raw]);

function readSpool(bytes: Buffer): { envelope: Envelope; raw: Buffer } {
  const nl = bytes.indexOf(0x0a);
  const envelope = JSON.parse(bytes.subarray(0, nl).toString('utf8')) as Envelope;
  if (envelope.v !== 1 || !SAFE_ID.test(envelope.id)) throw new Error('not a spool file');
  return { envelope, raw: bytes.subarray(nl + 1) };
}

/** The receipt event SES's Lambda action would send for this message (the shape of AWS's example). */
export function localReceiptEvent(envelope: Envelope, functionArn = 'arn:aws:lambda:us-east-1:000000000000:function:sesame-inbound') {
  const status = (s: string) => ({ status: s });
  return {
    Records: [{
      eventSource: 'aws:ses',
      eventVersion: '1.0',
      ses: {
        mail: {
          timestamp: envelope.acceptedAt,
          source: envelope.mailFrom,
          messageId: envelope.id,
          destination: [...envelope.rcptTo],
          headersTruncated: false,
          headers: [],
          commonHeaders: {},
        },
        receipt: {
          timestamp: envelope.acceptedAt,
          processingTimeMillis: 0,
          recipients: [...envelope.rcptTo],
          spamVerdict: status('PASS'),
          virusVerdict: status('PASS'),
          spfVerdict: status('GRAY'),
          dkimVerdict: status('GRAY'),
          dmarcVerdict: status('GRAY'),
          action: { type: 'Lambda', functionArn, invocationType: 'Event' },
        },
      },
    }],
  };
}

/** What Lambda's on-failure destination sends for an asynchronous invocation that failed every attempt. */
export function localInvocationRecord(event: unknown, error: unknown, attempts: number, functionArn = 'arn:aws:lambda:us-east-1:000000000000:function:sesame-inbound'): string {
  const failure = error instanceof Error ? { errorType: error.name, errorMessage: error.message } : { errorType: 'Error', errorMessage: String(error) };
  return JSON.stringify({
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: { requestId: randomBytes(16).toString('hex'), functionArn: `${functionArn}:$LATEST`, condition: 'RetriesExhausted', approximateInvokeCount: attempts },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: failure,
  });
}

/** A message id in SES's alphabet, time-ordered so the spool is processed in the order accepted. */
const newMessageId = (): string => `${Date.now().toString(36).padStart(9, '0')}-${randomBytes(12).toString('hex')}`;

export async function startLocalSmtp(options: LocalSmtpOptions): Promise<LocalSmtp> {
  const { dir, log } = options;
  const delay = options.retryDelayMs ?? 1000;
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  // Leftovers of an accept interrupted before its rename were never acknowledged.
  const entries = await readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
  for (const name of entries) if (isTemporaryFile(name)) await rm(path.join(dir, name), { force: true });
  const spooled = entries.filter((n) => n.endsWith(SPOOL_SUFFIX)).sort();

  /** Stores the raw message and invokes the handler; a handler's failure carries the event it failed on. */
  async function processOnce(file: string): Promise<void> {
    const { envelope, raw } = readSpool(await readFile(file));
    await options.s3.send(new PutObjectCommand({ Bucket: options.bucket, Key: rawMessageKey(envelope.id), Body: raw, ContentType: 'message/rfc822' }));
    const event = localReceiptEvent(envelope);
    try {
      await options.inbound(event);
    } catch (error) {
      throw Object.assign(new Error('the inbound handler failed', { cause: error }), { failedEvent: event });
    }
    await removeDurably(file);
  }

  async function processFile(file: string): Promise<void> {
    for (let attempt = 1; attempt <= ATTEMPTS && !closing; attempt++) {
      try {
        await processOnce(file);
        return;
      } catch (error) {
        if (attempt === ATTEMPTS) {
          await giveUp(file, error);
          return;
        }
        await new Promise((r) => setTimeout(r, delay * attempt));
      }
    }
  }

  /** After the last attempt: parked (the handler failed, as Lambda would), else kept for the next start. */
  async function giveUp(file: string, error: unknown): Promise<void> {
    const failedEvent = (error as { failedEvent?: unknown }).failedEvent;
    const cause = failedEvent !== undefined ? (error as Error).cause : error;
    if (options.park && failedEvent !== undefined) {
      try {
        await options.park(localInvocationRecord(failedEvent, cause, ATTEMPTS));
        await removeDurably(file);
        log.error('a received message could not be processed; parked in the inbound DLQ (npx sesame dlq redrive)', { file: path.basename(file), error: cause });
        return;
      } catch (parkError) {
        log.error('a received message could not be parked in the inbound DLQ', { file: path.basename(file), error: parkError });
      }
    }
    log.error('a received message could not be processed; it stays in the spool for the next start', { file: path.basename(file), error: cause });
  }

  const track = (work: Promise<void>) => {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  };

  const server = new SMTPServer({
    banner: 'Sesame local mode (stands in for SES receiving)',
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    size: MAX_MESSAGE_BYTES,
    logger: false,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e: Error) => callback(e));
      stream.on('end', () => {
        if (stream.sizeExceeded) {
          callback(Object.assign(new Error('Message exceeds the 40 MB SES accepts'), { responseCode: 552 }));
          return;
        }
        const envelope: Envelope = {
          v: 1,
          id: newMessageId(),
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          acceptedAt: new Date().toISOString(),
        };
        const file = path.join(dir, `${envelope.id}${SPOOL_SUFFIX}`);
        // Durable before acknowledged: the 250 goes only once the spool file is on disk.
        writeFileAtomic(file, spoolBytes(envelope, Buffer.concat(chunks))).then(
          () => {
            callback(null, `Ok: queued as ${envelope.id}`);
            track(processFile(file));
          },
          (error: unknown) => {
            log.error('could not spool a received message; the client is told to retry', { error });
            callback(Object.assign(new Error('Local spool unavailable, try again later'), { responseCode: 451 }));
          },
        );
      });
    },
  });

  // smtp-server re-emits its socket's errors (and a failed bind) on itself: without a listener that would throw.
  server.on('error', (error: Error) => log.warn('SMTP listener error', { error }));
  let port: number;
  try {
    port = await listenOnLoopback(server.server, options.port);
  } catch (error) {
    server.close(() => undefined);
    throw error;
  }
  // What was accepted before a restart and not processed: processed now, in the order accepted.
  track((async () => {
    for (const name of spooled) if (!closing) await processFile(path.join(dir, name));
  })());

  return {
    host: '127.0.0.1',
    port,
    async idle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    async close() {
      closing = true;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...inFlight]);
    },
  };
}
