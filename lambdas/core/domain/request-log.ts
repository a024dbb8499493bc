/**
 * What a request log keeps of a request and its answer (pure): bodies as JSON with secrets removed
 * and their size bounded, so a log never holds an API key, a webhook signing secret or an
 * attachment's content, and a large request costs no more than a small one to keep.
 */

/**
 * Longest string kept inside a logged body; longer ones are cut and marked. A typical `POST /emails`
 * (an HTML body cut here) then logs in one DynamoDB write unit (under 1 KB).
 */
export const LOG_STRING_MAX_CHARS = 256;
/** Longest array kept inside a logged body; the rest is replaced by a count. */
export const LOG_ARRAY_MAX_ITEMS = 50;
/** Largest logged body (its JSON, in characters) after the cuts above; a larger one is replaced by a marker. */
export const LOG_BODY_MAX_CHARS = 4096;

export const REDACTED = '[redacted]';

/** Fields whose whole value is secret wherever they appear. */
const SECRET_FIELDS = new Set(['token', 'signing_secret', 'secret', 'api_key', 'password', 'authorization']);
/** Attachment fields that hold the file itself. */
const ATTACHMENT_CONTENT_FIELDS = new Set(['content']);
/** API keys (`re_...`) and webhook signing secrets (`whsec_...`) inside any string. */
const SECRET_IN_TEXT = /\b(?:re_[A-Za-z0-9_-]{8,}|whsec_[A-Za-z0-9+/=_-]{8,})/g;

function cutString(value: string): string {
  const clean = value.replace(SECRET_IN_TEXT, REDACTED);
  return clean.length <= LOG_STRING_MAX_CHARS ? clean : `${clean.slice(0, LOG_STRING_MAX_CHARS)}… [${clean.length - LOG_STRING_MAX_CHARS} more characters]`;
}

function redactValue(value: unknown, inAttachments: boolean): unknown {
  if (typeof value === 'string') return cutString(value);
  if (Array.isArray(value)) {
    const kept = value.slice(0, LOG_ARRAY_MAX_ITEMS).map((v) => redactValue(v, inAttachments));
    return value.length > LOG_ARRAY_MAX_ITEMS ? [...kept, `[${value.length - LOG_ARRAY_MAX_ITEMS} more items]`] : kept;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const key = k.toLowerCase();
      if (SECRET_FIELDS.has(key) || (inAttachments && ATTACHMENT_CONTENT_FIELDS.has(key))) out[k] = v === null ? null : REDACTED;
      else out[k] = redactValue(v, inAttachments || key === 'attachments');
    }
    return out;
  }
  return value;
}

/**
 * A body as a request log keeps it: parsed JSON with secrets replaced by `[redacted]`, long strings
 * and arrays cut; `null` when there is no body or it is not JSON. If the result is still larger than
 * LOG_BODY_MAX_CHARS, it is replaced by `{ truncated: true, size }` (size: characters before the cut).
 */
export function loggedBody(raw: string | undefined): unknown {
  if (raw === undefined || raw.trim() === '') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  const redacted = redactValue(parsed, false);
  const json = JSON.stringify(redacted);
  return json.length <= LOG_BODY_MAX_CHARS ? redacted : { truncated: true, size: json.length };
}
