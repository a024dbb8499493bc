/**
 * The email's STATUS item (`E#<id>` / `STATUS`): everything an SES event changes, in one small item
 * written with one conditional write per event (domain/email-state.ts has the rule).
 *
 * Attributes: `v` (version; every write is conditional on the version read), `last_event` and
 * `last_key`, `rc` (recipient -> recipientKey), `lg` (the event log while it fits), `sp` (short ids
 * of events written to their own `EV#` items because the item would pass MAX_STATUS_BYTES; absent
 * while none did), `su` (the time of a Send event the send applied and left for the next write to
 * count: the `sent` metric), `tenant_id`, `expires_at`. When the MessageId is known the item carries
 * `gsi2pk = M#<MessageId>` / `gsi2sk = MSG`: a keys-only entry in gsi2, which finds the email of an
 * event without tags (identity notifications) for no write of its own, and which is also where the
 * item keeps its MessageId (`statusMessageId`).
 *
 * Nothing the key or another attribute already tells is stored (storage and backups are billed per
 * byte, for the retention): no `kind`, no `message_id` beside `gsi2pk`, no empty `sp` or event
 * `d`. Items written before carry `kind` and `message_id`; they are read all the same.
 *
 * A write that loses a race (another event of the same email wrote in between) reads again and
 * merges again. An event that spills is written to its own item first (insert-if-absent, content a
 * function of the event), then marked applied here, so a crash between the two only repeats them.
 */
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { applyEvent, type EmailState, EMPTY_STATE, isFirstOfStatus, type LoggedEvent, spillInline } from '../domain/email-state';
import { problemIndexAttributes } from '../domain/problem-index';
import { impliedSesEventId } from '../domain/ses-events';
import { emailKey } from '../domain/status';
import { keys } from '../table';
import { type Db, isConditionFailure, itemBytes } from './dynamo';

/** The STATUS item stays under one write unit (1 KB, as DynamoDB sizes it) while its events fit; beyond, they spill. */
export const MAX_STATUS_BYTES = 1000;
/** Lost races retried before giving up (the event is then retried by Lambda). */
const MAX_ATTEMPTS = 25;
/** A short random pause before reading again, so that racing writers spread out. */
const backoff = (attempt: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));

/** What the STATUS item carries besides the state. */
export interface StatusOwner {
  readonly emailId: string;
  readonly tenantId: string;
  readonly expiresAt?: number;
}

export interface StoredStatus {
  /** Absent: no STATUS item yet. */
  readonly exists: boolean;
  /** A STATUS item written before the one-write layout (no version): its events are EV# and R# items. */
  readonly legacy: boolean;
  readonly state: EmailState;
}

/** What `update` decided: the next state (undefined: nothing to write) and the events it spills (written to their own items first). */
export interface Change {
  readonly next: EmailState | undefined;
  readonly spills?: readonly LoggedEvent[];
}

export interface ApplyOptions {
  /** The send writes STATUS first, in the usual case: the first read is skipped. */
  readonly assumeAbsent?: boolean;
  /**
   * The send's Send event: when this write creates STATUS, mark the Send event uncounted, so that
   * the next event ingestion applies counts it (no counter write on the send's path).
   */
  readonly leaveSentUncounted?: boolean;
}

export interface ApplyResult {
  readonly outcome: 'applied' | 'duplicate' | 'legacy';
  /** For a duplicate: the event as the log has it, when it is inline. */
  readonly stored?: LoggedEvent;
  /** For an applied event: whether it is the email's first of its type. */
  readonly firstOfType?: boolean;
  /** For an applied event with `leaveSentUncounted`: whether the mark was written (else the caller counts it). */
  readonly sentUncounted?: boolean;
  /** The email's Send event (its id and time), left uncounted by the send, whose mark this write cleared: to be counted now. */
  readonly countSent?: Pick<LoggedEvent, 'eventId' | 'timestamp'>;
}

export class EmailStatusStore {
  constructor(private readonly db: Db) {}

