/**
 * Local mode's SES events: for every email the embedded SES server accepts, the events SES would
 * publish for it, following the SES mailbox simulator, delivered to the ingest handler as SNS
 * would invoke it (one SNS record per invocation, asynchronously, retried on failure).
 *
 * Per recipient (`+label`s allowed; Resend's test addresses behave as their simulator equivalents,
 * which the send already maps them to):
 * - `success@simulator.amazonses.com` and any other address: Delivery;
 * - `bounce@`: Bounce, Permanent / General, with a DSN;
 * - `complaint@`: Delivery, then Complaint (abuse feedback report);
 * - `ooto@`: Delivery (SES's simulator answers with an auto-reply, which publishes no event);
 * - `suppressionlist@`: Bounce, Permanent / OnAccountSuppressionList, as SES reports an address on
 *   the account's suppression list.
 * - an address on the suppression list the send met (the SES tenant's, when the send names a tenant
 *   whose scope is TENANT, else the account's; see lambdas/local/ses-tenants.ts): Bounce, Permanent /
 *   OnTenantSuppressionList or OnAccountSuppressionList.
 * Every email also gets a Send event first. The JSON is SES's event publishing format (see
 * test/fixtures/ses-events), with the `mail` object SES builds: `ses:*` tags plus the EmailTags.
 * As in SES, an email sent without a configuration set publishes no events.
 *
 * The events of an email are planned when the local SES server accepts it and kept in the event
 * outbox (event-outbox.ts) until all are applied; startLocalEvents delivers what the outbox holds,
 * at the time each event is due, including what a previous run left.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SNSEvent, SNSEventRecord } from 'aws-lambda';
import { SIMULATOR_DOMAIN, toSesAddress } from '../core/domain/email';
import { logger as rootLogger, type Logger } from '../core/log';
import { localLambdaContext } from './api-server';
import type { EventOutbox, OutboxEntry, ScheduledSesEvent } from './event-outbox';
import type { SendEvent } from './ses-server';

export type { ScheduledSesEvent } from './event-outbox';

export type SimulatedOutcome = 'delivered' | 'bounced' | 'complained' | 'out_of_office' | 'suppressed';

/** The bare address of `Name <a@b>` or `a@b`. */
const bare = (raw: string): string => /<([^<>]+)>\s*$/.exec(raw)?.[1]?.trim() ?? raw.trim();

/** What the SES mailbox simulator does with mail to `address`. */
export function simulatedOutcome(address: string): SimulatedOutcome {
  const ses = toSesAddress(bare(address));
  const at = ses.lastIndexOf('@');
  if (at < 0 || ses.slice(at + 1).toLowerCase() !== SIMULATOR_DOMAIN) return 'delivered';
  switch (ses.slice(0, at).split('+')[0]!.toLowerCase()) {
    case 'bounce':
      return 'bounced';
    case 'complaint':
      return 'complained';
    case 'ooto':
      return 'out_of_office';
    case 'suppressionlist':
      return 'suppressed';
    default:
      return 'delivered';
  }
}

export interface SimulationOptions {
  readonly region: string;
  readonly accountId: string;
  /** Milliseconds between the steps of an email's life (default 100). */
  readonly stepMs?: number;
}

const sesId = (ms: number) => `0100${ms.toString(16).padStart(12, '0')}-${randomUUID()}-000000`;
const iso = (ms: number) => new Date(ms).toISOString();

function mailObject(send: SendEvent, options: SimulationOptions, delivered: boolean): Record<string, unknown> {
  const { envelope, request } = send;
  const from = bare(envelope.from);
  const fromDomain = from.slice(from.lastIndexOf('@') + 1).toLowerCase();
  // Tag names are the customer's: a map without a prototype keeps a `__proto__` tag as SES does.
  const tags: Record<string, string[]> = Object.assign(Object.create(null) as Record<string, string[]>, {
    'ses:configuration-set': [request.ConfigurationSetName ?? ''],
    'ses:source-ip': ['127.0.0.1'],
    'ses:from-domain': [fromDomain],
    'ses:caller-identity': ['local'],
    ...(delivered ? { 'ses:outgoing-ip': ['127.0.0.1'] } : {}),
  });
  for (const tag of request.EmailTags ?? []) if (tag.Name) tags[tag.Name] = [tag.Value ?? ''];
  const headers = [
    { name: 'From', value: envelope.from },
    ...(envelope.to.length ? [{ name: 'To', value: envelope.to.join(', ') }] : []),
    ...(envelope.cc.length ? [{ name: 'Cc', value: envelope.cc.join(', ') }] : []),
    { name: 'Subject', value: envelope.subject },
    { name: 'MIME-Version', value: '1.0' },
    { name: 'Content-Type', value: 'multipart/alternative; boundary="----=_Part_0_local"' },
  ];
  return {
    timestamp: send.timestamp,
    source: envelope.from,
    sourceArn: `arn:aws:ses:${options.region}:${options.accountId}:identity/${fromDomain}`,
    sendingAccountId: options.accountId,
    messageId: send.messageId,
    destination: [...envelope.to, ...envelope.cc, ...envelope.bcc].map(bare),
    headersTruncated: false,
    headers,
    commonHeaders: {
      from: [envelope.from],
      ...(envelope.to.length ? { to: [...envelope.to] } : {}),
      ...(envelope.cc.length ? { cc: [...envelope.cc] } : {}),
      messageId: send.messageId,
      subject: envelope.subject,
    },
    tags,
  };
}

