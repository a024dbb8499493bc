/**
 * Emails in DynamoDB.
 *
 * - META (`E#<id>`/`META`) is written once, before SendEmail: addresses, subject, tags, the body
 *   gzipped (in `BODY#<n>` chunks unless it is small), and `sending_at`, the `sending` mark. It
 *   carries the keys-only, per-tenant, sharded list index (gsi2).
 * - STATUS (`E#<id>`/`STATUS`, adapters/email-status.ts) is the small item that SendEmail's answer
 *   and every SES event write: last_event, the SES MessageId, recipients, the event log. No STATUS,
 *   or no MessageId in it, is `queued` to the API.
 * - A scheduled email's META has no `sending` mark at first: it holds `schedule_state` (scheduled →
 *   sending → failed, or scheduled → canceled), moved only by single-item conditional writes (dispatch's
 *   claim sets `sending_at`), and `scheduled_at`; its body keeps the custom headers, since it is sent
 *   later. Until SES accepts it (STATUS), the state is its `last_event`.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { EMAIL_LIST_SHARDS, emailIdOfPk, keys, parseListSortKey } from '../table';
import type { EmailStatus } from '../domain/status';
import type { AttachmentMeta } from '../domain/email';
import type { ProblemStatus } from '../domain/problem-index';
import { type SendingStage, contentStageOf, latestDueWithContent } from '../content';
import { batchGetAll, type Db, expiresAt, isConditionFailure, isLive, queryItems, queryShardsMerged } from './dynamo';
import { STATUS_MESSAGE_ID_PROJECTION, statusMessageId } from './email-status';

/**
 * Largest gzipped body kept inline in META; beyond it the body goes to BODY# chunks. Every SES
 * event reads META, and DynamoDB bills a read by the whole item's size (4 KB per read unit), so
 * META stays small: a larger body is written apart once and read only by GET /emails/{id}.
 */
export const INLINE_BODY_BYTES = 2_048;
const CHUNK_BYTES = 350_000;

export interface NewEmail {
  readonly id: string;
  readonly tenantId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly replyTo: readonly string[];
  readonly subject: string;
  readonly html?: string;
  readonly text?: string;
  /** The customer's tags only. */
  readonly tags: readonly { readonly name: string; readonly value: string }[];
  readonly createdAt: string;
  /** The template and version the email was rendered from. */
  readonly template?: { readonly id: string; readonly versionId: string };
  /** Custom headers: sent with a scheduled email at its time, and shown by GET /emails/{id}. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The due time (ISO 8601) of a scheduled email: written `scheduled`, not sent now. */
  readonly scheduledAt?: string;
  /**
   * What is kept of its attachments beside their bytes (in the content bucket): about 150 bytes
   * each on META, which every SES event reads (a read unit is 4 KB).
   */
  readonly attachments?: readonly AttachmentMeta[];
}

/** Where a scheduled email stands before SES has it. */
export type ScheduleState = 'scheduled' | 'sending' | 'canceled' | 'failed';

const STATE_EVENT: Record<ScheduleState, EmailStatus> = { scheduled: 'scheduled', sending: 'queued', canceled: 'canceled', failed: 'failed' };

export interface EmailView extends NewEmail {
  readonly lastEvent: EmailStatus;
  readonly sesMessageId?: string;
  readonly scheduleState?: ScheduleState;
  /** Why dispatch could not send a scheduled email. */
  readonly failedReason?: string;
}

/**
 * The outcome of a conditional move of a scheduled email (cancel, reschedule). A cancel that moved
 * tells which attachments it took off the email (their objects are the caller's to delete); a
 * reschedule of an email with attachments past the time its content is kept for is `too_late`.
 */
export type ScheduleMove =
  | { readonly outcome: 'moved'; readonly attachments?: readonly AttachmentMeta[] }
  | { readonly outcome: 'not_found' }
  | { readonly outcome: 'not_scheduled'; readonly lastEvent: EmailStatus }
  | { readonly outcome: 'too_late'; readonly latestDueMs: number };

/** An email's attachments and where their bytes are (which prefix of the content bucket). */
export interface EmailAttachments {
  readonly stage: SendingStage;
  readonly attachments: AttachmentMeta[];
}