  /** The STATUS item, read consistently unless told otherwise. */
  async read(emailId: string, consistent = true): Promise<StoredStatus> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.emailStatus(emailId), ConsistentRead: consistent }));
    if (!Item) return { exists: false, legacy: false, state: EMPTY_STATE };
    return { exists: true, legacy: typeof Item.v !== 'number', state: fromItem(Item) };
  }

  /**
   * Applies `change` to the stored state with one conditional write, reading again after a lost
   * race. `assumeAbsent` skips the first read (the send writes STATUS first, in the usual case).
   * Returns the state written, or undefined when there was nothing to write.
   *
   * The first read is eventually consistent (half a read unit): the write is conditioned on the
   * version read, so a stale read only loses the race and is read again, consistently. A stale read
   * that finds the event applied is right too: an applied event stays applied.
   */
  async update(owner: StatusOwner, change: (current: StoredStatus) => Change, options: Pick<ApplyOptions, 'assumeAbsent'> = {}): Promise<{ readonly written: boolean; readonly current: StoredStatus }> {
    let current: StoredStatus = options.assumeAbsent ? { exists: false, legacy: false, state: EMPTY_STATE } : await this.read(owner.emailId, false);
    for (let attempt = 1; ; attempt++) {
      if (current.legacy) return { written: false, current };
      const { next, spills = [] } = change(current);
      if (next === undefined) return { written: false, current };
      for (const spill of spills) await this.putEvent(owner, spill);
      try {
        await this.db.doc.send(new PutCommand({
          TableName: this.db.table,
          Item: toItem(owner, { ...next, version: current.state.version + 1 }),
          ...(current.exists
            ? { ConditionExpression: 'v = :v', ExpressionAttributeValues: { ':v': current.state.version } }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }));
        return { written: true, current };
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= MAX_ATTEMPTS) throw error;
      }
      await backoff(attempt);
      current = await this.read(owner.emailId);
    }
  }

  /**
   * Applies one event with one conditional write (two when it spills): `applied` the first time,
   * `duplicate` when it already was, `legacy` when the email's STATUS is of the previous layout
   * (nothing written: the caller applies it the previous way). For a duplicate, `stored` is the
   * event as the log has it when it is inline (the Send event the send recorded has the send's time).
   * For an applied event, `firstOfType` tells whether it is the email's first of its type.
   */
  async apply(owner: StatusOwner, event: LoggedEvent, scope: 'recipients' | 'message', options: ApplyOptions = {}): Promise<ApplyResult> {
    const { written, current } = await this.update(owner, ({ exists, state }) => {
      const inline = applyEvent(state, event, { scope, spill: false });
      const change: Change = inline === undefined || this.fits(owner, inline) ? { next: inline } : this.spilling(owner, state, event, scope);
      // Only on a new item: an event already there (one that overtook the send) may be the last.
      return options.leaveSentUncounted && !exists && change.next !== undefined ? { ...change, next: { ...change.next, sentUncounted: event.timestamp } } : change;
    }, options);
    if (written) {
      // The Send event the send left uncounted: this write cleared its mark (applyEvent drops it), so it is counted now.
      const uncounted = current.state.sentUncounted;
      const sent = uncounted === undefined ? undefined : (current.state.log.find((e) => e.status === 'sent') ?? { eventId: `${owner.emailId}:sent`, timestamp: uncounted });
      return {
        outcome: 'applied',
        // Whether it is the email's first event of its type (its first open: the unique counts).
        firstOfType: isFirstOfStatus(current.state, event.status),
        sentUncounted: options.leaveSentUncounted === true && !current.exists,
        ...(sent ? { countSent: sent } : {}),
      };
    }
    if (current.legacy) return { outcome: 'legacy' };
    const stored = current.state.log.find((e) => e.eventId === event.eventId);
    return { outcome: 'duplicate', ...(stored ? { stored } : {}) };
  }

  /**
   * The event spilled to its own item; and when even then the item would pass MAX_STATUS_BYTES (the
   * list of spilled ids grows by one per spilled event), its newest inline events too, but the first
   * (the Send), so that the item stays one write unit.
   */
  private spilling(owner: StatusOwner, state: EmailState, event: LoggedEvent, scope: 'recipients' | 'message'): Change {
    let next = applyEvent(state, event, { scope, spill: true })!;
    const spills = [event];
    for (let victim = next.log.at(-1); !this.fits(owner, next) && next.log.length > 1 && victim !== undefined; victim = next.log.at(-1)) {
      next = spillInline(next, victim.eventId);
      spills.push(victim);
    }
    return { next, spills };
  }

  /** Whether the state, with the event inline, still fits the item's size. */
  fits(owner: StatusOwner, state: EmailState): boolean {
    return itemBytes(toItem(owner, state)) <= MAX_STATUS_BYTES;
  }

  /** An event kept in its own item (insert-if-absent; its content is a function of the event). */
  async putEvent(owner: StatusOwner, event: LoggedEvent): Promise<void> {
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: { ...keys.emailEvent(owner.emailId, event.timestamp, event.eventId), ...eventItem(event), tenant_id: owner.tenantId, ...(owner.expiresAt !== undefined ? { expires_at: owner.expiresAt } : {}) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  /**
   * The email of an SES MessageId: the keys-only gsi2 entry of its STATUS item, else (emails sent
   * before the one-write layout) the `M#` item. Undefined when not found (yet: the index is
   * eventually consistent).
   */
  async emailIdOf(sesMessageId: string): Promise<string | undefined> {
    const { Items } = await this.db.doc.send(new QueryCommand({
      TableName: this.db.table, IndexName: 'gsi2',
      KeyConditionExpression: 'gsi2pk = :pk AND gsi2sk = :sk',
      ExpressionAttributeValues: { ':pk': keys.sesMessageIndex(sesMessageId), ':sk': 'MSG' },
      Limit: 1,
    }));
    const pk = Items?.[0]?.pk as string | undefined;
    if (pk !== undefined) return pk.slice(2);
    const { Item } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.sesMessage(sesMessageId), ProjectionExpression: 'email_id',
    }));
    return Item?.email_id as string | undefined;
  }
}