/** The SES events (event publishing format) of one accepted email, in the order SES publishes them. */
export function simulateSesEvents(send: SendEvent, options: SimulationOptions): ScheduledSesEvent[] {
  if (!send.request.ConfigurationSetName) return [];
  const step = options.stepMs ?? 100;
  const start = Date.parse(send.timestamp);
  const recipients = [...send.envelope.to, ...send.envelope.cc, ...send.envelope.bcc].map(bare);
  const events: ScheduledSesEvent[] = [{ afterMs: step, event: { eventType: 'Send', mail: mailObject(send, options, false), send: {} } }];

  recipients.forEach((address, i) => {
    const at = step * 2 + i * 10;
    const listed = send.suppressed?.find((s) => s.address.toLowerCase() === address.toLowerCase());
    const outcome = listed ? 'suppressed' : simulatedOutcome(address);
    if (outcome === 'bounced' || outcome === 'suppressed') {
      const suppressed = outcome === 'suppressed';
      const onTenantList = listed?.list === 'tenant';
      events.push({
        afterMs: at,
        event: {
          eventType: 'Bounce',
          bounce: {
            bounceType: 'Permanent',
            bounceSubType: !suppressed ? 'General' : onTenantList ? 'OnTenantSuppressionList' : 'OnAccountSuppressionList',
            bouncedRecipients: [{
              emailAddress: address,
              action: 'failed',
              status: '5.1.1',
              diagnosticCode: suppressed
                ? `Amazon SES did not send the message to this address because it is on the suppression list for your ${onTenantList ? 'tenant' : 'account'}.`
                : 'smtp; 550 5.1.1 user unknown',
            }],
            timestamp: iso(start + at),
            feedbackId: sesId(start + at),
            reportingMTA: suppressed ? 'dns; amazonses.com' : 'dsn; simulator.amazonses.com',
          },
          mail: mailObject(send, options, false),
        },
      });
      return;
    }
    events.push({
      afterMs: at,
      event: {
        eventType: 'Delivery',
        mail: mailObject(send, options, true),
        delivery: {
          timestamp: iso(start + at),
          processingTimeMillis: at,
          recipients: [address],
          smtpResponse: '250 2.6.0 Message received',
          reportingMTA: 'a0-0.smtp-out.local.amazonses.com',
          remoteMtaIp: '127.0.0.1',
        },
      },
    });
    if (outcome === 'complained') {
      // A complaint comes from the recipient, after every delivery of the email.
      const complainedAt = step * 2 + recipients.length * 10 + step * 3 + i * 10;
      events.push({
        afterMs: complainedAt,
        event: {
          eventType: 'Complaint',
          complaint: {
            complainedRecipients: [{ emailAddress: address }],
            timestamp: iso(start + complainedAt),
            feedbackId: sesId(start + complainedAt),
            userAgent: 'Amazon SES Mailbox Simulator',
            complaintFeedbackType: 'abuse',
            arrivalDate: iso(start + complainedAt),
          },
          mail: mailObject(send, options, true),
        },
      });
    }
  });
  return events.sort((a, b) => a.afterMs - b.afterMs);
}

/** A placeholder: SNS signs what it delivers over HTTP; a Lambda subscriber does not verify it. */
const LOCAL_SIGNATURE = Buffer.from('local mode: not signed').toString('base64');

/** Wraps an SES event as SNS invokes a subscribed Lambda function: one record. */
export function toSnsEvent(sesEvent: Readonly<Record<string, unknown>>, topicArn: string, subscriptionId: string, now = Date.now()): SNSEvent {
  const region = topicArn.split(':')[3] ?? 'us-east-1';
  const record: SNSEventRecord = {
    EventSource: 'aws:sns',
    EventVersion: '1.0',
    EventSubscriptionArn: `${topicArn}:${subscriptionId}`,
    Sns: {
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: topicArn,
      Subject: 'Amazon SES Email Event Notification',
      // SES ends the message with a newline; SNS signs it as is.
      Message: JSON.stringify(sesEvent) + '\n',
      Timestamp: iso(now),
      SignatureVersion: '1',
      Signature: LOCAL_SIGNATURE,
      SigningCertUrl: `https://sns.${region}.amazonaws.com/SimpleNotificationService-local.pem`,
      UnsubscribeUrl: `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:${subscriptionId}`,
      MessageAttributes: {},
    },
  };
  return { Records: [record] };
}

