/**
 * A logger for tests that keeps its entries (shaped like Powertools' lines: `level` in upper case,
 * `message`, the fields) instead of printing them, so a test can assert what was logged.
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
