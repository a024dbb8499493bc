/**
 * An append-only journal with snapshots, for local mode's stand-ins that keep state in memory and
 * must not lose what they acknowledged (the local SQS). The owner applies a change in memory,
 * appends the record that describes it, and answers its client once append() resolves: the record
 * is then written and fsynced.
 *
 * On disk, in its own folder:
 *   snapshot.json       {"v":1,"generation":g,"state":...}, written atomically (json-files.ts)
 *   journal.<n>.log     one record per line, `<checksum> <json>\n`, for every n >= g
 * The state is the snapshot's with every journal of a generation >= g replayed in order. A crash
 * can leave a torn last line (never acknowledged: its fsync had not returned); open() drops it and
 * truncates the file there. Records are written in the order they were appended, by one writer,
 * and appends that arrive while a write runs share the next write and fsync (group commit).
 *
 * Compaction: when the current journal passes `compactBytes`, the state is captured at once (the
 * owner's snapshot() runs synchronously, so it includes every record appended so far), later
 * records go to the next generation's journal, and the snapshot of that generation is written;
 * only then are older journals deleted. Whatever the step a crash interrupts, open() rebuilds the
 * same state. open() also compacts, so every start begins with a short journal.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, truncate, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fsyncDir, isTemporaryFile, readJson, removeDurably, writeFileAtomic } from './json-files';

export interface JournalOptions {
  /** The journal's own folder. */
  readonly dir: string;
  /** The owner's whole state, JSON-serialisable; called synchronously at each compaction. */
  readonly snapshot: () => unknown;
  /** Bytes after which the current journal is compacted. @default 8 MiB */
  readonly compactBytes?: number;
}

export interface JournalContents<R> {
  /** The state of the latest snapshot, undefined when there is none yet. */
  readonly state: unknown;
  /** The records appended after it, oldest first. */
  readonly records: R[];
}

const SNAPSHOT = 'snapshot.json';
const FORMAT = 1;
const journalFile = (generation: number) => `journal.${generation}.log`;
const checksum = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, 12);

interface Pending {
  readonly generation: number;
  readonly line: string;
  readonly done: { resolve: () => void; reject: (error: unknown) => void };
}

interface Compaction {
  readonly generation: number;
  /** The state as JSON, serialised when captured: later changes must not leak into it. */
  readonly state: string;
}

/** Reads the journal folder as the last run left it (see the module comment). */
export async function readJournal<R>(dir: string): Promise<JournalContents<R> & { readonly generation: number }> {
  await mkdir(dir, { recursive: true });
  const names = await readdir(dir);
  for (const name of names.filter(isTemporaryFile)) await removeDurably(path.join(dir, name));
  const saved = (await readJson(path.join(dir, SNAPSHOT))) as { v?: number; generation?: number; state?: unknown } | undefined;
  if (saved !== undefined && (saved.v !== FORMAT || !Number.isInteger(saved.generation))) {
    throw new Error(`${path.join(dir, SNAPSHOT)} has an unknown format: it was written by another version of Sesame`);
  }
  const base = saved?.generation ?? 0;
  const generations = names
    .map((n) => /^journal\.(\d+)\.log$/.exec(n)?.[1])
    .filter((g): g is string => g !== undefined)
    .map(Number)
    .filter((g) => g >= base)
    .sort((a, b) => a - b);
  const records: R[] = [];
  for (const generation of generations) {
    const file = path.join(dir, journalFile(generation));
    const text = await readFile(file, 'utf8');
    let offset = 0;
    for (;;) {
      const end = text.indexOf('\n', offset);
      if (end < 0) break;
      const line = text.slice(offset, end);
      const space = line.indexOf(' ');
      const json = line.slice(space + 1);
      if (space !== 12 || checksum(json) !== line.slice(0, space)) break;
      records.push(JSON.parse(json) as R);
      offset = end + 1;
    }
    // A torn tail (never acknowledged) is cut off, so later appends do not follow garbage.
    if (offset < text.length) await truncate(file, Buffer.byteLength(text.slice(0, offset)));
  }
  return { state: saved?.state, records, generation: Math.max(base, generations.at(-1) ?? base) };
}