/** What a list returns: the email object without its body. */
export type EmailSummary = Omit<EmailView, 'html' | 'text'>;

export interface ListPage {
  readonly data: EmailSummary[];
  readonly hasMore: boolean;
}

export interface ListOptions {
  readonly limit: number;
  readonly after?: string;
  readonly before?: string;
}

export class InvalidCursorError extends Error {}

/** Where a list by date (listIdsByDate) reads: the item a cursor id names, and a tenant's shard partitions of gsi2. */
export interface DateListKeys {
  /** The item of the email a cursor names (it holds tenant_id, gsi2sk and expires_at). */
  readonly item: (emailId: string) => Record<string, string>;
  /** A tenant's list partition of gsi2 for one shard. */
  readonly list: (tenantId: string, shard: number) => string;
  /** Names the list's emails in the error for a cursor that is not one of them ("email", "received email"). */
  readonly what: string;
}

/**
 * The ids of one page of a tenant's emails (sent or received), newest first, from gsi2's date-ordered
 * shards, within the last `retentionDays` (`after`: older than that email; `before`: newer). A cursor
 * that is not a live email of the tenant is an InvalidCursorError.
 */
export async function listIdsByDate(
  db: Db, where: DateListKeys, tenantId: string, retentionDays: number, options: ListOptions,
): Promise<{ ids: string[]; hasMore: boolean }> {
  const cutoff = new Date(db.now() - retentionDays * 86_400_000).toISOString();
  const cursorId = options.after ?? options.before;
  let cursor: string | undefined;
  if (cursorId !== undefined) {
    const { Item } = await db.doc.send(new GetCommand({
      TableName: db.table, Key: where.item(cursorId), ProjectionExpression: 'tenant_id, gsi2sk, expires_at',
    }));
    if (!Item || Item.tenant_id !== tenantId || !isLive(Item as { expires_at?: number }, db.now())) {
      throw new InvalidCursorError(`No ${where.what} with id ${cursorId} to page from.`);
    }
    cursor = Item.gsi2sk as string;
  }
  const newerThanCursor = options.before !== undefined;
  const range = cursor === undefined
    ? { cond: 'gsi2sk > :lo', values: { ':lo': cutoff } }
    : newerThanCursor
      ? { cond: 'gsi2sk > :lo', values: { ':lo': cursor > cutoff ? cursor : cutoff } }
      : { cond: 'gsi2sk BETWEEN :lo AND :hi', values: { ':lo': cutoff, ':hi': cursor } };
  const { items: entries, hasMore } = await queryShardsMerged(db, {
    shards: Array.from({ length: EMAIL_LIST_SHARDS }, (_, shard) => ({
      IndexName: 'gsi2',
      KeyConditionExpression: `gsi2pk = :pk AND ${range.cond}`,
      ExpressionAttributeValues: { ':pk': where.list(tenantId, shard), ...range.values },
    })),
    orderKey: (i) => i.gsi2sk as string,
    descending: !newerThanCursor,
    limit: options.limit,
    keep: (i) => i.gsi2sk !== cursor,
  });
  if (newerThanCursor) entries.reverse();
  return { ids: entries.map((i) => parseListSortKey(i.gsi2sk as string).id), hasMore };
}

const SENT_LIST: DateListKeys = { item: keys.emailMeta, list: keys.emailList, what: 'email' };

const shardOf = (emailId: string): number => parseInt(emailId.slice(0, 2), 16) % EMAIL_LIST_SHARDS;

export class EmailStore {
  constructor(
    private readonly db: Db,
    private readonly retentionDays: number,
  ) {}

