/**
 * Resend's list parameters, checked before anything reaches DynamoDB: `limit` (1 to 100, 20 by
 * default) and the cursors `after` and `before`, each the id (a UUID) of an object of the list.
 */
import { HttpError } from '../errors';
import { isId } from '../domain/ids';

export interface PageQuery {
  readonly limit: number;
  readonly after?: string;
  readonly before?: string;
}

export function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 100) throw new HttpError(422, 'validation_error', 'The `limit` parameter must be an integer between 1 and 100.');
  return n;
}

/** `limit`, `after` and `before` of a list request; `what` names the list's objects in messages. */
export function parsePageQuery(query: Readonly<Record<string, string>>, what: string, cursors: 'after' | 'both' = 'both'): PageQuery {
  const limit = parseLimit(query.limit);
  const after = query.after;
  // A list that pages forward only ignores `before`, as it always has.
  const before = cursors === 'both' ? query.before : undefined;
  if (after !== undefined && before !== undefined) throw new HttpError(422, 'validation_error', 'Use either `after` or `before`, not both.');
  for (const [name, cursor] of [['after', after], ['before', before]] as const) {
    if (cursor !== undefined && !isId(cursor)) throw new HttpError(422, 'validation_error', `The \`${name}\` cursor must be the id of ${what}.`);
  }
  return { limit, ...(after !== undefined ? { after } : {}), ...(before !== undefined ? { before } : {}) };
}
