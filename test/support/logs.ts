/**
 * Logs in tests: a logger that keeps its entries (shaped like Powertools' lines: `level` in upper
 * case, `message`, the fields) instead of printing them, so a test can assert what was logged; and
 * the lines Powertools itself writes while a test acts.
 */
import type { LogFields, Logger } from '../../lambdas/core/log';

export function memoryLogger(): { log: Logger; entries: Record<string, unknown>[]; lines: string[] } {
  const entries: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const make = (base: LogFields): Logger => {
    const emit = (level: string) => (message: string, fields?: LogFields) => {
      const entry = { level, message, ...base, ...fields };
      entries.push(entry);
      lines.push(JSON.stringify(entry, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v)));
    };
    return { debug: emit('DEBUG'), info: emit('INFO'), warn: emit('WARN'), error: emit('ERROR'), child: (fields) => make({ ...base, ...fields }) };
  };
  return { log: make({}), entries, lines };
}

/** Runs `act` and returns the JSON lines Powertools wrote meanwhile (it writes errors and warnings to stderr). */
export async function powertoolsLines(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  };
  const spies = [jest.spyOn(process.stdout, 'write').mockImplementation(capture), jest.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    await act();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return written.join('').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}
