/**
 * Received emails in DynamoDB (lambdas/core/table.ts): one item each, `RE#<id>` / `RECEIVED`, put
 * once under `attribute_not_exists(pk)`, its id derived from the tenant and SES's message id
 * (domain/inbound.ts), so a redelivered receipt event writes nothing. The bodies and attachments
 * are in the content bucket; the item holds the addresses, subject, verdicts, headers (at most
 * MAX_HEADER_BYTES) and attachment metadata (at most MAX_RECEIVED_ATTACHMENTS, about 150 bytes each).
 *
 * Listing: keys-only gsi2 entries spread over EMAIL_LIST_SHARDS partitions per tenant, merged on
 * read (as emails are), then one BatchGetItem without the headers.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { EMAIL_LIST_SHARDS, keys } from '../table';
import type { ReceivedAttachment, ReceivedEmail, Verdicts, VerdictStatus } from '../domain/inbound';
import { batchGetAll, type Db, expiresAt, isConditionFailure, isLive } from './dynamo';
import { type DateListKeys, type ListOptions, listIdsByDate } from './emails';

/** A received email with what GET /emails/receiving/{id} adds to the list's fields. */
export interface StoredReceivedEmail extends ReceivedEmail {
  readonly headers: Readonly<Record<string, string>>;
  /** A body was cut at INLINE_BODY_BYTES. */
  readonly bodyTruncated: boolean;
}

export interface ReceivedPage {
  readonly data: StoredReceivedEmail[];
  readonly hasMore: boolean;
}

const shardOf = (id: string): number => parseInt(id.slice(0, 2), 16) % EMAIL_LIST_SHARDS;

const RECEIVED_LIST: DateListKeys = { item: keys.receivedEmail, list: keys.receivedList, what: 'received email' };

const LIST_PROJECTION = 'pk, sk, email_id, tenant_id, ses_message_id, created_at, #f, #t, cc, bcc, reply_to, received_for, subject, message_id, verdicts, attachments, attachments_omitted, raw_size, parse_error, body_truncated, expires_at';

export class ReceivedEmailStore {
  constructor(
    private readonly db: Db,
    private readonly retentionDays: number,
  ) {}

  /** Writes the email once; `exists` when a previous delivery of the same message wrote it. */
  async put(email: StoredReceivedEmail): Promise<'created' | 'exists'> {
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: {
          ...keys.receivedEmail(email.id),
          kind: 'received_email',
          email_id: email.id,
          tenant_id: email.tenantId,
          ses_message_id: email.sesMessageId,
          created_at: email.createdAt,
          from: email.from,
          to: email.to,
          cc: email.cc,
          bcc: email.bcc,
          reply_to: email.replyTo,
          received_for: email.receivedFor,
          subject: email.subject,
          message_id: email.messageId,
          verdicts: toVerdictItem(email.verdicts),
          attachments: email.attachments.map(toAttachmentItem),
          attachments_omitted: email.attachmentsOmitted,
          raw_size: email.rawSize,
          headers: email.headers,
          body_truncated: email.bodyTruncated,
          ...(email.parseError !== undefined ? { parse_error: email.parseError } : {}),
          expires_at: expiresAt(this.db.now(), this.retentionDays),
          gsi2pk: keys.receivedList(email.tenantId, shardOf(email.id)),
          gsi2sk: `${email.createdAt}#${email.id}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return 'created';
    } catch (error) {
      if (isConditionFailure(error)) return 'exists';
      throw error;
    }
  }

  /** The tenant's received email, or undefined (absent, another tenant's, past retention). */
  async get(tenantId: string, id: string): Promise<StoredReceivedEmail | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.receivedEmail(id) }));
    if (!Item || Item.tenant_id !== tenantId || !isLive(Item as { expires_at?: number }, this.db.now())) return undefined;
    return fromItem(Item);
  }

  /** A tenant's received emails, newest first (`after`: older than that email; `before`: newer). */
  async list(tenantId: string, options: ListOptions): Promise<ReceivedPage> {
    const { ids, hasMore } = await listIdsByDate(this.db, RECEIVED_LIST, tenantId, this.retentionDays, options);
    const items = await batchGetAll(this.db, ids.map((id) => keys.receivedEmail(id)), { projection: LIST_PROJECTION, names: { '#f': 'from', '#t': 'to' } });
    const byId = new Map(items.map((i) => [i.email_id as string, i]));
    const data = ids.flatMap((id) => {
      const item = byId.get(id);
      return item && item.tenant_id === tenantId && isLive(item as { expires_at?: number }, this.db.now()) ? [fromItem(item)] : [];
    });
    return { data, hasMore };
  }
}

const toVerdictItem = (v: Verdicts) => ({ spam: v.spam, virus: v.virus, spf: v.spf, dkim: v.dkim, dmarc: v.dmarc, ...(v.dmarcPolicy !== undefined ? { dmarc_policy: v.dmarcPolicy } : {}) });

function fromVerdictItem(i: Record<string, unknown> | undefined): Verdicts {
  const s = (k: string) => ((i?.[k] as VerdictStatus | undefined) ?? 'PROCESSING_FAILED');
  return { spam: s('spam'), virus: s('virus'), spf: s('spf'), dkim: s('dkim'), dmarc: s('dmarc'), ...(typeof i?.dmarc_policy === 'string' ? { dmarcPolicy: i.dmarc_policy } : {}) };
}

const toAttachmentItem = (a: ReceivedAttachment) => ({
  id: a.id, filename: a.filename, content_type: a.contentType, content_id: a.contentId, disposition: a.disposition, size: a.size,
});

const fromAttachmentItem = (i: Record<string, unknown>): ReceivedAttachment => ({
  id: i.id as string,
  filename: (i.filename as string | null | undefined) ?? null,
  contentType: i.content_type as string,
  contentId: (i.content_id as string | null | undefined) ?? null,
  disposition: i.disposition === 'inline' ? 'inline' : 'attachment',
  size: Number(i.size ?? 0),
});

function fromItem(i: Record<string, unknown>): StoredReceivedEmail {
  return {
    id: i.email_id as string,
    tenantId: i.tenant_id as string,
    sesMessageId: i.ses_message_id as string,
    createdAt: i.created_at as string,
    from: (i.from as string | undefined) ?? '',
    to: (i.to as string[] | undefined) ?? [],
    cc: (i.cc as string[] | undefined) ?? [],
    bcc: (i.bcc as string[] | undefined) ?? [],
    replyTo: (i.reply_to as string[] | undefined) ?? [],
    receivedFor: (i.received_for as string[] | undefined) ?? [],
    subject: (i.subject as string | undefined) ?? '',
    messageId: (i.message_id as string | undefined) ?? '',
    verdicts: fromVerdictItem(i.verdicts as Record<string, unknown> | undefined),
    attachments: ((i.attachments as Record<string, unknown>[] | undefined) ?? []).map(fromAttachmentItem),
    attachmentsOmitted: Number(i.attachments_omitted ?? 0),
    rawSize: Number(i.raw_size ?? 0),
    headers: (i.headers as Record<string, string> | undefined) ?? {},
    bodyTruncated: i.body_truncated === true,
    ...(typeof i.parse_error === 'string' ? { parseError: i.parse_error } : {}),
  };
}
