/**
 * Templates: Resend's request shapes, its variable rules, and rendering with `mustache`.
 * Pure code: no AWS imports. Every refusal is an HttpError (422) in Resend's format.
 *
 * Only variable tags are allowed in a template: `{{{NAME}}}` (Resend's syntax, inserted as is) and
 * `{{NAME}}` (mustache's escaped form: HTML-escaped in `html`, as is in `subject` and `text`).
 * Sections, partials and delimiter changes are refused, as Resend's templates have none. Every
 * variable a template uses must be declared, so a send can name what is missing.
 */
import Mustache from 'mustache';
import * as z from './schema';
import { HttpError } from '../errors';
import { MAX_BODY_BYTES } from '../http/api';
import { MAX_RECIPIENTS, parseMailbox } from './email';

/** Variables a template may declare (Resend's limit). */
export const MAX_TEMPLATE_VARIABLES = 50;
/** Characters in a variable key (Resend's limit); keys are ASCII letters, digits and underscores. */
export const MAX_VARIABLE_KEY_LENGTH = 50;
/** Characters in a string variable's value or fallback (Resend's limit). */
export const MAX_STRING_VARIABLE_LENGTH = 2_000;
/** Keys Resend reserves for contact data and its own use; they cannot be declared or sent. */
export const RESERVED_VARIABLE_KEYS: readonly string[] = ['FIRST_NAME', 'LAST_NAME', 'EMAIL', 'UNSUBSCRIBE_URL', 'contact', 'this'];
/** Characters in a template's name. */
export const MAX_TEMPLATE_NAME_LENGTH = 255;
/** Characters in an alias; an alias is letters, digits, `-`, `_` and `.`, and is never shaped like an id. */
export const MAX_ALIAS_LENGTH = 128;
/** Bytes of a template's html, and of an email rendered from a template: the request body limit. */
export const MAX_TEMPLATE_HTML_BYTES = MAX_BODY_BYTES;
/** Characters of a subject (one header line, as for a send). */
export const MAX_SUBJECT_LENGTH = 998;

export type VariableType = 'string' | 'number';
export type VariableValue = string | number;

export interface TemplateVariable {
  readonly key: string;
  readonly type: VariableType;
  /** Absent: the variable must be given at each send. */
  readonly fallback?: VariableValue;
}

/** One version of a template: what a send renders. */
export interface TemplateContent {
  readonly subject?: string;
  readonly html: string;
  readonly text?: string;
  readonly from?: string;
  readonly replyTo: readonly string[];
  readonly variables: readonly TemplateVariable[];
}

export interface TemplateMeta {
  readonly name: string;
  readonly alias?: string;
}

/** What a send takes from a template: the rendered parts and the template's defaults. */
export interface RenderedTemplate {
  readonly subject?: string;
  readonly html: string;
  readonly text?: string;
}

const KEY = /^[A-Za-z0-9_]+$/;
const ALIAS = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const nullable = <T extends z.ZodMiniType>(t: T) => z.optional(z.nullable(t));
const oneOrMany = z.union([z.string(), z.array(z.string())]);
const variableSchema = z.object({
  key: z.string(),
  type: z.string(),
  fallback_value: nullable(z.union([z.string(), z.number()])),
});

const fields = {
  alias: nullable(z.string()),
  from: nullable(z.string()),
  subject: nullable(z.string().check(z.maxLength(MAX_SUBJECT_LENGTH), z.singleLine())),
  reply_to: nullable(oneOrMany),
  text: nullable(z.string()),
  variables: nullable(z.array(variableSchema)),
};

const createSchema = z.object({ name: z.string(), html: z.string(), ...fields });
const updateSchema = z.object({ name: z.optional(z.string()), html: z.optional(z.string()), ...fields });

export type CreateTemplateRequest = z.infer<typeof createSchema>;
export type UpdateTemplateRequest = z.infer<typeof updateSchema>;

const invalid = (message: string) => new HttpError(422, 'validation_error', message);

function parseObject<T>(schema: z.ZodMiniType<T>, input: unknown): T {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('The request body must be a JSON object.');
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = issue.path.map(String).join('.');
  if (issue.path.length === 1 && (input as Record<string, unknown>)[name] === undefined) {
    throw new HttpError(422, 'missing_required_field', `Missing \`${name}\` field.`);
  }
  throw invalid(`Invalid \`${name || 'body'}\` field: ${issue.message}`);
}

export const parseCreateTemplate = (input: unknown): CreateTemplateRequest => parseObject(createSchema, input);

export function parseUpdateTemplate(input: unknown): UpdateTemplateRequest {
  const req = parseObject(updateSchema, input);
  if (Object.values(req).every((v) => v === undefined)) {
    throw new HttpError(422, 'missing_required_field', 'Provide at least one field to update.');
  }
  return req;
}

