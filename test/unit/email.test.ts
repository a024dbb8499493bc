import { HttpError } from '../../lambdas/core/errors';
import { formatMailbox, parseMailbox, toSesAddress } from '../../lambdas/core/domain/email';
import { parseSendRequest } from '../../lambdas/core/domain/send-request';

const valid = { from: 'Acme <hello@acme.com>', to: 'user@example.org', subject: 'Hi', text: 'hello' };

function refusal(input: unknown, options = {}): HttpError {
  try {
    parseSendRequest(input, options);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parseMailbox', () => {
  it('reads a bare address and lower-cases only the domain', () => {
    expect(parseMailbox('Jane.Doe@Example.COM')).toEqual({ raw: 'Jane.Doe@Example.COM', address: 'Jane.Doe@Example.COM', domain: 'example.com', name: undefined });
  });

  it('reads a display name, quoted or not', () => {
    expect(parseMailbox('Acme Team <hi@acme.com>')?.name).toBe('Acme Team');
    expect(parseMailbox('"Doe, Jane" <jane@acme.com>')?.name).toBe('Doe, Jane');
  });

  it.each(['plainaddress', '@acme.com', 'a@b', 'a b@acme.com', 'a@-acme.com', 'a@acme..com', 'x <a@acme.com', 'a@acme.c0m', ''])('refuses %p', (raw) => {
    expect(parseMailbox(raw)).toBeUndefined();
  });

  it('quotes display names with specials and encodes non-ASCII names for SES', () => {
    expect(formatMailbox(parseMailbox('"Doe, Jane" <jane@acme.com>')!)).toBe('"Doe, Jane" <jane@acme.com>');
    expect(formatMailbox(parseMailbox('Zoë <z@acme.com>')!)).toBe(`=?UTF-8?B?${Buffer.from('Zoë').toString('base64')}?= <z@acme.com>`);
  });
});

describe('parseSendRequest', () => {
  it('normalises a valid request', () => {
    const draft = parseSendRequest({ ...valid, to: ['a@x.io', 'B <b@x.io>'], cc: 'c@x.io', reply_to: 'r@x.io', tags: [{ name: 'kind', value: 'welcome' }], headers: { 'X-Entity-Ref': '1' } });
    expect(draft.from.domain).toBe('acme.com');
    expect(draft.to.map((m) => m.address)).toEqual(['a@x.io', 'b@x.io']);
    expect(draft.cc).toHaveLength(1);
    expect(draft.replyTo[0]!.address).toBe('r@x.io');
    expect(draft.tags).toEqual([{ name: 'kind', value: 'welcome' }]);
    expect(draft.headers).toEqual({ 'X-Entity-Ref': '1' });
  });

  it('decodes attachments and derives their content type', () => {
    const draft = parseSendRequest({ ...valid, attachments: [{ filename: 'r.pdf', content: Buffer.from('%PDF').toString('base64') }] });
    expect(draft.attachments[0]).toMatchObject({ filename: 'r.pdf', contentType: 'application/pdf' });
    expect(draft.attachments[0]!.content.toString()).toBe('%PDF');
  });

  it.each([
    [{ ...valid, from: undefined }, 422, 'missing_required_field', '`from`'],
    [{ ...valid, to: undefined }, 422, 'missing_required_field', '`to`'],
    [{ ...valid, subject: undefined }, 422, 'missing_required_field', '`subject`'],
    [{ ...valid, to: [] }, 422, 'missing_required_field', '`to`'],
    [{ ...valid, to: 'not-an-address' }, 422, 'validation_error', '`to`'],
    [{ ...valid, from: 'nobody' }, 422, 'validation_error', '`from`'],
    [{ ...valid, to: 42 }, 422, 'validation_error', 'to'],
    [{ ...valid, text: undefined }, 422, 'validation_error', '`html` or `text`'],
    [{ ...valid, to: Array.from({ length: 30 }, (_, i) => `t${i}@x.io`), bcc: Array.from({ length: 21 }, (_, i) => `b${i}@x.io`) }, 422, 'validation_error', 'at most 50'],
    [{ ...valid, tags: [{ name: 'sesame_email_id', value: 'x' }] }, 422, 'validation_error', 'reserved'],
    [{ ...valid, tags: [{ name: 'bad tag', value: 'x' }] }, 422, 'validation_error', 'tags'],
    [{ ...valid, headers: { From: 'evil@x.io' } }, 422, 'validation_error', 'From'],
    [{ ...valid, headers: { 'X-A': 'a\r\nBcc: x@y.z' } }, 422, 'validation_error', 'X-A'],
    [{ ...valid, attachments: [{ filename: 'a.txt', content: '%%%' }] }, 422, 'invalid_attachment', 'base64'],
    [{ ...valid, attachments: [{ filename: 'a.txt', path: 'https://x.io/a' }] }, 422, 'invalid_attachment', 'path'],
    [{ ...valid, scheduled_at: 'whenever' }, 422, 'invalid_parameter', 'scheduled_at'],
    [[valid], 422, 'validation_error', 'JSON object'],
  ])('refuses bad input %#', (input, status, name, fragment) => {
    const error = refusal(input);
    expect(error.statusCode).toBe(status);
    expect(error.errorName).toBe(name);
    expect(error.message).toContain(fragment);
  });

  it('refuses attachments on a batch email sent at once, naming the index', () => {
    const error = refusal({ ...valid, attachments: [] }, { batch: true, prefix: 'emails[3]: ' });
    expect(error.message).toMatch(/^emails\[3\]: .*attachments.*scheduled_at/);
  });

  it('takes attachments with scheduled_at, alone or in a batch', () => {
    for (const options of [{}, { batch: true }]) {
      const draft = parseSendRequest({ ...valid, scheduled_at: 'in 1 hour', attachments: [{ filename: 'a.txt', content: 'aGk=' }] }, options);
      expect(draft.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['a.txt', 'hi']]);
    }
  });
});

describe('toSesAddress', () => {
  it.each([
    ['delivered@resend.dev', 'success@simulator.amazonses.com'],
    ['bounced@resend.dev', 'bounce@simulator.amazonses.com'],
    ['complained@resend.dev', 'complaint@simulator.amazonses.com'],
    ['suppressed@resend.dev', 'suppressionlist@simulator.amazonses.com'],
    ['delivered+signup@resend.dev', 'success+signup@simulator.amazonses.com'],
    ['someone@resend.dev', 'someone@resend.dev'],
    ['user@example.com', 'user@example.com'],
  ])('maps %s to %s', (from, to) => {
    expect(toSesAddress(from)).toBe(to);
  });
});
