/**
 * The /templates routes, in Resend's wire format (what the `resend` SDK's templates module sends
 * and reads). A template is named by its id or its alias; another tenant's template is a 404.
 * GET shows the newest version (the draft being edited, `current_version_id`); sends use the
 * published one.
 */
import type { ApiResponse, RouteContext, Routes } from '../core/http/api';
import { HttpError, conflict, notFound } from '../core/errors';
import { parseJsonBody } from '../core/domain/email';
import { derivedId } from '../core/domain/ids';
import {
  MAX_TEMPLATE_NAME_LENGTH,
  type UpdateTemplateRequest,
  buildContent,
  checkAlias,
  checkName,
  parseCreateTemplate,
  parseUpdateTemplate,
} from '../core/domain/template';
import {
  AliasTakenError,
  InvalidTemplateCursorError,
  type StoredVersion,
  TemplateConflictError,
  type TemplateHead,
  type TemplateStore,
  TemplateTooLargeError,
} from '../core/adapters/templates';

export interface TemplateRouteDeps {
  readonly templates: TemplateStore;
}

/** Attempts of a change that lost a race with another change to the same template. */
const CHANGE_ATTEMPTS = 3;

const CONTENT_FIELDS = ['html', 'subject', 'text', 'from', 'reply_to', 'variables'] as const;

function templateBody(head: TemplateHead, version: StoredVersion) {
  const c = version.content;
  return {
    object: 'template',
    id: head.id,
    current_version_id: head.draftVersion,
    name: head.name,
    alias: head.alias ?? null,
    from: c.from ?? null,
    subject: c.subject ?? null,
    reply_to: c.replyTo.length > 0 ? [...c.replyTo] : null,
    html: c.html,
    text: c.text ?? null,
    variables: c.variables.map((v) => ({
      id: derivedId('template-variable', head.id, v.key),
      key: v.key,
      type: v.type,
      fallback_value: v.fallback ?? null,
      created_at: version.createdAt,
      updated_at: version.createdAt,
    })),
    created_at: head.createdAt,
    updated_at: head.updatedAt,
    status: head.publishedVersion !== undefined ? 'published' : 'draft',
    published_at: head.publishedAt ?? null,
    has_unpublished_versions: head.publishedVersion !== undefined && head.publishedVersion !== head.draftVersion,
  };
}

const listItem = (h: TemplateHead) => ({
  id: h.id, name: h.name, alias: h.alias ?? null, status: h.publishedVersion !== undefined ? 'published' : 'draft',
  published_at: h.publishedAt ?? null, created_at: h.createdAt, updated_at: h.updatedAt,
});

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 100) throw new HttpError(422, 'validation_error', 'The `limit` parameter must be an integer between 1 and 100.');
  return n;
}

/** Store errors that are the client's to fix, as Resend-format refusals. */
function refusal(error: unknown): unknown {
  if (error instanceof AliasTakenError) return conflict('validation_error', error.message);
  if (error instanceof TemplateTooLargeError) return new HttpError(422, 'validation_error', error.message);
  if (error instanceof TemplateConflictError) return conflict('validation_error', 'The template was changed by another request at the same time. Retry.');
  return error;
}