  /**
   * Writes the email once. Returns false when an email with this id already exists (a retried
   * request whose ids are derived from its idempotency key).
   */
  async create(email: NewEmail): Promise<boolean> {
    const ttl = this.expiry(email.createdAt, email.scheduledAt);
    const headers = email.headers && Object.keys(email.headers).length ? email.headers : undefined;
    const body = gzipSync(JSON.stringify({ html: email.html, text: email.text, ...(headers ? { headers } : {}) }));
    let chunks = 0;
    if (body.length > INLINE_BODY_BYTES) {
      for (let offset = 0; offset < body.length; offset += CHUNK_BYTES, chunks++) {
        await this.db.doc.send(new PutCommand({
          TableName: this.db.table,
          Item: { ...keys.emailBody(email.id, chunks), data: body.subarray(offset, offset + CHUNK_BYTES), expires_at: ttl },
        }));
      }
    }
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: {
          ...keys.emailMeta(email.id), kind: 'email',
          email_id: email.id, tenant_id: email.tenantId, from: email.from,
          to: email.to, cc: email.cc, bcc: email.bcc, reply_to: email.replyTo,
          subject: email.subject, tags: email.tags, created_at: email.createdAt,
          ...(email.template ? { template_id: email.template.id, template_version_id: email.template.versionId } : {}),
          // The `sending` mark: set before SendEmail, moved only by a retry after the window. A
          // scheduled email gets it from dispatch's claim instead.
          ...(email.scheduledAt === undefined ? { sending_at: Date.parse(email.createdAt) } : {}),
          ...(email.attachments?.length ? { attachments: email.attachments.map(toAttachmentItem) } : {}),
          ...(chunks ? { body_chunks: chunks } : { body }),
          ...(email.scheduledAt !== undefined ? { schedule_state: 'scheduled', scheduled_at: email.scheduledAt } : {}),
          expires_at: ttl,
          gsi2pk: keys.emailList(email.tenantId, shardOf(email.id)),
          gsi2sk: `${email.createdAt}#${email.id}`,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Removes an email that SES refused, so nothing is left behind for a request that failed. */
  async remove(emailId: string): Promise<void> {
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: keys.emailMeta(emailId) }));
    for (const item of await this.bodyChunks(emailId, 'pk, sk')) {
      await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: { pk: item.pk, sk: item.sk } }));
    }
  }

  private bodyChunks(emailId: string, projection?: string): Promise<Record<string, unknown>[]> {
    return queryItems(this.db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :b)',
      ExpressionAttributeValues: { ':pk': keys.emailMeta(emailId).pk, ':b': 'BODY#' },
      ...(projection ? { ProjectionExpression: projection } : {}),
    });
  }

  /**
   * A keyed retry found its email `sending` with no MessageId: claims it for a new SendEmail if its
   * mark is older than the window (and moves the mark, so that one retry wins). False: still within
   * the window (or another retry claimed it).
   */
  async reclaimSending(emailId: string, nowMs: number, windowMs: number): Promise<boolean> {
    const cutoff = nowMs - windowMs;
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.emailMeta(emailId),
        UpdateExpression: 'SET sending_at = :now',
        // Emails of the previous layout have no mark: their creation time stands for it.
        ConditionExpression: 'attribute_exists(pk) AND (sending_at < :cutoff OR (attribute_not_exists(sending_at) AND created_at < :cutoffIso))',
        ExpressionAttributeValues: { ':now': nowMs, ':cutoff': cutoff, ':cutoffIso': new Date(cutoff).toISOString() },
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Retention counts from when the email is sent: the later of its creation and its due time. */
  private expiry(createdAt: string, scheduledAt: string | undefined): number {
    const from = Math.max(Date.parse(createdAt), scheduledAt !== undefined ? Date.parse(scheduledAt) : 0);
    return expiresAt(from, this.retentionDays);
  }

  /**
   * Dispatch's claim: `scheduled → sending`, only if the email is still scheduled for `scheduledAt`
   * (a firing left over from before a reschedule finds another time). One claim wins; a cancel that
   * got there first makes it fail. `sending_at` is the claim's own mark.
   */
  async claimScheduled(emailId: string, scheduledAt: string, nowMs: number): Promise<boolean> {
    return this.move(emailId, 'SET schedule_state = :sending, sending_at = :now', 'schedule_state = :scheduled AND scheduled_at = :at', {
      ':sending': 'sending', ':scheduled': 'scheduled', ':at': scheduledAt, ':now': nowMs,
    });
  }

  /** SES throttled a claimed send: back to `scheduled` (only if this claim still holds it), to be tried again. */
  async releaseClaim(emailId: string, claimedAtMs: number): Promise<boolean> {
    return this.move(emailId, 'SET schedule_state = :scheduled REMOVE sending_at', 'schedule_state = :sending AND sending_at = :claim', {
      ':sending': 'sending', ':scheduled': 'scheduled', ':claim': claimedAtMs,
    });
  }

  /** SES (or the gate) refused a claimed send: `sending → failed`, with the reason. Never deleted. */
  async failClaimed(emailId: string, claimedAtMs: number, reason: string): Promise<boolean> {
    return this.move(emailId, 'SET schedule_state = :failed, failed_reason = :reason', 'schedule_state = :sending AND sending_at = :claim', {
      ':sending': 'sending', ':failed': 'failed', ':claim': claimedAtMs, ':reason': reason.slice(0, 1000),
    });
  }

  /**
   * Cancel: `scheduled → canceled`, for this tenant's email only. The same write takes the
   * attachments off the email (a canceled email lists none) and answers them, so the caller can
   * delete their objects.
   */
  async cancelScheduled(tenantId: string, emailId: string, nowMs: number): Promise<ScheduleMove> {
    try {
      const { Attributes } = await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.emailMeta(emailId),
        UpdateExpression: 'SET schedule_state = :canceled, canceled_at = :now REMOVE attachments',
        ConditionExpression: 'attribute_exists(pk) AND tenant_id = :t AND schedule_state = :scheduled',
        ExpressionAttributeValues: { ':canceled': 'canceled', ':scheduled': 'scheduled', ':t': tenantId, ':now': nowMs },
        ReturnValues: 'UPDATED_OLD',
      }));
      const removed = (Attributes?.attachments as Record<string, unknown>[] | undefined) ?? [];
      return { outcome: 'moved', attachments: removed.map(fromAttachmentItem) };
    } catch (error) {
      if (isConditionFailure(error)) return this.whyNotMoved(tenantId, emailId);
      throw error;
    }
  }

  /**
   * Reschedule: a new due time for this tenant's email, only while it is still scheduled. An email
   * with attachments moves no later than latestDueWithContent (its content's keeping counts from
   * its creation).
   */
  async reschedule(tenantId: string, emailId: string, scheduledAt: string): Promise<ScheduleMove> {
    const meta = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.emailMeta(emailId), ConsistentRead: true, ProjectionExpression: 'tenant_id, created_at, attachments, schedule_state',
    }));
    const createdAt = meta.Item?.created_at as string | undefined;
    // Only a scheduled email is told it is too late; any other learns why it cannot move at all.
    if (createdAt !== undefined && meta.Item?.tenant_id === tenantId && meta.Item.schedule_state === 'scheduled' && (meta.Item.attachments as unknown[] | undefined)?.length) {
      const latestDueMs = latestDueWithContent(Date.parse(createdAt));
      if (Date.parse(scheduledAt) > latestDueMs) return { outcome: 'too_late', latestDueMs };
    }
    const moved = createdAt !== undefined && await this.move(emailId, 'SET scheduled_at = :at, expires_at = :x', 'tenant_id = :t AND schedule_state = :scheduled', {
      ':scheduled': 'scheduled', ':t': tenantId, ':at': scheduledAt, ':x': this.expiry(createdAt, scheduledAt),
    });
    return moved ? { outcome: 'moved' } : this.whyNotMoved(tenantId, emailId);
  }

  /** Whether the email is still `scheduled` (a reschedule that found its schedule gone asks). */
  async isScheduled(emailId: string): Promise<boolean> {
    const { Item } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.emailMeta(emailId), ConsistentRead: true, ProjectionExpression: 'schedule_state',
    }));
    return Item?.schedule_state === 'scheduled';
  }

  private async move(emailId: string, update: string, condition: string, values: Record<string, unknown>): Promise<boolean> {
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.emailMeta(emailId),
        UpdateExpression: update,
        ConditionExpression: `attribute_exists(pk) AND ${condition}`,
        ExpressionAttributeValues: values,
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async whyNotMoved(tenantId: string, emailId: string): Promise<ScheduleMove> {
    const items = await this.batchGet([emailId], false, true);
    const meta = items.get(`${emailId}#META`);
    if (!meta || meta.tenant_id !== tenantId || !isLive(meta as { expires_at?: number }, this.db.now())) return { outcome: 'not_found' };
    return { outcome: 'not_scheduled', lastEvent: toSummary(meta, items.get(`${emailId}#STATUS`)).lastEvent };
  }

  /** The SES MessageId of an email that SES has accepted, if any. */
  async sentMessageId(emailId: string): Promise<string | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.emailStatus(emailId), ConsistentRead: true, ProjectionExpression: STATUS_MESSAGE_ID_PROJECTION,
    }));
    return Item ? statusMessageId(Item) : undefined;
  }

  /** An email of this tenant, or undefined (absent, another tenant's, or past retention). */
  async get(tenantId: string, emailId: string, consistent = false): Promise<EmailView | undefined> {
    const email = await this.load(emailId, consistent);
    return email?.tenantId === tenantId ? email : undefined;
  }

  /** An email whatever its tenant (dispatch, which has the email's id from its schedule), read consistently. */
  async getForDispatch(emailId: string): Promise<EmailView | undefined> {
    return this.load(emailId, true);
  }

  private async load(emailId: string, consistent: boolean): Promise<EmailView | undefined> {
    const items = await this.batchGet([emailId], true, consistent);
    const meta = items.get(`${emailId}#META`);
    if (!meta || !isLive(meta as { expires_at?: number }, this.db.now())) return undefined;
    let bodyBytes: Buffer | undefined = meta.body ? Buffer.from(meta.body as Uint8Array) : undefined;
    const chunks = (meta.body_chunks as number | undefined) ?? 0;
    if (chunks > 0) {
      const parts = (await this.bodyChunks(emailId)).map((i) => Buffer.from(i.data as Uint8Array));
      bodyBytes = Buffer.concat(parts);
    }
    const body = bodyBytes ? (JSON.parse(gunzipSync(bodyBytes).toString('utf8')) as { html?: string; text?: string; headers?: Record<string, string> }) : {};
    return {
      ...toSummary(meta, items.get(`${emailId}#STATUS`)),
      ...(body.html !== undefined ? { html: body.html } : {}),
      ...(body.text !== undefined ? { text: body.text } : {}),
      ...(body.headers !== undefined ? { headers: body.headers } : {}),
      ...(Array.isArray(meta.attachments) && meta.attachments.length ? { attachments: (meta.attachments as Record<string, unknown>[]).map(fromAttachmentItem) } : {}),
    };
  }

  /**
   * The attachments of an email of this tenant, in the order they were sent (empty when it had
   * none, or was canceled), and where they are kept; or undefined (absent, another tenant's, or
   * past retention). One GetItem of META's small attributes.
   */
  async attachments(tenantId: string, emailId: string): Promise<EmailAttachments | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.emailMeta(emailId), ProjectionExpression: 'tenant_id, expires_at, attachments, scheduled_at',
    }));
    if (!Item || Item.tenant_id !== tenantId || !isLive(Item as { expires_at?: number }, this.db.now())) return undefined;
    return {
      stage: contentStageOf({ ...(Item.scheduled_at !== undefined ? { scheduledAt: Item.scheduled_at as string } : {}) }),
      attachments: ((Item.attachments as Record<string, unknown>[] | undefined) ?? []).map(fromAttachmentItem),
    };
  }

  /** A tenant's emails, newest first, by cursor (`after`: older than that email; `before`: newer). */
  async list(tenantId: string, options: ListOptions): Promise<ListPage> {
    const { ids, hasMore } = await listIdsByDate(this.db, SENT_LIST, tenantId, this.retentionDays, options);
    const items = await this.batchGet(ids, false);
    const data = ids.flatMap((id) => {
      const meta = items.get(`${id}#META`);
      return meta && isLive(meta as { expires_at?: number }, this.db.now()) ? [toSummary(meta, items.get(`${id}#STATUS`))] : [];
    });
    return { data, hasMore };
  }

  /**
   * A tenant's emails whose worst state is `status` (failed, bounced, complained), newest problem
   * first, from the sparse gsi3 (domain/problem-index.ts): one Query of one partition, then the
   * same batched read as `list`. Cursors are email ids of that list.
   */
  async listProblems(tenantId: string, status: ProblemStatus, options: ListOptions): Promise<ListPage> {
    const { limit } = options;
    const pk = keys.tenantProblems(tenantId, status);
    const cursorId = options.after ?? options.before;
    let cursor: string | undefined;
    if (cursorId !== undefined) {
      const { Item } = await this.db.doc.send(new GetCommand({
        TableName: this.db.table, Key: keys.emailStatus(cursorId), ProjectionExpression: 'gsi3pk, gsi3sk',
      }));
      if (!Item || Item.gsi3pk !== pk) throw new InvalidCursorError(`No ${status} email with id ${cursorId} to page from.`);
      cursor = Item.gsi3sk as string;
    }
    const newer = options.before !== undefined;
    const page = await this.db.doc.send(new QueryCommand({
      TableName: this.db.table, IndexName: 'gsi3',
      KeyConditionExpression: cursor === undefined ? 'gsi3pk = :pk' : `gsi3pk = :pk AND gsi3sk ${newer ? '>' : '<'} :c`,
      ExpressionAttributeValues: { ':pk': pk, ...(cursor !== undefined ? { ':c': cursor } : {}) },
      ScanIndexForward: newer, Limit: limit + 1,
    }));
    const entries = (page.Items ?? []).slice(0, limit);
    if (newer) entries.reverse();
    const ids = entries.map((i) => emailIdOfPk(i.pk as string));
    const items = await this.batchGet(ids, false);
    const data = ids.flatMap((id) => {
      const meta = items.get(`${id}#META`);
      return meta && meta.tenant_id === tenantId && isLive(meta as { expires_at?: number }, this.db.now()) ? [toSummary(meta, items.get(`${id}#STATUS`))] : [];
    });
    return { data, hasMore: (page.Items ?? []).length > limit };
  }

  private async batchGet(ids: readonly string[], withBody: boolean, consistent = false): Promise<Map<string, Record<string, unknown>>> {
    const wanted = ids.flatMap((id) => [keys.emailMeta(id), keys.emailStatus(id)]);
    const projection = `pk, sk, email_id, tenant_id, #f, #t, cc, bcc, reply_to, subject, tags, created_at, expires_at, last_event, ${STATUS_MESSAGE_ID_PROJECTION}, body_chunks, template_id, template_version_id, schedule_state, scheduled_at, failed_reason` + (withBody ? ', body, attachments' : '');
    const items = await batchGetAll(this.db, wanted, { projection, names: { '#f': 'from', '#t': 'to' }, consistent });
    return new Map(items.map((item) => [`${emailIdOfPk(item.pk as string)}#${item.sk as string}`, item]));
  }
}

