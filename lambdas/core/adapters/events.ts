/**
 * SES events in DynamoDB: correlation, the event log, recipient states and the email's last_event.
 *
 * - `E#<id>` / `EV#<fixed time>#<event id>`: one item per SES event, inserted if absent, and only
 *   once the event has been applied and its webhooks queued: its presence means "done", so a retry
 *   after a crash anywhere before it does everything again (each step is idempotent), and no second
 *   write is needed to mark the fan-out. Its content is a function of the event alone.
 * - `E#<id>` / `R#<address>`: one item per recipient an event names; a conditional max by
 *   recipientKey (rank, time, event id).
 * - `E#<id>` / `STATUS`: last_event, a conditional max by emailKey (time, rank, event id). Nothing
 *   else is added to it, so it stays far under 1 KB.
 *
 * Every write is one item, guarded by a condition: any order and any number of duplicates leave
 * the same items (README "Email status and SES events").
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { EmailEventType } from '../domain/applied-event';
import { type EmailStatus, emailKey, recipientKey } from '../domain/status';
import { keys } from '../table';
import { type Db, isConditionFailure, isLive, queryItems } from './dynamo';

/** The email an event belongs to, as META has it. */
export interface EmailRecord {
  readonly emailId: string;
  readonly tenantId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly bcc: readonly string[];
  readonly subject: string;
  readonly createdAt: string;
  /** The customer's tags, as the send stored them. */
  readonly tags: readonly { readonly name: string; readonly value: string }[];
  readonly expiresAt?: number;
}

/** One entry of an email's event log. */
export interface LoggedEvent {
  readonly eventId: string;
  readonly type: EmailEventType;
  readonly status: EmailStatus;
  /** SES's name for it: Delivery, Bounce, ... */
  readonly sesType: string;
  readonly sesMessageId: string;
  /** The event's own time (fixed-width ISO 8601). */
  readonly timestamp: string;
  /** The customer's addresses the event concerns. */
  readonly recipients: readonly string[];
  readonly details: Readonly<Record<string, unknown>>;
}

/** Most events an email's log returns; an email has a handful, opens and clicks can add more. */
export const MAX_LISTED_EVENTS = 1000;

export interface EventLog {
  /** The email's events, oldest first; undefined when the email is not this tenant's (or is gone). */
  list(tenantId: string, emailId: string): Promise<{ data: LoggedEvent[]; hasMore: boolean } | undefined>;
}

export class EventStore implements EventLog {
  constructor(private readonly db: Db) {}