/** A key's problem, or undefined when it may be used. */
function keyProblem(key: string): string | undefined {
  if (key.length === 0 || key.length > MAX_VARIABLE_KEY_LENGTH || !KEY.test(key)) {
    return `Invalid variable key \`${key.slice(0, 64)}\`: keys are 1 to ${MAX_VARIABLE_KEY_LENGTH} ASCII letters, digits or underscores.`;
  }
  // Object.prototype's names too: a view object must never resolve a key through its prototype.
  if (RESERVED_VARIABLE_KEYS.includes(key) || key in Object.prototype) {
    return `The variable key \`${key}\` is reserved and cannot be used (reserved: ${RESERVED_VARIABLE_KEYS.join(', ')}).`;
  }
  return undefined;
}

/** A value's problem for a variable of `type`, or undefined. */
function valueProblem(key: string, type: VariableType, value: unknown, what: string): string | undefined {
  if (type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) return `The ${what} of template variable \`${key}\` must be a number.`;
    return undefined;
  }
  if (typeof value !== 'string') return `The ${what} of template variable \`${key}\` must be a string.`;
  if (value.length > MAX_STRING_VARIABLE_LENGTH) {
    return `The ${what} of template variable \`${key}\` is longer than ${MAX_STRING_VARIABLE_LENGTH} characters.`;
  }
  return undefined;
}

function checkVariables(input: readonly z.infer<typeof variableSchema>[]): TemplateVariable[] {
  if (input.length > MAX_TEMPLATE_VARIABLES) throw invalid(`Too many variables: a template declares at most ${MAX_TEMPLATE_VARIABLES}.`);
  const seen = new Set<string>();
  return input.map((v) => {
    const problem = keyProblem(v.key);
    if (problem) throw invalid(problem);
    if (seen.has(v.key)) throw invalid(`The variable key \`${v.key}\` is declared twice.`);
    seen.add(v.key);
    if (v.type !== 'string' && v.type !== 'number') {
      throw invalid(`Invalid type for variable \`${v.key}\`: use \`string\` or \`number\`.`);
    }
    const fallback = v.fallback_value ?? undefined;
    if (fallback === undefined) return { key: v.key, type: v.type };
    const bad = valueProblem(v.key, v.type, fallback, 'fallback value');
    if (bad) throw invalid(bad);
    return { key: v.key, type: v.type, fallback };
  });
}

const TAG_KINDS: Record<string, string> = { '#': 'section', '^': 'inverted section', '>': 'partial', '=': 'delimiter change' };

/** The variable names a part uses; refuses anything but variable tags and comments. */
export function variablesUsed(part: string, field: string): string[] {
  let tokens: unknown[][];
  try {
    tokens = Mustache.parse(part) as unknown[][];
  } catch (error) {
    throw invalid(`Invalid \`${field}\` field: ${(error as Error).message}.`);
  } finally {
    // Templates are parsed once per request; mustache's process-wide cache would only grow.
    Mustache.clearCache();
  }
  const names: string[] = [];
  for (const token of tokens) {
    const [kind, value] = token as [string, string];
    if (kind === 'text' || kind === '!') continue;
    if (kind === 'name' || kind === '&') {
      names.push(value);
      continue;
    }
    throw invalid(`Invalid \`${field}\` field: a ${TAG_KINDS[kind] ?? 'tag'} (\`${value.slice(0, 64)}\`) is not supported; use variables like {{{NAME}}}.`);
  }
  return names;
}

function checkMailbox(raw: string, field: string): string {
  const m = parseMailbox(raw);
  if (!m) throw invalid(`Invalid \`${field}\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`);
  return m.raw;
}

/** Whether a string can be an alias (what a lookup checks before it reads anything). */
export const isAlias = (value: string): boolean => value.length <= MAX_ALIAS_LENGTH && ALIAS.test(value) && !UUID_SHAPE.test(value);

export function checkAlias(alias: string): string {
  if (!isAlias(alias)) {
    throw invalid(`Invalid \`alias\` field: 1 to ${MAX_ALIAS_LENGTH} ASCII letters, digits, \`.\`, \`_\` or \`-\`, starting with a letter or digit, and not shaped like a template id.`);
  }
  return alias;
}

export function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_TEMPLATE_NAME_LENGTH) {
    throw invalid(`Invalid \`name\` field: 1 to ${MAX_TEMPLATE_NAME_LENGTH} characters.`);
  }
  return trimmed;
}

const list = (v: string | string[] | null | undefined): string[] => (v == null ? [] : Array.isArray(v) ? v : [v]);

/**
 * Builds a version from the request fields over `base` (the current draft for an update, nothing
 * for a create) and checks it whole: variables, addresses, size, and that every variable used is
 * declared. `null` clears an optional field.
 */
