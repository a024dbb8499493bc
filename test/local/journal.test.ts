/**
 * The journal behind the local SQS: what append() acknowledged is read back after a crash (the
 * journal is simply not closed), a torn last line is dropped, and compaction never loses or
 * repeats a record, whichever step a crash interrupts.
 */
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal, readJournal } from '../../lambdas/local/journal';

interface Add {
  readonly add: number;
}

/** A tiny owner: its state is a list of numbers, changed by `add` records. */
async function openCounter(dir: string, compactBytes?: number) {
  let values: number[] = [];
  const journal = await Journal.open<Add>(
    { dir, snapshot: () => values, ...(compactBytes ? { compactBytes } : {}) },
    ({ state, records }) => {
      values = [...((state as number[] | undefined) ?? []), ...records.map((r) => r.add)];
    },
  );
  return {
    journal,
    values: () => values,
    add: (n: number) => {
      values = [...values, n];
      return journal.append({ add: n });
    },
  };
}

const freshDir = () => mkdtempSync(join(tmpdir(), 'sesame-journal-'));

it('reads back every acknowledged record after a crash, in order', async () => {
  const dir = freshDir();
  const first = await openCounter(dir);
  await Promise.all([1, 2, 3].map((n) => first.add(n)));
  await first.add(4);

  const second = await openCounter(dir); // the first is abandoned, never closed

  expect(second.values()).toEqual([1, 2, 3, 4]);
});

it('drops a torn last line and appends after the good records', async () => {
  // Prepare
  const dir = freshDir();
  const first = await openCounter(dir);
  await first.add(1);
  await first.add(2);
  const [log] = readdirSync(dir).filter((f) => f.endsWith('.log'));
  appendFileSync(join(dir, log!), '0123456789ab {"add":'); // a write cut short by the crash

  // Act
  const second = await openCounter(dir);
  await second.add(3);
  const third = await openCounter(dir);

  // Assess
  expect(second.values()).toEqual([1, 2, 3]);
  expect(third.values()).toEqual([1, 2, 3]);
});

it('ignores a line whose checksum does not match', async () => {
  const dir = freshDir();
  const first = await openCounter(dir);
  await first.add(1);
  const [log] = readdirSync(dir).filter((f) => f.endsWith('.log'));
  appendFileSync(join(dir, log!), '000000000000 {"add":2}\n');

  expect((await readJournal<Add>(dir)).records).toEqual([{ add: 1 }]);
});

it('compacts into a snapshot as it grows, and the state is the same after a crash', async () => {
  const dir = freshDir();
  const first = await openCounter(dir, 200);
  for (let n = 1; n <= 60; n++) await first.add(n);

  const logs = readdirSync(dir).filter((f) => f.endsWith('.log'));
  const second = await openCounter(dir);

  expect(logs.length).toBeLessThanOrEqual(2);
  expect(readFileSync(join(dir, 'snapshot.json'), 'utf8')).toContain('"generation"');
  expect(second.values()).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
});

it('counts a record once when a crash came after the snapshot and before the old journal was deleted', async () => {
  // Prepare: a journal holding 7, kept aside; the next start compacts it into the snapshot.
  const dir = freshDir();
  const first = await openCounter(dir);
  await first.add(7);
  const [log] = readdirSync(dir).filter((f) => f.endsWith('.log'));
  copyFileSync(join(dir, log!), join(tmpdir(), `kept-${process.pid}.log`));
  await openCounter(dir);
  expect(readdirSync(dir)).not.toContain(log);

  // Act: the old journal is back, as if its deletion had not happened.
  copyFileSync(join(tmpdir(), `kept-${process.pid}.log`), join(dir, log!));
  const third = await openCounter(dir);

  // Assess
  expect(third.values()).toEqual([7]);
});