export function templateRoutes(deps: TemplateRouteDeps): Routes {
  /** The caller's template named by the path (id or alias), or 404. */
  const own = async (ctx: RouteContext): Promise<TemplateHead> => {
    const head = await deps.templates.find(ctx.auth.tenantId, ctx.request.params.id ?? '');
    if (!head) throw notFound('Template');
    return head;
  };

  const draftOf = async (head: TemplateHead): Promise<StoredVersion> => {
    const version = await deps.templates.version(head.id, head.draftVersion);
    if (!version) throw new TemplateConflictError('The draft was replaced');
    return version;
  };

  /** Runs a read-then-change against the current template, again if another change came first. */
  const change = async (ctx: RouteContext, apply: (head: TemplateHead) => Promise<TemplateHead>): Promise<TemplateHead> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await apply(await own(ctx));
      } catch (error) {
        if (!(error instanceof TemplateConflictError) || attempt >= CHANGE_ATTEMPTS) throw refusal(error);
      }
    }
  };

  const route = (handle: (ctx: RouteContext) => Promise<ApiResponse>) => ({ permission: 'full_access' as const, handle });
  const done = (statusCode: number, id: string): ApiResponse => ({ statusCode, body: { object: 'template', id } });

  return {
    'POST /templates': route(async (ctx) => {
      const req = parseCreateTemplate(parseJsonBody(ctx.request.body));
      const name = checkName(req.name);
      const alias = req.alias != null ? checkAlias(req.alias) : undefined;
      const content = buildContent(req);
      try {
        const head = await deps.templates.create(ctx.auth.tenantId, { name, ...(alias !== undefined ? { alias } : {}), content });
        ctx.log.info('template created', { templateId: head.id });
        return done(201, head.id);
      } catch (error) {
        throw refusal(error);
      }
    }),

    'GET /templates': route(async (ctx) => {
      const { after, before } = ctx.request.query;
      const limit = parseLimit(ctx.request.query.limit);
      if (after !== undefined && before !== undefined) throw new HttpError(422, 'validation_error', 'Use either `after` or `before`, not both.');
      try {
        const page = await deps.templates.list(ctx.auth.tenantId, { limit, ...(after !== undefined ? { after } : {}), ...(before !== undefined ? { before } : {}) });
        return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map(listItem) } };
      } catch (error) {
        if (error instanceof InvalidTemplateCursorError) throw new HttpError(422, 'validation_error', error.message);
        throw error;
      }
    }),

    'GET /templates/{id}': route(async (ctx) => {
      for (let attempt = 1; ; attempt++) {
        const head = await own(ctx);
        const version = await deps.templates.version(head.id, head.draftVersion);
        if (version) return { statusCode: 200, body: templateBody(head, version) };
        if (attempt >= CHANGE_ATTEMPTS) throw refusal(new TemplateConflictError());
      }
    }),

    'PATCH /templates/{id}': route(async (ctx) => {
      const req: UpdateTemplateRequest = parseUpdateTemplate(parseJsonBody(ctx.request.body));
      const name = req.name !== undefined ? checkName(req.name) : undefined;
      const alias = req.alias === undefined ? undefined : req.alias === null ? null : checkAlias(req.alias);
      const edits = CONTENT_FIELDS.some((f) => req[f] !== undefined);
      const head = await change(ctx, async (current) => {
        const content = edits ? buildContent(req, (await draftOf(current)).content) : undefined;
        return deps.templates.update(current, {
          ...(name !== undefined ? { name } : {}), ...(alias !== undefined ? { alias } : {}), ...(content ? { content } : {}),
        });
      });
      ctx.log.info('template updated', { templateId: head.id });
      return done(200, head.id);
    }),

    'DELETE /templates/{id}': route(async (ctx) => {
      const head = await own(ctx);
      if (!(await deps.templates.remove(head))) throw notFound('Template');
      ctx.log.info('template deleted', { templateId: head.id });
      return { statusCode: 200, body: { object: 'template', id: head.id, deleted: true } };
    }),

    'POST /templates/{id}/publish': route(async (ctx) => {
      const head = await change(ctx, (current) => deps.templates.publish(current));
      ctx.log.info('template published', { templateId: head.id, versionId: head.draftVersion });
      return done(200, head.id);
    }),

    'POST /templates/{id}/duplicate': route(async (ctx) => {
      const source = await own(ctx);
      let version: StoredVersion;
      try {
        version = await draftOf(source);
      } catch (error) {
        throw refusal(error);
      }
      // The copy is a new draft with the source's newest content; an alias is unique, so it has none.
      const name = `${source.name} (copy)`.slice(0, MAX_TEMPLATE_NAME_LENGTH);
      const head = await deps.templates.create(ctx.auth.tenantId, { name, content: version.content });
      ctx.log.info('template duplicated', { templateId: head.id, sourceId: source.id });
      return done(200, head.id);
    }),
  };
}