export function buildContent(req: Omit<UpdateTemplateRequest, 'name' | 'alias'>, base?: TemplateContent): TemplateContent {
  const html = req.html ?? base?.html;
  if (html === undefined) throw new HttpError(422, 'missing_required_field', 'Missing `html` field.');
  if (Buffer.byteLength(html, 'utf8') > MAX_TEMPLATE_HTML_BYTES) {
    throw invalid(`The template's \`html\` is larger than ${MAX_TEMPLATE_HTML_BYTES} bytes.`);
  }
  const pick = <K extends 'subject' | 'text' | 'from'>(k: K): string | undefined => (req[k] === null ? undefined : (req[k] ?? base?.[k]));
  const subject = pick('subject');
  const text = pick('text');
  const from = pick('from');
  const replyTo = req.reply_to === undefined ? [...(base?.replyTo ?? [])] : list(req.reply_to);
  if (replyTo.length > MAX_RECIPIENTS) throw invalid(`Too many \`reply_to\` addresses: at most ${MAX_RECIPIENTS}.`);
  const variables = req.variables === undefined ? [...(base?.variables ?? [])] : checkVariables(req.variables ?? []);
  const content: TemplateContent = {
    html,
    ...(subject !== undefined ? { subject } : {}),
    ...(text !== undefined ? { text } : {}),
    ...(from !== undefined ? { from: checkMailbox(from, 'from') } : {}),
    replyTo: replyTo.map((r) => checkMailbox(r, 'reply_to')),
    variables,
  };
  const declared = new Set(variables.map((v) => v.key));
  for (const [field, part] of parts(content)) {
    for (const name of variablesUsed(part, field)) {
      if (declared.has(name)) continue;
      const problem = keyProblem(name);
      throw invalid(problem ?? `Variable \`${name}\` is used in the template's \`${field}\` but not declared in \`variables\`.`);
    }
  }
  return content;
}

function parts(c: Pick<TemplateContent, 'subject' | 'html' | 'text'>): [string, string][] {
  return [
    ...(c.subject !== undefined ? [['subject', c.subject] as [string, string]] : []),
    ['html', c.html],
    ...(c.text !== undefined ? [['text', c.text] as [string, string]] : []),
  ];
}

/**
 * Checks a send's `template.variables` against Resend's rules and the template's declarations,
 * and resolves each declared variable to its value or its fallback. Keys that the template does
 * not declare are checked (shape, reserved, limits) and otherwise ignored, as Resend does.
 */
export function resolveVariables(content: TemplateContent, input: unknown): Map<string, VariableValue> {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw invalid('Invalid `template.variables` field: it must be an object of keys and values.');
  }
  const given = (input ?? {}) as Record<string, unknown>;
  const keys = Object.keys(given);
  if (keys.length > MAX_TEMPLATE_VARIABLES) throw invalid(`Too many template variables: at most ${MAX_TEMPLATE_VARIABLES}.`);
  for (const key of keys) {
    const problem = keyProblem(key);
    if (problem) throw invalid(problem);
    const value = given[key];
    if (typeof value !== 'string' && typeof value !== 'number') throw invalid(`The value of template variable \`${key}\` must be a string or a number.`);
    if (typeof value === 'string' && value.length > MAX_STRING_VARIABLE_LENGTH) {
      throw invalid(`The value of template variable \`${key}\` is longer than ${MAX_STRING_VARIABLE_LENGTH} characters.`);
    }
  }
  const values = new Map<string, VariableValue>();
  for (const v of content.variables) {
    const value = Object.hasOwn(given, v.key) ? given[v.key] : v.fallback;
    if (value === undefined) throw invalid(`Missing template variable \`${v.key}\`: it has no fallback value, so the send must give it.`);
    const bad = valueProblem(v.key, v.type, value, 'value');
    if (bad) throw invalid(bad);
    values.set(v.key, value as VariableValue);
  }
  return values;
}

const asIs = (value: unknown): string => String(value);

function renderPart(part: string, view: Record<string, VariableValue>, escapeHtml: boolean): string {
  try {
    return Mustache.render(part, view, undefined, escapeHtml ? {} : { escape: asIs });
  } finally {
    Mustache.clearCache();
  }
}

/**
 * Renders a version with the send's variables. `{{{NAME}}}` inserts a value as it is (callers
 * escape untrusted values, as with Resend); values are never rendered again as templates.
 */
export function renderTemplate(content: TemplateContent, variables: unknown): RenderedTemplate {
  const values = resolveVariables(content, variables);
  // A view with no prototype holds only the declared keys.
  const view = Object.assign(Object.create(null) as Record<string, VariableValue>, Object.fromEntries(values));
  const html = renderPart(content.html, view, true);
  const text = content.text !== undefined ? renderPart(content.text, view, false) : undefined;
  const subject = content.subject !== undefined ? renderPart(content.subject, view, false) : undefined;
  const bytes = Buffer.byteLength(html, 'utf8') + (text !== undefined ? Buffer.byteLength(text, 'utf8') : 0);
  if (bytes > MAX_TEMPLATE_HTML_BYTES) throw invalid(`The rendered email is larger than ${MAX_TEMPLATE_HTML_BYTES} bytes.`);
  return { html, ...(text !== undefined ? { text } : {}), ...(subject !== undefined ? { subject } : {}) };
}
