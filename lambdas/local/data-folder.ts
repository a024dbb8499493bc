/**
 * Local mode's data folder: its layout version, and the small files kept at its top.
 *
 *   format          the layout version (DATA_FORMAT), written at the first start
 *   api-key         the seeded API key, when SESAME_API_KEY is not set
 *   secrets-key     the key that encrypts webhook signing secrets at rest
 *   dynamodb/       dynalite's LevelDB files
 *   dynamodb-rebuild/  while the table is rebuilt with new indexes, the dump of its items (dynamodb.ts)
 *   ses/            the local SES server's identities, tenants and suppression lists (tenants.json), mailbox
 *   ses-events/     the outbox of SES events not yet applied (event-outbox.ts)
 *   sqs/            the local SQS's snapshot and journal (journal.ts)
 *   s3/             the local S3's buckets, one file per object (s3-server.ts); absent in older folders
 *
 * Format 1 is the layout before ses-events/ and sqs/ existed: every file it has is read the same
 * way, so such a folder is used as it is and marked format 2. A folder of a later format is refused
 * with one line that says what to do.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from './json-files';

export const DATA_FORMAT = 2;

/** Creates the folder or checks that this version can use it; marks it with DATA_FORMAT. */
export function prepareDataFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'format');
  const found = existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) : 1;
  if (!Number.isInteger(found) || found < 1) {
    throw new Error(`${file} is not a data format this version of Sesame knows: point SESAME_DATA_DIR at another folder, or delete ${dir} to start afresh.`);
  }
  if (found > DATA_FORMAT) {
    throw new Error(`The data folder ${dir} was written by a newer version of Sesame (format ${found}; this version reads up to ${DATA_FORMAT}): run that version, or point SESAME_DATA_DIR at another folder.`);
  }
  if (found < DATA_FORMAT) writeFileAtomicSync(file, `${DATA_FORMAT}\n`);
}

/** A secret kept in the data folder: read, or made once and written atomically (never half a key). */
export function keptSecret(dir: string, name: string, make: () => string): string {
  const file = join(dir, name);
  if (existsSync(file)) {
    const value = readFileSync(file, 'utf8').trim();
    if (value !== '') return value;
  }
  const value = make();
  writeFileAtomicSync(file, value + '\n', { mode: 0o600 });
  return value;
}
