/**
 * JSON files for the local stand-ins' state, written atomically: a temporary file beside the
 * target, then a rename, so a reader or a crash never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify(value, null, 2) + '\n');
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** The parsed file, or undefined when it does not exist. */
export async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Saves a snapshot of some state, one write at a time, coalescing: a save() asked for while a
 * write runs is served by one later write of the then-current state. The promise settles when a
 * write that includes the state at the time of the call is on disk.
 */
export class SnapshotWriter {
  private running: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;

  constructor(
    private readonly file: string,
    private readonly snapshot: () => unknown,
  ) {}

  save(): Promise<void> {
    if (this.queued) return this.queued;
    const next = this.running.then(() => {
      this.queued = undefined;
      return writeJsonAtomic(this.file, this.snapshot());
    });
    this.queued = next;
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every write asked for so far has finished. */
  idle(): Promise<void> {
    return this.running;
  }
}
