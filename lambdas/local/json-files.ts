/**
 * Files in local mode's data folder, written so that a crash (kill -9, or the machine stopping)
 * never leaves half a file: the content goes to a temporary file beside the target, which is
 * fsynced, renamed over the target, and the folder fsynced so that the rename itself is on disk.
 * A reader sees the old file or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';

const temporaryName = (file: string) => `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/** True for the temporary files a crash may leave behind (safe to delete at start). */
export const isTemporaryFile = (name: string): boolean => /\.\d+\.[0-9a-f]{8}\.tmp$/.test(name);

/** Makes a folder's entries (a rename, a new or deleted file) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The crash-safe write both writers below share: `write` fills a temporary file beside `file`,
 * which is then fsynced, renamed over `file`, and the folder fsynced. On failure the temporary
 * file is removed and the target left as it was.
 */
async function replaceAtomically(file: string, mode: number, write: (handle: FileHandle) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = temporaryName(file);
  try {
    const handle = await open(temporary, 'w', mode);
    try {
      await write(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(file));
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  await replaceAtomically(file, options.mode ?? 0o644, (handle) => handle.writeFile(data));
}

/**
 * writeFileAtomic for content too large to hold as one string: the chunks of lines are written one
 * after the other (each followed by a newline) to the temporary file, which is then fsynced and renamed.
 */
export async function writeLinesAtomic(file: string, lines: AsyncIterable<string>): Promise<void> {
  await replaceAtomically(file, 0o644, async (handle) => {
    for await (const line of lines) await handle.write(line + '\n');
  });
}

/** writeFileAtomic for start-up code that runs before anything else. */
export function writeFileAtomicSync(file: string, data: string, options: { mode?: number } = {}): void {
  const temporary = temporaryName(file);
  try {
    const fd = openSync(temporary, 'w', options.mode ?? 0o644);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Renames within one folder durably (the folder is fsynced after the rename). */
export async function renameDurably(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(path.dirname(to));
}

/** Deletes a file durably; a file already gone is not an error. */
export async function removeDurably(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await fsyncDir(path.dirname(file));
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
