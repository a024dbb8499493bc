import fc from 'fast-check';
import { HttpError } from '../../lambdas/core/errors';
import {
  MAX_STRING_VARIABLE_LENGTH,
  MAX_TEMPLATE_HTML_BYTES,
  MAX_TEMPLATE_VARIABLES,
  MAX_VARIABLE_KEY_LENGTH,
  RESERVED_VARIABLE_KEYS,
  type TemplateContent,
  buildContent,
  checkAlias,
  parseCreateTemplate,
  renderTemplate,
} from '../../lambdas/core/domain/template';

function refusal(act: () => unknown): HttpError {
  try {
    act();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const content = (over: Partial<TemplateContent> = {}): TemplateContent => ({
  subject: 'Order {{{ORDER}}}',
  html: '<p>Hi {{{NAME}}}, total {{{PRICE}}}</p>',
  text: 'Hi {{{NAME}}}',
  replyTo: [],
  variables: [
    { key: 'NAME', type: 'string', fallback: 'there' },
    { key: 'PRICE', type: 'number' },
    { key: 'ORDER', type: 'string' },
  ],
  ...over,
});

describe('buildContent (create and update)', () => {
  it('keeps what the request gives and checks it whole', () => {
    const c = buildContent({
      html: '<b>{{{A}}}</b>', subject: 'S {{{A}}}', from: 'Acme <hi@acme.com>', reply_to: 'help@acme.com',
      variables: [{ key: 'A', type: 'number', fallback_value: 3 }],
    });
    expect(c).toEqual({ html: '<b>{{{A}}}</b>', subject: 'S {{{A}}}', from: 'Acme <hi@acme.com>', replyTo: ['help@acme.com'], variables: [{ key: 'A', type: 'number', fallback: 3 }] });
  });

  it('merges an update over the draft; null clears an optional field', () => {
    const base = buildContent({ html: '<p>{{{A}}}</p>', subject: 'S', text: 'T', variables: [{ key: 'A', type: 'string' }] });
    expect(buildContent({ subject: null, text: 'T2' }, base)).toEqual({ ...base, subject: undefined, text: 'T2' } as TemplateContent);
    expect(buildContent({ subject: null }, base)).not.toHaveProperty('subject');
  });

  it('refuses a variable that the content uses but does not declare, naming it', () => {
    const e = refusal(() => buildContent({ html: '<p>{{{MISSING}}}</p>', variables: [] }));
    expect(e).toMatchObject({ statusCode: 422, errorName: 'validation_error' });
    expect(e.message).toContain('`MISSING`');
  });

  it.each(RESERVED_VARIABLE_KEYS)('refuses declaring the reserved key %s', (key) => {
    const e = refusal(() => buildContent({ html: 'x', variables: [{ key, type: 'string' }] }));
    expect(e.message).toContain('reserved');
  });

  it('refuses keys that would resolve through an object prototype', () => {
    expect(refusal(() => buildContent({ html: 'x', variables: [{ key: 'constructor', type: 'string' }] })).message).toContain('reserved');
    expect(refusal(() => buildContent({ html: 'x', variables: [{ key: '__proto__', type: 'string' }] })).message).toContain('reserved');
  });

  it('refuses keys over the length limit or with other characters', () => {
    const ok = 'K'.repeat(MAX_VARIABLE_KEY_LENGTH);
    expect(buildContent({ html: 'x', variables: [{ key: ok, type: 'string' }] }).variables).toHaveLength(1);
    for (const key of [ok + 'K', 'A-B', 'a.b', '']) {
      expect(refusal(() => buildContent({ html: 'x', variables: [{ key, type: 'string' }] })).message).toContain('Invalid variable key');
    }
  });

  it(`refuses more than ${MAX_TEMPLATE_VARIABLES} variables and duplicate keys`, () => {
    const many = Array.from({ length: MAX_TEMPLATE_VARIABLES + 1 }, (_, i) => ({ key: `V${i}`, type: 'string' }));
    expect(refusal(() => buildContent({ html: 'x', variables: many })).message).toContain(`at most ${MAX_TEMPLATE_VARIABLES}`);
    expect(buildContent({ html: 'x', variables: many.slice(1) }).variables).toHaveLength(MAX_TEMPLATE_VARIABLES);
    expect(refusal(() => buildContent({ html: 'x', variables: [{ key: 'A', type: 'string' }, { key: 'A', type: 'number' }] })).message).toContain('twice');
  });

  it('refuses types other than string and number, and fallbacks of the wrong type or too long', () => {
    expect(refusal(() => buildContent({ html: 'x', variables: [{ key: 'A', type: 'boolean' }] })).message).toContain('`string` or `number`');
    expect(refusal(() => buildContent({ html: 'x', variables: [{ key: 'A', type: 'number', fallback_value: '3' }] })).message).toContain('must be a number');
    expect(refusal(() => buildContent({ html: 'x', variables: [{ key: 'A', type: 'string', fallback_value: 3 }] })).message).toContain('must be a string');
    const long = 'x'.repeat(MAX_STRING_VARIABLE_LENGTH + 1);
    expect(refusal(() => buildContent({ html: 'x', variables: [{ key: 'A', type: 'string', fallback_value: long }] })).message).toContain(`${MAX_STRING_VARIABLE_LENGTH} characters`);
  });

  it.each(['{{#A}}x{{/A}}', '{{^A}}x{{/A}}', '{{> partial}}', '{{=<% %>=}}', '{{{A}'])('refuses anything but variable tags: %s', (html) => {
    const e = refusal(() => buildContent({ html, variables: [{ key: 'A', type: 'string' }] }));
    expect(e).toMatchObject({ statusCode: 422 });
    expect(e.message).toContain('`html`');
  });

  it('refuses html over the body limit and addresses that are not addresses', () => {
    expect(refusal(() => buildContent({ html: 'x'.repeat(MAX_TEMPLATE_HTML_BYTES + 1) })).message).toContain(`${MAX_TEMPLATE_HTML_BYTES} bytes`);
    expect(refusal(() => buildContent({ html: 'x', from: 'not an address' })).message).toContain('`from`');
    expect(refusal(() => buildContent({ html: 'x', reply_to: ['ok@acme.com', 'nope'] })).message).toContain('`reply_to`');
  });

  it('requires a name and html at create', () => {
    expect(refusal(() => parseCreateTemplate({ html: 'x' }))).toMatchObject({ errorName: 'missing_required_field', message: 'Missing `name` field.' });
    expect(refusal(() => parseCreateTemplate({ name: 'x' }))).toMatchObject({ errorName: 'missing_required_field', message: 'Missing `html` field.' });
  });

  it('takes slug aliases and refuses one shaped like an id', () => {
    expect(checkAlias('order-confirmation.v2')).toBe('order-confirmation.v2');
    for (const alias of ['a b', '-x', '0b7f1f3e-2f7a-4d53-9a52-3f1b2a1c9d10', 'x'.repeat(129)]) expect(() => checkAlias(alias)).toThrow(HttpError);
  });
});

describe('renderTemplate (a send)', () => {
  it('substitutes triple braces as they are, and uses fallbacks', () => {
    const out = renderTemplate(content(), { PRICE: 25, ORDER: '<A&1>' });
    expect(out).toEqual({ subject: 'Order <A&1>', html: '<p>Hi there, total 25</p>', text: 'Hi there' });
  });

  it('HTML-escapes double braces in html only', () => {
    const c = content({ html: '<p>{{NAME}}</p>', text: '{{NAME}}', subject: '{{NAME}}' });
    expect(renderTemplate(c, { NAME: '<b>&', PRICE: 1, ORDER: 'x' })).toEqual({ html: '<p>&lt;b&gt;&amp;</p>', text: '<b>&', subject: '<b>&' });
  });

  it('refuses a missing variable without fallback, naming it', () => {
    const e = refusal(() => renderTemplate(content(), { PRICE: 1 }));
    expect(e).toMatchObject({ statusCode: 422, errorName: 'validation_error' });
    expect(e.message).toContain('`ORDER`');
  });

  it('refuses a value of the wrong type, naming the type', () => {
    expect(refusal(() => renderTemplate(content(), { PRICE: '25', ORDER: 'x' })).message).toBe('The value of template variable `PRICE` must be a number.');
    expect(refusal(() => renderTemplate(content(), { PRICE: 1, ORDER: 7 })).message).toBe('The value of template variable `ORDER` must be a string.');
    expect(refusal(() => renderTemplate(content(), { PRICE: 1, ORDER: 'x', OTHER: true })).message).toContain('a string or a number');
  });

  it('refuses reserved keys, keys and values over the limits, and too many variables', () => {
    expect(refusal(() => renderTemplate(content(), { PRICE: 1, ORDER: 'x', FIRST_NAME: 'Jo' })).message).toContain('reserved');
    expect(refusal(() => renderTemplate(content(), { PRICE: 1, ORDER: 'x'.repeat(MAX_STRING_VARIABLE_LENGTH + 1) })).message).toContain(`${MAX_STRING_VARIABLE_LENGTH} characters`);
    expect(refusal(() => renderTemplate(content(), { PRICE: 1, ORDER: 'x', ['K'.repeat(MAX_VARIABLE_KEY_LENGTH + 1)]: 'v' })).message).toContain('Invalid variable key');
    const many = Object.fromEntries(Array.from({ length: MAX_TEMPLATE_VARIABLES + 1 }, (_, i) => [`V${i}`, 'v']));
    expect(refusal(() => renderTemplate(content(), { ...many, PRICE: 1, ORDER: 'x' })).message).toContain(`at most ${MAX_TEMPLATE_VARIABLES}`);
    expect(refusal(() => renderTemplate(content(), ['x'])).message).toContain('`template.variables`');
  });

  it('accepts a string value at the limit and ignores keys the template does not declare', () => {
    const at = 'x'.repeat(MAX_STRING_VARIABLE_LENGTH);
    expect(renderTemplate(content(), { PRICE: 1, ORDER: at, EXTRA: 'ignored' }).subject).toBe(`Order ${at}`);
  });

  it('refuses an email that would render larger than the body limit', () => {
    const big = content({ html: '{{{ORDER}}}'.repeat(2_200), text: undefined, subject: undefined });
    expect(refusal(() => renderTemplate(big, { PRICE: 1, ORDER: 'x'.repeat(MAX_STRING_VARIABLE_LENGTH) })).message).toContain('rendered email');
  });

  it('inserts any value exactly once and never renders it again (property)', () => {
    const c = content({ html: '<p>{{{ORDER}}}</p>', subject: undefined, text: undefined });
    fc.assert(fc.property(fc.string({ maxLength: MAX_STRING_VARIABLE_LENGTH }), (value) => {
      expect(renderTemplate(c, { PRICE: 0, ORDER: value }).html).toBe(`<p>${value}</p>`);
    }), { numRuns: 300 });
    expect(renderTemplate(c, { PRICE: 0, ORDER: '{{{NAME}}} {{#x}}' }).html).toBe('<p>{{{NAME}}} {{#x}}</p>');
  });
});
