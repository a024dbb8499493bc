/**
 * No input produces a 5xx: random bodies (every field of every JSON type, odd strings, odd
 * nesting) through the real handler always get a 2xx or a 4xx in Resend's format.
 */
import { call, isResendError, type Handler } from '../support/api';
import { startSendHarness, type SendHarness } from './harness';

let h: SendHarness;
let handler: Handler;
let key: string;

beforeAll(async () => {
  h = await startSendHarness();
  handler = h.handler();
  key = (await h.tenant('acme')).key;
});
afterAll(() => h.close());

function prng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const STRINGS = ['', ' ', 'a@acme.test', 'Acme <a@acme.test>', 'x@y', '<>', '"q" <a@acme.test>', 'a@acme.test\r\nBcc: x@y.z', '\u0000', 'é@ü.de', 'delivered@resend.dev', 'YWJj', '2030-01-01T00:00:00Z', 'x'.repeat(2000), '{"a":1}', 'sesame_email_id'];

function value(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * (depth > 2 ? 5 : 8));
  switch (pick) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return [0, -1, 1.5, 1e308, Number.MAX_SAFE_INTEGER][Math.floor(rand() * 5)];
    case 3: case 4: return STRINGS[Math.floor(rand() * STRINGS.length)];
    case 5: return Array.from({ length: Math.floor(rand() * 4) }, () => value(rand, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (const k of ['name', 'value', 'filename', 'content', 'content_type', 'path', 'X-Custom'].filter(() => rand() < 0.4)) o[k] = value(rand, depth + 1);
      return o;
    }
  }
}

const FIELDS = ['from', 'to', 'cc', 'bcc', 'reply_to', 'subject', 'html', 'text', 'headers', 'tags', 'attachments', 'scheduled_at', 'template'];

function body(rand: () => number): unknown {
  if (rand() < 0.1) return value(rand);
  const o: Record<string, unknown> = { from: 'a@acme.test', to: 'u@example.org', subject: 's', text: 't' };
  for (const f of FIELDS) if (rand() < 0.35) o[f] = value(rand);
  return o;
}

it('answers 300 random single and batch requests without a 5xx', async () => {
  const rand = prng(20261129);
  const statuses = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    const batch = rand() < 0.3;
    const payload = batch ? Array.from({ length: 1 + Math.floor(rand() * 3) }, () => body(rand)) : body(rand);
    const res = await call(handler, 'POST', batch ? '/emails/batch' : '/emails', {
      key, body: payload, headers: rand() < 0.2 ? { 'x-batch-validation': 'permissive' } : {},
    });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    expect(res.status).toBeLessThan(500);
    if (res.status >= 400) expect(isResendError(res.body)).toBe(true);
  }
  // The generator reaches both sides: some requests are accepted, most are refused.
  expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
  expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
});