function toItem(owner: StatusOwner, state: EmailState): Record<string, unknown> {
  return {
    ...keys.emailStatus(owner.emailId),
    v: state.version,
    tenant_id: owner.tenantId,
    ...(owner.expiresAt !== undefined ? { expires_at: owner.expiresAt } : {}),
    // last_key only when the inline log does not give it back (its greatest event is spilled).
    ...(state.lastEvent !== undefined ? { last_event: state.lastEvent, ...(state.lastKey !== greatestKey(state.log) ? { last_key: state.lastKey } : {}) } : {}),
    ...(state.messageId !== undefined ? { gsi2pk: keys.sesMessageIndex(state.messageId), gsi2sk: 'MSG' } : {}),
    // The sparse problem index (failed, bounced, complained): absent for every other email.
    ...problemIndexAttributes(owner.tenantId, owner.emailId, state),
    rc: state.recipients,
    lg: state.log.map((e, n) => compact(e, state.messageId, n === 0 ? undefined : state.log[0])),
    ...(state.spilled.length > 0 ? { sp: state.spilled } : {}),
    ...(state.spilledStatuses !== undefined && state.spilledStatuses.length > 0 ? { ss: state.spilledStatuses } : {}),
    ...(state.sentUncounted !== undefined ? { su: state.sentUncounted } : {}),
  };
}

/**
 * The SES MessageId a STATUS item keeps: `message_id` on items written before the trimmed layout
 * (and on the earliest layout's), else its gsi2 key (`M#<MessageId>`). Reads that project it ask for
 * both (`STATUS_MESSAGE_ID_PROJECTION`).
 */
export function statusMessageId(item: Record<string, unknown>): string | undefined {
  if (typeof item.message_id === 'string') return item.message_id;
  const index = item.gsi2pk;
  return typeof index === 'string' && index.startsWith(keys.sesMessageIndex('')) ? index.slice(keys.sesMessageIndex('').length) : undefined;
}

/** The attributes `statusMessageId` reads, for a projection. */
export const STATUS_MESSAGE_ID_PROJECTION = 'message_id, gsi2pk';

function fromItem(item: Record<string, unknown>): EmailState {
  const messageId = statusMessageId(item);
  const log: LoggedEvent[] = [];
  for (const e of (item.lg as Record<string, unknown>[] | undefined) ?? []) log.push(expand(e, messageId, log[0]));
  return {
    version: typeof item.v === 'number' ? item.v : 0,
    ...(typeof item.last_event === 'string' ? { lastEvent: item.last_event as EmailState['lastEvent'], lastKey: (item.last_key as string | undefined) ?? greatestKey(log)! } : {}),
    ...(messageId !== undefined ? { messageId } : {}),
    recipients: (item.rc as Record<string, string> | undefined) ?? {},
    log,
    spilled: (item.sp as string[] | undefined) ?? [],
    ...(Array.isArray(item.ss) ? { spilledStatuses: item.ss as string[] } : {}),
    ...(typeof item.su === 'string' ? { sentUncounted: item.su } : {}),
  };
}

