/**
 * The data folder: a new one is marked with its format, an older one is used as it is, a newer one
 * is refused in one line that says what to do; its secrets are never left half written.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_FORMAT, keptSecret, prepareDataFolder } from '../../lambdas/local/data-folder';

const freshDir = () => mkdtempSync(join(tmpdir(), 'sesame-data-'));

it('marks a new folder with the current format', () => {
  const dir = join(freshDir(), 'new');
  prepareDataFolder(dir);
  expect(readFileSync(join(dir, 'format'), 'utf8')).toBe(`${DATA_FORMAT}\n`);
});

it('uses a folder of the previous layout as it is, and marks it', () => {
  const dir = freshDir();
  mkdirSync(join(dir, 'dynamodb'));
  writeFileSync(join(dir, 'api-key'), 're_old\n');
  prepareDataFolder(dir);
  expect(readFileSync(join(dir, 'format'), 'utf8')).toBe(`${DATA_FORMAT}\n`);
  expect(keptSecret(dir, 'api-key', () => 're_new')).toBe('re_old');
});

it('refuses a folder of a newer format in one line that says what to do', () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'format'), `${DATA_FORMAT + 1}\n`);
  expect(() => prepareDataFolder(dir)).toThrow(/newer version of Sesame .*point SESAME_DATA_DIR at another folder\.$/);
  expect(() => prepareDataFolder(dir)).not.toThrow(/\n/);
});

it('makes a secret once, writes it whole, and replaces an empty file left by a crash', () => {
  const dir = freshDir();
  expect(keptSecret(dir, 'secrets-key', () => 'first')).toBe('first');
  expect(keptSecret(dir, 'secrets-key', () => 'second')).toBe('first');
  writeFileSync(join(dir, 'api-key'), '');
  expect(keptSecret(dir, 'api-key', () => 're_made')).toBe('re_made');
  expect(readFileSync(join(dir, 'api-key'), 'utf8')).toBe('re_made\n');
  expect(existsSync(join(dir, 'secrets-key'))).toBe(true);
});
