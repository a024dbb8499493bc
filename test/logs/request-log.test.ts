import { readRequestLogConfig } from '../../lambdas/core/config';
import { LOG_BODY_MAX_CHARS, LOG_STRING_MAX_CHARS, loggedBody, REDACTED } from '../../lambdas/core/domain/request-log';

describe('loggedBody', () => {
  it('removes API keys, signing secrets and attachment contents', () => {
    const body = loggedBody(JSON.stringify({
      token: 're_abcdefghijklmnop',
      signing_secret: 'whsec_c2VjcmV0c2VjcmV0',
      note: 'key re_1234567890abcdef and whsec_QUJDREVGR0hJSktM inside text',
      attachments: [{ filename: 'a.pdf', content: 'JVBERi0xLjQK' }],
      content: 'not an attachment',
    }));
    expect(body).toEqual({
      token: REDACTED,
      signing_secret: REDACTED,
      note: `key ${REDACTED} and ${REDACTED} inside text`,
      attachments: [{ filename: 'a.pdf', content: REDACTED }],
      content: 'not an attachment',
    });
  });

  it('cuts long strings and long arrays, and replaces a body still too large by a marker', () => {
    const cut = loggedBody(JSON.stringify({ html: 'x'.repeat(LOG_STRING_MAX_CHARS + 10), to: Array.from({ length: 60 }, (_, i) => `${i}@a.test`) })) as { html: string; to: string[] };
    expect(cut.html).toBe(`${'x'.repeat(LOG_STRING_MAX_CHARS)}… [10 more characters]`);
    expect(cut.to).toHaveLength(51);
    expect(cut.to[50]).toBe('[10 more items]');

    const big = { fields: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'y'.repeat(200)])) };
    const marker = loggedBody(JSON.stringify(big)) as { truncated: boolean; size: number };
    expect(marker).toEqual({ truncated: true, size: expect.any(Number) });
    expect(marker.size).toBeGreaterThan(LOG_BODY_MAX_CHARS);
  });

  it('answers null for no body or a body that is not JSON', () => {
    expect(loggedBody(undefined)).toBeNull();
    expect(loggedBody('')).toBeNull();
    expect(loggedBody('<html>')).toBeNull();
  });
});

describe('readRequestLogConfig', () => {
  it('is on with a 7-day retention by default, off with SESAME_REQUEST_LOGS=0, and refuses other values', () => {
    expect(readRequestLogConfig({})).toEqual({ enabled: true, retentionDays: 7 });
    expect(readRequestLogConfig({ SESAME_REQUEST_LOGS: '0', SESAME_LOG_RETENTION_DAYS: '3' })).toEqual({ enabled: false, retentionDays: 3 });
    expect(() => readRequestLogConfig({ SESAME_REQUEST_LOGS: 'maybe' })).toThrow(/SESAME_REQUEST_LOGS/);
    expect(() => readRequestLogConfig({ SESAME_LOG_RETENTION_DAYS: '0' })).toThrow(/SESAME_LOG_RETENTION_DAYS/);
  });
});