  /**
   * The email of an event: by Sesame's email id tag when the event carries it, else by the SES
   * MessageId (`M#` item, written when SendEmail returned). Undefined when not found (yet).
   */
  async findEmail(ref: { readonly emailId?: string; readonly sesMessageId: string }): Promise<EmailRecord | undefined> {
    let emailId = ref.emailId;
    if (emailId === undefined) {
      const { Item } = await this.db.doc.send(new GetCommand({
        TableName: this.db.table, Key: keys.sesMessage(ref.sesMessageId), ProjectionExpression: 'email_id',
      }));
      emailId = Item?.email_id as string | undefined;
      if (emailId === undefined) return undefined;
    }
    const { Item: meta } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table,
      Key: keys.emailMeta(emailId),
      ProjectionExpression: 'email_id, tenant_id, #f, #t, cc, bcc, subject, tags, created_at, expires_at',
      ExpressionAttributeNames: { '#f': 'from', '#t': 'to' },
    }));
    if (!meta) return undefined;
    return {
      emailId,
      tenantId: meta.tenant_id as string,
      from: meta.from as string,
      to: (meta.to as string[] | undefined) ?? [],
      cc: (meta.cc as string[] | undefined) ?? [],
      bcc: (meta.bcc as string[] | undefined) ?? [],
      subject: (meta.subject as string | undefined) ?? '',
      createdAt: meta.created_at as string,
      tags: (meta.tags as { name: string; value: string }[] | undefined) ?? [],
      ...(typeof meta.expires_at === 'number' ? { expiresAt: meta.expires_at } : {}),
    };
  }

  /** Whether the event is already recorded, i.e. applied and fanned out (a consistent read). */
  async isRecorded(email: EmailRecord, event: Pick<LoggedEvent, 'timestamp' | 'eventId'>): Promise<boolean> {
    const { Item } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.emailEvent(email.emailId, event.timestamp, event.eventId), ConsistentRead: true, ProjectionExpression: 'pk',
    }));
    return Item !== undefined;
  }

  /** Records the event if absent; false when another delivery of it got there first. */
  async record(email: EmailRecord, event: LoggedEvent): Promise<boolean> {
    const key = keys.emailEvent(email.emailId, event.timestamp, event.eventId);
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: {
          ...key,
          kind: 'email_event',
          event_id: event.eventId,
          type: event.type,
          status: event.status,
          ses_type: event.sesType,
          ses_message_id: event.sesMessageId,
          event_time: event.timestamp,
          recipients: event.recipients,
          details: event.details,
          tenant_id: email.tenantId,
          ...(email.expiresAt !== undefined ? { expires_at: email.expiresAt } : {}),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** Raises one recipient's state to this event if it orders after the current one. */
  async raiseRecipient(email: EmailRecord, address: string, event: LoggedEvent): Promise<void> {
    const rkey = recipientKey(event.timestamp, event.status, event.eventId);
    await this.conditionalMax(new UpdateCommand({
      TableName: this.db.table,
      Key: keys.emailRecipient(email.emailId, address),
      UpdateExpression: 'SET kind = :kind, address = :a, #s = :s, recipient_key = :k, event_id = :id, event_time = :t' +
        (email.expiresAt !== undefined ? ', expires_at = :x' : ''),
      ConditionExpression: 'attribute_not_exists(recipient_key) OR recipient_key < :k',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: {
        ':kind': 'email_recipient', ':a': address, ':s': event.status, ':k': rkey, ':id': event.eventId, ':t': event.timestamp,
        ...(email.expiresAt !== undefined ? { ':x': email.expiresAt } : {}),
      },
    }));
  }

  /** Raises the email's last_event to this event if it orders after the current one. */
  async raiseStatus(email: EmailRecord, event: LoggedEvent): Promise<void> {
    const key = emailKey(event.timestamp, event.status, event.eventId);
    await this.conditionalMax(new UpdateCommand({
      TableName: this.db.table,
      Key: keys.emailStatus(email.emailId),
      // tenant_id and expires_at as markSent writes them, for an event that arrives before it.
      UpdateExpression: 'SET last_event = :e, last_key = :k, tenant_id = if_not_exists(tenant_id, :tenant)' +
        (email.expiresAt !== undefined ? ', expires_at = if_not_exists(expires_at, :x)' : ''),
      ConditionExpression: 'attribute_not_exists(last_key) OR last_key < :k',
      ExpressionAttributeValues: {
        ':e': event.status, ':k': key, ':tenant': email.tenantId,
        ...(email.expiresAt !== undefined ? { ':x': email.expiresAt } : {}),
      },
    }));
  }

  async list(tenantId: string, emailId: string): Promise<{ data: LoggedEvent[]; hasMore: boolean } | undefined> {
    const { Item: meta } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.emailMeta(emailId), ProjectionExpression: 'tenant_id, expires_at',
    }));
    if (!meta || meta.tenant_id !== tenantId || !isLive(meta as { expires_at?: number }, this.db.now())) return undefined;
    const items = await queryItems(this.db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
      ExpressionAttributeValues: { ':pk': keys.emailMeta(emailId).pk, ':ev': 'EV#' },
      Limit: MAX_LISTED_EVENTS + 1,
    }, MAX_LISTED_EVENTS + 1);
    const data = items.map(toLogged);
    return { data: data.slice(0, MAX_LISTED_EVENTS), hasMore: data.length > MAX_LISTED_EVENTS };
  }

  private async conditionalMax(command: UpdateCommand): Promise<void> {
    try {
      await this.db.doc.send(command);
    } catch (error) {
      // A greater (or the same) event is already there: nothing to do.
      if (!isConditionFailure(error)) throw error;
    }
  }
}

function toLogged(item: Record<string, unknown>): LoggedEvent {
  return {
    eventId: item.event_id as string,
    type: item.type as EmailEventType,
    status: item.status as EmailStatus,
    sesType: item.ses_type as string,
    sesMessageId: item.ses_message_id as string,
    timestamp: item.event_time as string,
    recipients: (item.recipients as string[] | undefined) ?? [],
    details: (item.details as Record<string, unknown> | undefined) ?? {},
  };
}
