/**
 * The inbound function's core: one SES receipt notice (domain/inbound.ts) becomes one received email
 * per tenant whose domains it was for, with `email.received` fired to that tenant's endpoints.
 *
 * 1. SES marked a virus: dropped (the raw message deleted), counted, logged.
 * 2. Each recipient's domain is read (`DN#<name>`); recipients of domains without receiving on (or
 *    unknown) are dropped and counted. No recipient left: the raw message is deleted.
 * 3. The raw message (`inbound/<SES message id>`, written by the receipt rule's S3 action) is parsed
 *    once, streamed through mailparser. Broken MIME never throws: what could be parsed is kept, and
 *    the error logged and stored with the email; the raw message stays downloadable.
 * 4. Per tenant: the attachments and the (capped) bodies are written to the content bucket under keys
 *    derived from the email id, then the email item is put once (`attribute_not_exists`), then
 *    `email.received` is queued through the webhook fan-out, its event id derived from the email.
 *
 * A redelivery (Lambda's retries, a DLQ redrive, local mode replaying a message accepted before a
 * crash) repeats every step with the same keys and ids: the objects are rewritten with the same
 * bytes, the put finds the item, and the deliveries already made are dropped by the deliver
 * function. The effect is once. A failure of S3, DynamoDB or SQS throws, so Lambda retries, then
 * parks the event in the on-failure destination (the inbound DLQ).
 */
import type { Readable } from 'node:stream';
import { attributed } from '../core/aws-calls';
import type { Logger } from '../core/log';
import type { BusinessMetrics } from '../core/metrics';
import type { ContentStore } from '../core/adapters/content';
import type { DomainStore } from '../core/adapters/domains';
import type { ReceivedEmailStore, StoredReceivedEmail } from '../core/adapters/received-emails';
import type { ReadyEvent } from '../core/adapters/fan-out';
import {
  type ReceiptNotice,
  parseReceiptEvent,
  receivedAttachmentId,
  receivedEmailId,
  receivedEventId,
  receivedPayload,
  recipientsByDomain,
} from '../core/domain/inbound';
import { type ParsedMessage, parseMessage } from './parse';

export interface InboundDeps {
  readonly content: Pick<ContentStore, 'readRaw' | 'removeRaw' | 'putReceivedAttachments' | 'putReceivedBody'>;
  readonly domains: Pick<DomainStore, 'getByName'>;
  readonly received: Pick<ReceivedEmailStore, 'put'>;
  readonly fanOut: { publishReady(event: ReadyEvent): Promise<void> };
  readonly metrics: BusinessMetrics;
  readonly log: Logger;
  /** Reads the raw message; the default is the content store's. Tests give a stream of their own. */
  readonly parse?: (raw: Readable) => Promise<ParsedMessage>;
}

/** What became of one notice, for logs and tests. */
export interface InboundOutcome {
  readonly sesMessageId: string;
  readonly stored: readonly { readonly tenantId: string; readonly emailId: string; readonly created: boolean }[];
  readonly dropped: readonly string[];
  readonly virus: boolean;
}

/** The tenants the recipients belong to, each with its recipients; and the recipients nobody receives. */
async function tenantsOf(deps: InboundDeps, recipients: readonly string[]): Promise<{ byTenant: Map<string, string[]>; dropped: string[] }> {
  const byTenant = new Map<string, string[]>();
  const dropped: string[] = [];
  for (const [domain, addresses] of recipientsByDomain(recipients)) {
    const record = await deps.domains.getByName(domain);
    if (!record?.receiving) {
      dropped.push(...addresses);
      continue;
    }
    byTenant.set(record.tenantId, [...(byTenant.get(record.tenantId) ?? []), ...addresses]);
  }
  const known = new Set([...byTenant.values()].flat());
  for (const r of recipients) if (!known.has(r) && !dropped.includes(r)) dropped.push(r);
  return { byTenant, dropped };
}