/** The greatest emailKey of these events (the `last_key` they give), or undefined for none. */
function greatestKey(log: readonly LoggedEvent[]): string | undefined {
  let greatest: string | undefined;
  for (const e of log) {
    const key = emailKey(e.timestamp, e.status, e.eventId);
    if (greatest === undefined || key > greatest) greatest = key;
  }
  return greatest;
}

/**
 * A log entry in short attribute names, without what the item gives back otherwise: the MessageId
 * only when it is not the email's, the SES type only when it is not the status's usual one, the
 * event id only when it is not the one its MessageId, type, time and recipients imply
 * (impliedSesEventId: the Send and Delivery events), the recipients only when they are not the
 * first entry's (`first`, absent for the first entry itself), the details only when there are some.
 */
function compact(e: LoggedEvent, messageId: string | undefined, first: LoggedEvent | undefined): Record<string, unknown> {
  const sameRecipients = first !== undefined && first.recipients.length === e.recipients.length && first.recipients.every((r, n) => r === e.recipients[n]);
  return {
    ...(impliedSesEventId(e.sesMessageId, e.sesType, e.timestamp, e.recipients) !== e.eventId ? { i: e.eventId } : {}),
    y: e.type, ...(e.sesType !== DEFAULT_SES_TYPE[e.status] ? { e: e.sesType } : {}), ...(e.sesMessageId !== messageId ? { m: e.sesMessageId } : {}),
    t: e.timestamp, ...(sameRecipients ? {} : { r: e.recipients }), ...(Object.keys(e.details).length > 0 ? { d: e.details } : {}),
  };
}

function expand(e: Record<string, unknown>, messageId: string | undefined, first: LoggedEvent | undefined): LoggedEvent {
  const status = (e.y as string).slice('email.'.length) as LoggedEvent['status'];
  const sesType = (e.e as string | undefined) ?? DEFAULT_SES_TYPE[status] ?? '';
  const sesMessageId = (e.m as string | undefined) ?? messageId ?? '';
  const timestamp = e.t as string;
  const recipients = (e.r as string[] | undefined) ?? first?.recipients ?? [];
  return {
    eventId: (e.i as string | undefined) ?? impliedSesEventId(sesMessageId, sesType, timestamp, recipients) ?? '',
    type: e.y as LoggedEvent['type'],
    // The status is the type's name without `email.` (one-to-one, see ses-events.ts).
    status,
    sesType,
    sesMessageId,
    timestamp,
    recipients,
    details: (e.d as Record<string, unknown> | undefined) ?? {},
  };
}

/** SES's event type that a status usually comes from: a log entry names another one only. */
const DEFAULT_SES_TYPE: Partial<Record<LoggedEvent['status'], string>> = {
  sent: 'Send', delivered: 'Delivery', delivery_delayed: 'DeliveryDelay', bounced: 'Bounce', complained: 'Complaint',
  opened: 'Open', clicked: 'Click', failed: 'Reject', suppressed: 'Bounce',
};

/** An event's own item, as the event log has always stored it. */
export function eventItem(event: LoggedEvent): Record<string, unknown> {
  return {
    kind: 'email_event',
    event_id: event.eventId,
    type: event.type,
    status: event.status,
    ses_type: event.sesType,
    ses_message_id: event.sesMessageId,
    event_time: event.timestamp,
    recipients: event.recipients,
    details: event.details,
  };
}

/** An event's own item, read back. */
export function fromEventItem(item: Record<string, unknown>): LoggedEvent {
  return {
    eventId: item.event_id as string,
    type: item.type as LoggedEvent['type'],
    status: item.status as LoggedEvent['status'],
    sesType: item.ses_type as string,
    sesMessageId: item.ses_message_id as string,
    timestamp: item.event_time as string,
    recipients: (item.recipients as string[] | undefined) ?? [],
    details: (item.details as Record<string, unknown> | undefined) ?? {},
  };
}
