/**
 * Sending with a template: `template: { id, variables }` (id or alias) is resolved to the template's
 * published version and rendered into the request before the usual validation, so a templated email
 * is checked and sent exactly like any other. The request's `subject`, `from` and `reply_to` win over
 * the template's; `html` or `text` beside `template` is refused, as Resend does.
 */
import { HttpError } from '../core/errors';
import type { EmailDraft } from '../core/domain/email';
import { type ParseOptions, parseSendRequest } from '../core/domain/send-request';
import { renderTemplate } from '../core/domain/template';
import type { PublishedTemplate, TemplateStore } from '../core/adapters/templates';

export type TemplateSource = Pick<TemplateStore, 'published'>;

/** The templates one request has read, by the reference it used: a batch reads each once. */
export type TemplateReads = Map<string, Promise<PublishedTemplate | 'unpublished' | undefined>>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses one email of a send request, rendering its template first when it names one. */
export async function parseEmail(
  templates: TemplateSource,
  tenantId: string,
  input: unknown,
  options: ParseOptions,
  reads: TemplateReads,
): Promise<EmailDraft> {
  if (!isObject(input) || input.template === undefined) return parseSendRequest(input, options);
  const prefix = options.prefix ?? '';
  const refuse = (message: string) => new HttpError(422, 'validation_error', `${prefix}${message}`);
  const { template, ...request } = input;
  if (!isObject(template) || typeof template.id !== 'string' || template.id === '') {
    throw refuse('Invalid `template` field: it needs an `id` (the id or the alias of a published template).');
  }
  for (const field of ['html', 'text', 'react']) {
    if (request[field] !== undefined) throw refuse(`\`${field}\` cannot be used with \`template\`: the template gives the content.`);
  }
  let read = reads.get(template.id);
  if (!read) reads.set(template.id, (read = templates.published(tenantId, template.id)));
  const published = await read;
  const ref = template.id.slice(0, 128);
  if (published === undefined) throw refuse(`Template \`${ref}\` not found.`);
  if (published === 'unpublished') throw refuse(`Template \`${ref}\` is not published. Publish it before sending with it.`);

  let rendered;
  try {
    rendered = renderTemplate(published.content, template.variables);
  } catch (error) {
    if (error instanceof HttpError) throw new HttpError(error.statusCode, error.errorName, `${prefix}${error.message}`);
    throw error;
  }
  const { content } = published;
  const defaults = {
    ...(request.subject === undefined && rendered.subject !== undefined ? { subject: rendered.subject } : {}),
    ...(request.from === undefined && content.from !== undefined ? { from: content.from } : {}),
    ...(request.reply_to === undefined && request.replyTo === undefined && content.replyTo.length > 0 ? { reply_to: [...content.replyTo] } : {}),
  };
  const draft = parseSendRequest(
    { ...request, ...defaults, html: rendered.html, ...(rendered.text !== undefined ? { text: rendered.text } : {}) },
    options,
  );
  return { ...draft, template: { id: published.templateId, versionId: published.versionId } };
}
