/**
 * An email's state as its STATUS item holds it, and the one rule that applies an SES event to it.
 * Pure code: the adapter (adapters/email-status.ts) reads the item, calls `applyEvent`, and writes
 * the result back under a version condition.
 *
 * The state is a function of the set of applied events, whatever their order and duplicates:
 * - the email's `last_event` is its event with the greatest emailKey (time, rank, event id);
 * - each recipient named by an event keeps the greatest recipientKey (rank, time, event id);
 * - the applied event ids are a set: the entries of the inline log, plus the short ids of the events
 *   that did not fit and were written to their own items (`spilled`).
 * Which events are inline and which spilled depends on arrival order; the log read back (inline and
 * spilled together, sorted by time then id) does not.
 */
import type { EmailEventType } from './applied-event';
import { type EmailStatus, emailKey, recipientKey } from './status';

/** One SES event of an email, as its log keeps it. */
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

export interface EmailState {
  /** The STATUS item's version: 0 when there is no item yet. Each write adds one. */
  readonly version: number;
  readonly lastEvent?: EmailStatus;
  readonly lastKey?: string;
  /** SES's MessageId, from SendEmail's answer or the first event that carries it. */
  readonly messageId?: string;
  /** Lower-cased address -> recipientKey (rank, time, short event id) of its state. */
  readonly recipients: Readonly<Record<string, string>>;
  /** Applied events kept in the item itself. */
  readonly log: readonly LoggedEvent[];
  /** Short ids of applied events kept in their own items. */
  readonly spilled: readonly string[];
  /** The statuses of the spilled events (so an email's first open or click is known: the unique counts). */
  readonly spilledStatuses?: readonly string[];
  /**
   * The send applied its Send event and left counting it (the `sent` metric) to the next write:
   * the next event ingestion applies counts it (in the hour of this time, the Send event's) and
   * clears this in the same write. `applyEvent` never carries it over.
   */
  readonly sentUncounted?: string;
}

export const EMPTY_STATE: EmailState = { version: 0, recipients: {}, log: [], spilled: [] };

/** 64 bits of an event id: enough to tell apart the events of one email. */
export const shortEventId = (eventId: string): string => eventId.replace(/-/g, '').slice(0, 16);

/**
 * Whether no event of this status was applied to the state yet (an email's first open or click).
 * Unknown, so false, for a state whose spilled events' statuses were not recorded.
 */
export function isFirstOfStatus(state: EmailState, status: string): boolean {
  const spilled = state.spilledStatuses ?? (state.spilled.length === 0 ? [] : undefined);
  return spilled !== undefined && !spilled.includes(status) && !state.log.some((e) => e.status === status);
}

export function isApplied(state: EmailState, eventId: string): boolean {
  return state.log.some((e) => e.eventId === eventId) || state.spilled.includes(shortEventId(eventId));
}

export interface ApplyOptions {
  /** `recipients`: each named recipient's state follows the event; `message`: the whole message. */
  readonly scope: 'recipients' | 'message';
  /** Keep the event in its own item instead of the inline log (the item would pass its size). */
  readonly spill: boolean;
}

/**
 * The state with the event applied, or undefined when it already was. Also records the SES
 * MessageId when the state has none.
 */
export function applyEvent(state: EmailState, event: LoggedEvent, options: ApplyOptions): EmailState | undefined {
  if (isApplied(state, event.eventId)) return undefined;
  const key = emailKey(event.timestamp, event.status, event.eventId);
  const raise = state.lastKey === undefined || state.lastKey < key;
  const recipients = { ...state.recipients };
  if (options.scope === 'recipients') {
    // The short id breaks ties as well as the whole one, in fewer bytes per recipient.
    const rkey = recipientKey(event.timestamp, event.status, shortEventId(event.eventId));
    for (const address of event.recipients) {
      const lower = address.toLowerCase();
      const current = recipients[lower];
      if (current === undefined || current < rkey) recipients[lower] = rkey;
    }
  }
  return {
    version: state.version,
    ...(raise ? { lastEvent: event.status, lastKey: key } : pick(state)),
    ...((state.messageId ?? event.sesMessageId) ? { messageId: state.messageId ?? event.sesMessageId } : {}),
    recipients,
    log: options.spill ? state.log : [...state.log, event],
    spilled: options.spill ? [...state.spilled, shortEventId(event.eventId)] : state.spilled,
    ...(options.spill
      ? { spilledStatuses: [...new Set([...(state.spilledStatuses ?? []), event.status])] }
      : state.spilledStatuses !== undefined ? { spilledStatuses: state.spilledStatuses } : {}),
  };
}

/**
 * The state with one of its inline events moved to the spilled ones (its own `EV#` item, which the
 * caller writes first): for an item that would outgrow its size even with the new event spilled.
 * The event stays applied; the log read back (inline and spilled together) is the same.
 */
export function spillInline(state: EmailState, eventId: string): EmailState {
  const event = state.log.find((e) => e.eventId === eventId);
  if (event === undefined) return state;
  return {
    ...state,
    log: state.log.filter((e) => e !== event),
    spilled: [...state.spilled, shortEventId(event.eventId)],
    spilledStatuses: [...new Set([...(state.spilledStatuses ?? []), event.status])],
  };
}

const pick = (state: EmailState) => ({
  ...(state.lastEvent !== undefined ? { lastEvent: state.lastEvent } : {}),
  ...(state.lastKey !== undefined ? { lastKey: state.lastKey } : {}),
});

/** A recipient's status from its key (the rank leads the key). */
export function recipientStatus(key: string, ranks: Readonly<Record<EmailStatus, number>>): EmailStatus | undefined {
  const rank = Number(key.slice(0, key.indexOf('#')));
  return (Object.keys(ranks) as EmailStatus[]).find((s) => ranks[s] === rank);
}

/** The log sorted as it is listed: by time, then event id. */
export const sortLog = (events: readonly LoggedEvent[]): LoggedEvent[] =>
  [...events].sort((a, b) => (a.timestamp === b.timestamp ? (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0) : a.timestamp < b.timestamp ? -1 : 1));