export class Journal<R> {
  private generation: number;
  private handle: { generation: number; file: FileHandle } | undefined;
  private bytes = 0;
  private queue: (Pending | Compaction)[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly options: JournalOptions, generation: number) {
    this.generation = generation;
  }

  /**
   * Reads what the last run left, lets the owner rebuild its state from it (`restore`), then
   * compacts, so that the run starts from a snapshot and an empty journal.
   */
  static async open<R>(options: JournalOptions, restore: (contents: JournalContents<R>) => void): Promise<Journal<R>> {
    const contents = await readJournal<R>(options.dir);
    restore(contents);
    const journal = new Journal<R>(options, contents.generation);
    journal.compact();
    await journal.flush();
    return journal;
  }

  /** Resolves once the record is written and fsynced (in append order with every other record). */
  append(record: R): Promise<void> {
    if (this.closed) return Promise.reject(new Error('journal closed'));
    const json = JSON.stringify(record);
    const line = `${checksum(json)} ${json}\n`;
    const promise = new Promise<void>((resolve, reject) => this.queue.push({ generation: this.generation, line, done: { resolve, reject } }));
    this.bytes += Buffer.byteLength(line);
    if (this.bytes >= (this.options.compactBytes ?? 8 * 1024 * 1024)) this.compact();
    this.kick();
    return promise;
  }

  /** Writes what is queued, compacts a last time and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.compact();
    this.closed = true;
    await this.flush();
    await this.handle?.file.close();
    this.handle = undefined;
  }

  /** Captures the state now; records appended from now on go to the next generation. */
  private compact(): void {
    this.generation += 1;
    this.bytes = 0;
    this.queue.push({ generation: this.generation, state: JSON.stringify(this.options.snapshot()) ?? 'null' });
    this.kick();
  }

  private async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private kick(): void {
    if (this.writing) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  /** The one writer: consecutive records of one generation share a write and an fsync. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if ('state' in head) {
        this.queue.shift();
        await this.writeSnapshot(head).catch((error: unknown) => {
          // The journals stay: the state is still rebuilt from them. Compaction is tried again later.
          process.stderr.write(`local journal ${this.options.dir}: could not compact: ${(error as Error).message}\n`);
        });
        continue;
      }
      const batch: Pending[] = [];
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if ('state' in next || next.generation !== head.generation) break;
        batch.push(next as Pending);
        this.queue.shift();
      }
      try {
        const file = await this.fileFor(head.generation);
        await file.write(batch.map((p) => p.line).join(''));
        await file.datasync();
        for (const p of batch) p.done.resolve();
      } catch (error) {
        for (const p of batch) p.done.reject(error);
      }
    }
  }

  private async fileFor(generation: number): Promise<FileHandle> {
    if (this.handle?.generation === generation) return this.handle.file;
    await this.handle?.file.close();
    this.handle = undefined;
    const file = await open(path.join(this.options.dir, journalFile(generation)), 'a');
    await fsyncDir(this.options.dir);
    this.handle = { generation, file };
    return file;
  }

  private async writeSnapshot({ generation, state }: Compaction): Promise<void> {
    await writeFileAtomic(path.join(this.options.dir, SNAPSHOT), `{"v":${FORMAT},"generation":${generation},"state":${state}}\n`);
    for (const name of await readdir(this.options.dir)) {
      const g = /^journal\.(\d+)\.log$/.exec(name)?.[1];
      if (g !== undefined && Number(g) < generation) {
        if (this.handle?.generation === Number(g)) {
          await this.handle.file.close();
          this.handle = undefined;
        }
        await removeDurably(path.join(this.options.dir, name));
      }
    }
  }
}