function toSummary(meta: Record<string, unknown>, status: Record<string, unknown> | undefined): EmailSummary {
  const state = meta.schedule_state as ScheduleState | undefined;
  return {
    id: meta.email_id as string,
    tenantId: meta.tenant_id as string,
    from: meta.from as string,
    to: (meta.to as string[]) ?? [],
    cc: (meta.cc as string[]) ?? [],
    bcc: (meta.bcc as string[]) ?? [],
    replyTo: (meta.reply_to as string[]) ?? [],
    subject: meta.subject as string,
    tags: (meta.tags as { name: string; value: string }[]) ?? [],
    createdAt: meta.created_at as string,
    ...(meta.template_id ? { template: { id: meta.template_id as string, versionId: meta.template_version_id as string } } : {}),
    lastEvent: (status?.last_event as EmailStatus | undefined) ?? (state ? STATE_EVENT[state] : 'queued'),
    ...(status && statusMessageId(status) ? { sesMessageId: statusMessageId(status)! } : {}),
    ...(state ? { scheduleState: state } : {}),
    ...(meta.scheduled_at ? { scheduledAt: meta.scheduled_at as string } : {}),
    ...(meta.failed_reason ? { failedReason: meta.failed_reason as string } : {}),
  };
}


function toAttachmentItem(a: AttachmentMeta): Record<string, unknown> {
  return {
    id: a.id, filename: a.filename, content_type: a.contentType, disposition: a.disposition, size: a.size,
    ...(a.contentId !== undefined ? { content_id: a.contentId } : {}),
  };
}

function fromAttachmentItem(i: Record<string, unknown>): AttachmentMeta {
  return {
    id: i.id as string,
    filename: i.filename as string,
    contentType: i.content_type as string,
    disposition: i.disposition as AttachmentMeta['disposition'],
    size: Number(i.size),
    ...(i.content_id !== undefined ? { contentId: i.content_id as string } : {}),
  };
}
