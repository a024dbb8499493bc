/**
 * Input classes refused or kept whole, each as a class rather than one example:
 * - CR, LF and NUL in anything that ends up in a mail header: one check, every such field.
 * - Maps whose keys the customer chose keep every key, `__proto__` included.
 * - Parsed JSON has a bounded depth and size.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { HttpError } from '../../lambdas/core/errors';
import { MAX_JSON_DEPTH, parseJsonBody } from '../../lambdas/core/domain/email';
import { parseSendRequest } from '../../lambdas/core/domain/send-request';
import { toApiRequest } from '../../lambdas/core/http/api';
import { parseUpdateTemplate } from '../../lambdas/core/domain/template';
import { buildPayload, serializePayload } from '../../lambdas/core/domain/webhook-payload';
import { toAppliedEvent } from '../../lambdas/ingest/core';
import type { EmailRecord, LoggedEvent } from '../../lambdas/core/adapters/events';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { FIXTURE_MESSAGE_ID, signedLambdaEvent } from '../ingest/fixtures';
import { makeWorld } from '../ingest/world';

const valid = { from: 'a@acme.test', to: 'u@example.org', subject: 'Hello', text: 'Hi' };
const attachment = { filename: 'a.txt', content: 'YWJj' };

function refusal(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('CR, LF and NUL in header-bound fields', () => {
  const fields: [string, (bad: string) => Record<string, unknown>, RegExp][] = [
    ['subject', (bad) => ({ ...valid, subject: `Hello${bad}Bcc: x@evil.test` }), /`subject`/],
    ['a header value', (bad) => ({ ...valid, headers: { 'X-Ref': `1${bad}Bcc: x@evil.test` } }), /`headers\.X-Ref`/],
    ['a header name', (bad) => ({ ...valid, headers: { [`X-Ref${bad}Bcc`]: '1' } }), /`headers\.X-Ref/],
    ['an attachment filename', (bad) => ({ ...valid, attachments: [{ ...attachment, filename: `a${bad}.txt` }] }), /`attachments\.0\.filename`/],
    ['an attachment content_id', (bad) => ({ ...valid, attachments: [{ ...attachment, content_id: `cid${bad}x` }] }), /`attachments\.0\.content_id`/],
    ['an attachment inline_content_id', (bad) => ({ ...valid, attachments: [{ ...attachment, inline_content_id: `cid${bad}x` }] }), /`attachments\.0\.inline_content_id`/],
    ['a display name', (bad) => ({ ...valid, from: `Acme${bad}Bcc <a@acme.test>` }), /`from`/],
  ];
  const characters = [['CR', '\r'], ['LF', '\n'], ['NUL', '\u0000']];

  it.each(fields.flatMap(([name, make, field]) => characters.map(([c, bad]) => [`${c} in ${name}`, make(bad!), field] as const)))(
    'refuses %s with 422 naming the field',
    (_name, body, field) => {
      const e = refusal(() => parseSendRequest(body));
      expect(e.statusCode).toBe(422);
      expect(['validation_error', 'invalid_parameter', 'invalid_attachment']).toContain(e.errorName);
      expect(e.message).toMatch(field);
    },
  );

  it.each(characters)('refuses %s in a template\'s subject when the template is saved', (_c, bad) => {
    const e = refusal(() => parseUpdateTemplate({ name: 'n', html: '<p>x</p>', subject: `Hi${bad}Bcc: x@evil.test` }));
    expect([e.statusCode, e.errorName]).toEqual([422, 'validation_error']);
    expect(e.message).toMatch(/`subject`/);
  });

  it('still accepts tabs and line breaks where they belong (the body)', () => {
    expect(parseSendRequest({ ...valid, subject: 'A\ttab', text: 'line 1\r\nline 2', headers: { 'X-Ref': 'a\tb' } }).subject).toBe('A\ttab');
  });
});

describe('maps keyed by the customer keep every key, __proto__ included', () => {
  it('keeps a `__proto__` header of a send', () => {
    const draft = parseSendRequest(JSON.parse('{"from":"a@acme.test","to":"u@example.org","subject":"s","text":"t","headers":{"__proto__":"x","X-Other":"y"}}'));
    expect(Object.entries(draft.headers)).toEqual([['__proto__', 'x'], ['X-Other', 'y']]);
  });

  it('keeps a `__proto__` tag in the webhook payload', () => {
    const email: EmailRecord = {
      emailId: '0b0f2c1e-5c2a-4a55-9c3e-1d2e3f405162', tenantId: 't', from: 'a@acme.test', to: ['u@example.org'], cc: [], bcc: [],
      subject: 's', createdAt: '2026-11-29T00:00:00.000Z',
      tags: [{ name: '__proto__', value: 'polluted' }, { name: 'constructor', value: 'c' }, { name: 'plan', value: 'pro' }],
      layout: 'current',
    };
    const event: LoggedEvent = {
      eventId: 'e1', type: 'email.delivered', status: 'delivered', sesType: 'Delivery', sesMessageId: 'm1',
      timestamp: '2026-11-29T00:00:01.000Z', recipients: ['u@example.org'], details: {},
    };
    const body = JSON.parse(serializePayload(buildPayload(toAppliedEvent(event, email)))) as { data: { tags: unknown } };
    expect(Object.entries(body.data.tags as object)).toEqual([['__proto__', 'polluted'], ['constructor', 'c'], ['plan', 'pro']]);
  });

  describe('through the table and ingestion', () => {
    let dynamo: TestDynamo;
    beforeAll(async () => {
      dynamo = await startTestDynamo();
    });
    afterAll(() => dynamo.close());

    it('delivers a `__proto__` tag stored with the email in the webhook of its SES event', async () => {
      const world = await makeWorld(dynamo);
      await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID, tags: [{ name: '__proto__', value: 'kept' }, { name: 'plan', value: 'pro' }] });
      await world.handler(signedLambdaEvent('delivery'));
      expect(world.fanned).toHaveLength(1);
      const payload = JSON.parse(serializePayload(buildPayload(world.fanned[0]!))) as { data: { tags: object } };
      expect(Object.entries(payload.data.tags)).toEqual([['__proto__', 'kept'], ['plan', 'pro']]);
    });
  });

  it('keeps `__proto__` query parameters and headers of a request, and lends none from Object.prototype', () => {
    const request = toApiRequest({
      routeKey: 'GET /emails', rawPath: '/emails', headers: JSON.parse('{"__proto__":"h"}'),
      queryStringParameters: JSON.parse('{"__proto__":"q","limit":"5"}'), isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2);
    expect(request.query['__proto__']).toBe('q');
    expect(request.headers['__proto__']).toBe('h');
    expect(request.query['constructor']).toBeUndefined();
  });
});

describe('parsed JSON is bounded', () => {
  it.each([
    ['5,000 levels deep', '['.repeat(5000) + ']'.repeat(5000)],
    [`${MAX_JSON_DEPTH + 1} levels deep`, '{"a":'.repeat(MAX_JSON_DEPTH) + '[]' + '}'.repeat(MAX_JSON_DEPTH)],
    ['holding 200,000 values', `[${'0,'.repeat(199_999)}0]`],
  ])('refuses a body %s with 422', (_name, body) => {
    const e = refusal(() => parseJsonBody(body));
    expect([e.statusCode, e.errorName]).toEqual([422, 'validation_error']);
  });

  it(`accepts ${MAX_JSON_DEPTH} levels`, () => {
    expect(() => parseJsonBody('{"a":'.repeat(MAX_JSON_DEPTH - 1) + '[]' + '}'.repeat(MAX_JSON_DEPTH - 1))).not.toThrow();
  });
});
