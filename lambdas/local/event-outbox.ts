/**
 * Local mode's outbox of SES events: the events each accepted email will produce, made durable
 * while the local SES server accepts it (before SendEmail answers) and kept until the ingest
 * handler has applied every one of them. What SES and SNS would hold for a real account, so that
 * an email accepted before a crash still gets its events after a restart.
 *
 * One file per accepted email in the outbox folder, written atomically (json-files.ts):
 *   <MessageId>.pending.json   prepared, before the mailbox is written;
 *   <MessageId>.json           committed, once the mailbox holds the email (a rename);
 * and deleted once all its events are applied. At start, recover() settles what a crash
 * interrupted in between: a prepared email that reached the mailbox is committed (SES accepted it;
 * the answer may have been lost), one that did not is dropped (SES never accepted it). So the
 * mailbox and the outbox agree whatever the moment of the crash, and an email in the mailbox
 * always gets its events. Events applied before a crash are applied again after it; ingestion
 * turns those into no-ops, since an event's id is derived from its content, which the file keeps.
 *
 * Without a folder (tests), the same steps run in memory.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isTemporaryFile, readJson, removeDurably, renameDurably, writeJsonAtomic } from './json-files';
import type { AcceptJournal, SendEvent } from './ses-server';

/** One SES event to publish, `afterMs` after the send. */
export interface ScheduledSesEvent {
  readonly afterMs: number;
  readonly event: Readonly<Record<string, unknown>>;
}

export interface OutboxEntry {
  readonly messageId: string;
  /** When SES accepted the email (epoch ms): each event is due `afterMs` later. */
  readonly acceptedAt: number;
  readonly events: readonly ScheduledSesEvent[];
}

const entryFile = z.object({
  v: z.literal(1),
  messageId: z.string(),
  acceptedAt: z.number(),
  events: z.array(z.object({ afterMs: z.number(), event: z.record(z.string(), z.unknown()) })),
});

const PENDING = '.pending.json';
const COMMITTED = '.json';
/** SES MessageIds only: nothing else may become a file name. */
const SAFE_ID = /^[A-Za-z0-9-]{1,128}$/;

export interface EventOutboxOptions {
  /** The outbox folder; in memory when absent. */
  readonly dir?: string;
  /** The SES events an accepted email produces (none: nothing is kept for it). */
  readonly plan: (email: SendEvent) => readonly ScheduledSesEvent[];
}

export type CommitListener = (entry: OutboxEntry) => void;

export class EventOutbox implements AcceptJournal {
  private readonly pending = new Map<string, OutboxEntry>();
  private readonly committed = new Map<string, OutboxEntry>();
  private readonly listeners = new Set<CommitListener>();

  private constructor(private readonly options: EventOutboxOptions) {}

  /** Reads the outbox folder as the last run left it. Call recover() once the mailbox is loaded. */
  static async open(options: EventOutboxOptions): Promise<EventOutbox> {
    const outbox = new EventOutbox(options);
    if (!options.dir) return outbox;
    let names: string[];
    try {
      names = await readdir(options.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      names = [];
    }
    for (const name of names) {
      const file = path.join(options.dir, name);
      if (isTemporaryFile(name)) {
        await removeDurably(file);
        continue;
      }
      const pending = name.endsWith(PENDING);
      if (!pending && !name.endsWith(COMMITTED)) continue;
      const parsed = entryFile.safeParse(await readJson(file));
      if (!parsed.success) throw new Error(`${file} is not an outbox entry this version of Sesame reads: move it away to start`);
      const { v: _version, ...entry } = parsed.data;
      (pending ? outbox.pending : outbox.committed).set(entry.messageId, entry);
    }
    return outbox;
  }

  /** Settles the emails a crash caught between prepare and commit; `inMailbox` tells which the SES server kept. */
  async recover(inMailbox: ReadonlySet<string>): Promise<void> {
    for (const entry of [...this.pending.values()]) {
      if (inMailbox.has(entry.messageId) && !this.committed.has(entry.messageId)) await this.commitEntry(entry);
      else await this.drop(entry.messageId);
    }
  }

  async prepare(email: SendEvent): Promise<void> {
    if (!SAFE_ID.test(email.messageId)) throw new Error('unexpected SES MessageId');
    const events = this.options.plan(email);
    if (events.length === 0) return;
    const entry: OutboxEntry = { messageId: email.messageId, acceptedAt: Date.parse(email.timestamp), events };
    if (this.options.dir) await writeJsonAtomic(this.file(entry.messageId, PENDING), { v: 1, ...entry });
    this.pending.set(entry.messageId, entry);
  }

  async commit(email: SendEvent): Promise<void> {
    const entry = this.pending.get(email.messageId);
    if (entry) await this.commitEntry(entry);
  }

  /** Entries committed and not yet settled. */
  entries(): OutboxEntry[] {
    return [...this.committed.values()];
  }

  /** Calls `listener` for each entry committed from now on; returns a function that removes it. */
  onCommit(listener: CommitListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Every event of the entry is applied: the entry leaves the outbox. */
  async settle(messageId: string): Promise<void> {
    if (this.options.dir) await removeDurably(this.file(messageId, COMMITTED));
    this.committed.delete(messageId);
  }

  private async commitEntry(entry: OutboxEntry): Promise<void> {
    if (this.options.dir) await renameDurably(this.file(entry.messageId, PENDING), this.file(entry.messageId, COMMITTED));
    this.pending.delete(entry.messageId);
    this.committed.set(entry.messageId, entry);
    for (const listener of this.listeners) listener(entry);
  }

  private async drop(messageId: string): Promise<void> {
    if (this.options.dir) await removeDurably(this.file(messageId, PENDING));
    this.pending.delete(messageId);
  }

  private file(messageId: string, suffix: string): string {
    return path.join(this.options.dir!, `${messageId}${suffix}`);
  }
}