export interface LocalEventsOptions {
  /** The outbox the local SES server's journal fills (EventOutbox). */
  readonly outbox: Pick<EventOutbox, 'entries' | 'onCommit' | 'settle'>;
  /** The ingest function's handler. */
  readonly ingest: (event: SNSEvent, context: Context) => Promise<void>;
  /** The topic the events come from (SESAME_EVENTS_TOPIC_ARN). */
  readonly topicArn: string;
  /**
   * Delays before retrying a failed invocation. Default: two retries, after 1 s and 2 s, as Lambda
   * retries an asynchronous invocation twice (after about a minute and two in AWS). An event still
   * failing stays in the outbox and is tried again at the next start (in AWS it would wait in the
   * ingest DLQ for `npx sesame dlq redrive`).
   */
  readonly retryDelaysMs?: readonly number[];
  readonly now?: () => number;
  readonly log?: Logger;
}

export interface LocalEvents {
  /** Resolves once every event due so far was delivered, or given up after its retries. */
  idle(): Promise<void>;
  /** Stops delivering; what is not applied yet stays in the outbox for the next start. */
  stop(): Promise<void>;
}

/** Plans the events of accepted emails as the SES mailbox simulator would publish them. */
export function simulationPlan(options: { region: string; topicArn: string; stepMs?: number }): (email: SendEvent) => ScheduledSesEvent[] {
  const accountId = options.topicArn.split(':')[4] || '000000000000';
  return (email) => simulateSesEvents(email, { region: options.region, accountId, ...(options.stepMs !== undefined ? { stepMs: options.stepMs } : {}) });
}

export function startLocalEvents(options: LocalEventsOptions): LocalEvents {
  const log = (options.log ?? rootLogger).child({ component: 'local-ses-events' });
  const retryDelays = options.retryDelaysMs ?? [1000, 2000];
  const now = options.now ?? Date.now;
  const subscriptionId = randomUUID();
  const sleepers = new Set<{ timer: NodeJS.Timeout; wake: (go: boolean) => void }>();
  const pending = new Set<Promise<void>>();
  const started = new Set<string>();
  let stopped = false;

  /** Waits `ms`; false when stopped meanwhile. */
  const later = (ms: number) =>
    new Promise<boolean>((resolve) => {
      if (stopped) return resolve(false);
      const sleeper = {
        timer: setTimeout(() => sleeper.wake(true), Math.max(0, ms)),
        wake: (go: boolean) => {
          clearTimeout(sleeper.timer);
          sleepers.delete(sleeper);
          resolve(go && !stopped);
        },
      };
      sleepers.add(sleeper);
    });

  /** Delivers one event when due, retrying; true once the ingest handler took it. */
  const deliver = async (scheduled: ScheduledSesEvent, entry: OutboxEntry): Promise<boolean> => {
    if (!(await later(entry.acceptedAt + scheduled.afterMs - now()))) return false;
    const event = toSnsEvent(scheduled.event, options.topicArn, subscriptionId);
    for (let attempt = 0; ; attempt++) {
      try {
        await options.ingest(event, localLambdaContext('ingest'));
        return true;
      } catch (error) {
        if (attempt >= retryDelays.length) {
          log.error('local SES event not ingested after its retries; kept in the outbox for the next start (in AWS it would wait in the ingest DLQ)', {
            sesMessageId: entry.messageId, eventType: scheduled.event.eventType, error,
          });
          return false;
        }
        if (!(await later(retryDelays[attempt]!))) return false;
      }
    }
  };

  const run = (entry: OutboxEntry) => {
    if (stopped || started.has(entry.messageId)) return;
    started.add(entry.messageId);
    const work = (async () => {
      const applied = await Promise.all(entry.events.map((e) => deliver(e, entry)));
      if (applied.every(Boolean)) await options.outbox.settle(entry.messageId);
    })().catch((error: unknown) => log.error('local SES events: could not settle an outbox entry; it is delivered again at the next start', { sesMessageId: entry.messageId, error }));
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const unsubscribe = options.outbox.onCommit(run);
  for (const entry of options.outbox.entries()) run(entry);

  return {
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
    async stop() {
      stopped = true;
      unsubscribe();
      for (const sleeper of [...sleepers]) sleeper.wake(false);
      // An invocation already running is let finish.
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
