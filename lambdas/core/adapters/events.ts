/**
 * SES events in DynamoDB: the email an event belongs to, the event log as the API lists it, and
 * the previous layout's writes.
 *
 * Since the one-write layout, an event is applied to the email's STATUS item
 * (adapters/email-status.ts), whose log holds the events while they fit; the others are `EV#`
 * items. Emails written before it (they live SESAME_RETENTION_DAYS) have no version on STATUS and
 * keep being applied the previous way, with the methods marked "previous layout" below:
 * - `E#<id>` / `EV#<fixed time>#<event id>`: one item per SES event, inserted if absent, once
 *   applied and fanned out (its presence means "done");
 * - `E#<id>` / `R#<address>`: one item per recipient; a conditional max by recipientKey;
 * - `E#<id>` / `STATUS`: last_event, a conditional max by emailKey.
 * The event log reads both layouts: STATUS's inline log and the `EV#` items together.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type LoggedEvent, sortLog } from '../domain/email-state';
import { emailKey, recipientKey } from '../domain/status';
import { keys } from '../table';
import { type Db, isConditionFailure, isLive, queryItems } from './dynamo';
import { EmailStatusStore, eventItem, fromEventItem } from './email-status';

export type { LoggedEvent } from '../domain/email-state';

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
  /** `current`: the one-write layout (META has the `sending` mark); `legacy`: written before it. */
  readonly layout: 'current' | 'legacy';
  /**
   * Set when the record was built from the SES event itself, not read: whether test addresses
   * were sent to the simulator (reported addresses are then mapped back without the email's lists).
   */
  readonly testAddresses?: boolean;
}

/** Most events an email's log returns; an email has a handful, opens and clicks can add more. */
export const MAX_LISTED_EVENTS = 1000;

export interface EventLog {
  /** The email's events, oldest first; undefined when the email is not this tenant's (or is gone). */
  list(tenantId: string, emailId: string): Promise<{ data: LoggedEvent[]; hasMore: boolean } | undefined>;
}

export class EventStore implements EventLog {
  private readonly status: EmailStatusStore;

  constructor(private readonly db: Db) {
    this.status = new EmailStatusStore(db);
  }

  /** The email, as META has it; undefined when there is none. */
  async findEmail(emailId: string): Promise<EmailRecord | undefined> {
    const { Item: meta } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table,
      Key: keys.emailMeta(emailId),
      ProjectionExpression: 'email_id, tenant_id, #f, #t, cc, bcc, subject, tags, created_at, expires_at, sending_at',
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
      layout: meta.sending_at !== undefined ? 'current' : 'legacy',
    };
  }

  /** Previous layout: whether the event is already recorded, i.e. applied and fanned out (a consistent read). */
  async isRecorded(email: EmailRecord, event: Pick<LoggedEvent, 'timestamp' | 'eventId'>): Promise<boolean> {
    const { Item } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.emailEvent(email.emailId, event.timestamp, event.eventId), ConsistentRead: true, ProjectionExpression: 'pk',
    }));
    return Item !== undefined;
  }

  /** Previous layout: records the event if absent; false when another delivery of it got there first. */
  async record(email: EmailRecord, event: LoggedEvent): Promise<boolean> {
    const key = keys.emailEvent(email.emailId, event.timestamp, event.eventId);
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: {
          ...key,
          ...eventItem(event),
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

  /** Previous layout: raises one recipient's state to this event if it orders after the current one. */
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

  /** Previous layout: raises the email's last_event to this event if it orders after the current one. */
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
    const [items, status] = await Promise.all([
      queryItems(this.db, {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :ev)',
        ExpressionAttributeValues: { ':pk': keys.emailMeta(emailId).pk, ':ev': 'EV#' },
        Limit: MAX_LISTED_EVENTS + 1,
      }, MAX_LISTED_EVENTS + 1),
      this.status.read(emailId),
    ]);
    const spilled = items.map(fromEventItem);
    const seen = new Set(spilled.map((e) => e.eventId));
    const data = sortLog([...spilled, ...status.state.log.filter((e) => !seen.has(e.eventId))]);
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
