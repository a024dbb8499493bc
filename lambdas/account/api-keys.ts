/**
 * /api-keys: keys of the caller's tenant, in Resend's wire format. The token is shown once, at
 * creation; only its SHA-256 is stored. Every route authenticates without the key cache, so a key
 * revoked a moment ago cannot list, revoke or mint keys.
 */
import * as z from '../core/domain/schema';
import type { Routes } from '../core/http/api';
import { HttpError, notFound } from '../core/errors';
import { isValidDomain, parseJsonBody } from '../core/domain/email';
import { isId } from '../core/domain/ids';
import type { TenantStore } from '../core/adapters/tenants';
import type { DomainStore } from '../core/adapters/domains';

export interface ApiKeyDeps {
  readonly tenants: TenantStore;
  /** To resolve `domain_id` (a sending key limited to one of the tenant's domains). */
  readonly domains: Pick<DomainStore, 'getById'>;
}

const createSchema = z.object({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(50)),
  permission: z.optional(z.enum(['full_access', 'sending_access'])),
  domain_id: z.optional(z.string()),
});

const updateSchema = z.object({ name: createSchema.shape.name });

export function apiKeyRoutes(deps: ApiKeyDeps): Routes {
  return {
    'POST /api-keys': {
      permission: 'full_access',
      uncachedAuth: true,
      async handle(ctx) {
        const parsed = createSchema.safeParse(parseJsonBody(ctx.request.body));
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const field = issue.path.join('.') || 'body';
          throw new HttpError(422, field === 'name' && issue.code === 'invalid_type' ? 'missing_required_field' : 'validation_error', `Invalid \`${field}\` field: ${issue.message}`);
        }
        const { name, permission = 'full_access', domain_id } = parsed.data;
        let domain: string | undefined;
        if (domain_id !== undefined) {
          if (permission !== 'sending_access') throw new HttpError(422, 'validation_error', '`domain_id` can only be used with `sending_access`.');
          const found = isId(domain_id) ? await deps.domains.getById(domain_id) : undefined;
          if (!found || found.tenantId !== ctx.auth.tenantId || !isValidDomain(found.name)) throw notFound('Domain');
          domain = found.name;
        }
        const key = await deps.tenants.createKey(ctx.auth.tenantId, { name, permission, ...(domain ? { domain } : {}) });
        ctx.log.info('api key created', { keyId: key.id });
        return { statusCode: 201, body: { id: key.id, token: key.token } };
      },
    },

    'GET /api-keys': {
      permission: 'full_access',
      uncachedAuth: true,
      async handle(ctx) {
        const keys = await deps.tenants.listKeys(ctx.auth.tenantId);
        return {
          statusCode: 200,
          body: { object: 'list', has_more: false, data: keys.map((k) => ({ id: k.id, name: k.name, permission: k.permission, created_at: k.createdAt })) },
        };
      },
    },

    'PATCH /api-keys/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        const parsed = updateSchema.safeParse(parseJsonBody(ctx.request.body));
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          const field = issue.path.join('.') || 'body';
          throw new HttpError(422, field === 'name' && issue.code === 'invalid_type' ? 'missing_required_field' : 'validation_error', `Invalid \`${field}\` field: ${issue.message}`);
        }
        if (!isId(id) || !(await deps.tenants.renameKey(id, ctx.auth.tenantId, parsed.data.name))) throw notFound('API key');
        ctx.log.info('api key renamed', { keyId: id });
        return { statusCode: 200, body: { object: 'api_key', id } };
      },
    },

    'DELETE /api-keys/{id}': {
      permission: 'full_access',
      uncachedAuth: true,
      async handle(ctx) {
        const id = ctx.request.params.id ?? '';
        if (!isId(id) || !(await deps.tenants.revokeKey(id, ctx.auth.tenantId))) throw notFound('API key');
        ctx.log.info('api key revoked', { keyId: id });
        return { statusCode: 200, body: { object: 'api_key', id, deleted: true } };
      },
    },
  };
}