export async function receiveNotice(deps: InboundDeps, notice: ReceiptNotice): Promise<InboundOutcome> {
  const log = deps.log;
  const base = { sesMessageId: notice.sesMessageId, verdicts: notice.verdicts };
  if (notice.verdicts.virus === 'FAIL') {
    await deps.content.removeRaw(notice.sesMessageId);
    deps.metrics.count('InboundDropped', { reason: 'virus' });
    log.warn('received message dropped: SES found a virus', base);
    return { sesMessageId: notice.sesMessageId, stored: [], dropped: [...notice.recipients], virus: true };
  }
  const { byTenant, dropped } = await tenantsOf(deps, notice.recipients);
  if (dropped.length > 0) {
    deps.metrics.count('InboundDropped', { reason: 'no_receiving_domain', value: dropped.length });
    log.info('recipients dropped: their domain does not receive', { ...base, recipients: dropped.length });
  }
  if (byTenant.size === 0) {
    await deps.content.removeRaw(notice.sesMessageId);
    return { sesMessageId: notice.sesMessageId, stored: [], dropped, virus: false };
  }

  const raw = await deps.content.readRaw(notice.sesMessageId);
  const parsed = await (deps.parse ?? parseMessage)(raw);
  if (parsed.error !== undefined) {
    log.warn('received message only partly parsed; kept raw with what could be read', { ...base, error: parsed.error, rawSize: parsed.rawSize });
  }
  if (parsed.attachmentsOmitted > 0) log.warn('received message has more attachments than are kept', { ...base, omitted: parsed.attachmentsOmitted });

  const stored: { tenantId: string; emailId: string; created: boolean }[] = [];
  for (const [tenantId, receivedFor] of byTenant) {
    const id = receivedEmailId(tenantId, notice.sesMessageId);
    const attachments = parsed.attachments.map((a, index) => ({ ...a, id: receivedAttachmentId(id, index) }));
    await deps.content.putReceivedAttachments(tenantId, id, attachments.map((a) => ({
      id: a.id, filename: a.filename ?? `attachment-${a.id.slice(0, 8)}`, contentType: a.contentType, content: a.content,
    })));
    await deps.content.putReceivedBody(tenantId, id, {
      ...(parsed.html !== undefined ? { html: parsed.html } : {}),
      ...(parsed.text !== undefined ? { text: parsed.text } : {}),
      ...(parsed.bodyTruncated ? { truncated: true } : {}),
    });
    const email: StoredReceivedEmail = {
      id,
      tenantId,
      sesMessageId: notice.sesMessageId,
      createdAt: notice.timestamp,
      // A message without a From header (or with an unreadable one) is shown with its envelope sender.
      from: parsed.from || notice.source,
      to: parsed.to,
      cc: parsed.cc,
      bcc: parsed.bcc,
      replyTo: parsed.replyTo,
      receivedFor,
      subject: parsed.subject,
      messageId: parsed.messageId,
      verdicts: notice.verdicts,
      attachments: attachments.map((a) => ({ id: a.id, filename: a.filename, contentType: a.contentType, contentId: a.contentId, disposition: a.disposition, size: a.content.length })),
      attachmentsOmitted: parsed.attachmentsOmitted,
      rawSize: parsed.rawSize,
      headers: parsed.headers,
      bodyTruncated: parsed.bodyTruncated,
      ...(parsed.error !== undefined ? { parseError: parsed.error } : {}),
    };
    const outcome = await deps.received.put(email);
    // Queued on every delivery of the message: a crash after the put must not lose the webhook, and
    // the delivery ids are derived from the event, so the deliver function drops a repeat.
    await deps.fanOut.publishReady({ eventId: receivedEventId(id), tenantId, type: 'email.received', timestamp: notice.timestamp, payload: receivedPayload(email), emailId: id });
    if (outcome === 'created') deps.metrics.count('EmailsReceived', { tenantId });
    log.info('email received', { ...base, tenantId, emailId: id, redelivery: outcome === 'exists', attachments: attachments.length });
    stored.push({ tenantId, emailId: id, created: outcome === 'created' });
  }
  return { sesMessageId: notice.sesMessageId, stored, dropped, virus: false };
}

/** The handler SES's Lambda action invokes (asynchronously): every record of the event, in order. */
export function createInboundHandler(deps: InboundDeps) {
  return attributed('inbound', async (event: unknown): Promise<InboundOutcome[]> => {
    const notices = parseReceiptEvent(event);
    const outcomes: InboundOutcome[] = [];
    for (const notice of notices) outcomes.push(await receiveNotice(deps, notice));
    return outcomes;
  });
}
