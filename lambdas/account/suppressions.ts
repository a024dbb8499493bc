/**
 * /suppressions: the tenant's suppression list, in Resend's wire format (what the `resend` SDK's
 * `suppressions.*` sends and reads), backed by the tenant's SES suppression list: SES itself
 * refuses to send to an address on it (the email then ends `suppressed`). The table keeps what SES
 * cannot hold (the id, a manual origin, the email that caused it).
 *
 * An add claims the address in the table, puts it on SES's list in the case first claimed, then
 * lists it; a remove takes it off SES's list, then out of the table. Each step is idempotent, so a
 * retry after a failure anywhere completes the work. Another tenant's entry is a 404.
 */
import * as z from '../core/domain/schema';
import type { RouteContext, Routes } from '../core/http/api';
import { HttpError, notFound } from '../core/errors';
import { isValidAddress, parseJsonBody } from '../core/domain/email';
import { isId } from '../core/domain/ids';
import { SUPPRESSION_ORIGINS, type SuppressionOrigin, sesReasonOf, sesTenantName } from '../core/domain/ses-tenants';
import { InvalidSuppressionCursorError, type Suppression, type SuppressionStore } from '../core/adapters/suppressions';
import type { SesTenants } from '../core/adapters/ses-tenants';

export interface SuppressionRouteDeps {
  readonly suppressions: SuppressionStore;
  readonly ses: Pick<SesTenants, 'suppress' | 'unsuppress'>;
  /** Prefix of SES tenant names (see sesTenantName). */
  readonly sesTenantPrefix: string;
}

export const MAX_SUPPRESSION_BATCH = 100;

const address = z.string().check(z.trim(), z.maxLength(320), z.refine(isValidAddress, 'not an email address'));
const addSchema = z.object({ email: address });
const batchAddSchema = z.object({ emails: z.array(address).check(z.minLength(1), z.maxLength(MAX_SUPPRESSION_BATCH)) });
const batchRemoveSchema = z.object({
  emails: z.optional(z.array(z.string()).check(z.minLength(1), z.maxLength(MAX_SUPPRESSION_BATCH))),
  ids: z.optional(z.array(z.string()).check(z.minLength(1), z.maxLength(MAX_SUPPRESSION_BATCH))),
});

function parse<T>(schema: z.ZodMiniType<T>, body: string): T {
  const parsed = schema.safeParse(parseJsonBody(body));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new HttpError(422, issue.code === 'invalid_type' && issue.input === undefined ? 'missing_required_field' : 'validation_error', `Invalid \`${field}\` field: ${issue.message}`);
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 100) throw new HttpError(422, 'validation_error', 'The `limit` parameter must be an integer between 1 and 100.');
  return n;
}

const entryBody = (s: Suppression) => ({ id: s.id, email: s.email, origin: s.origin, source_id: s.sourceId ?? null, created_at: s.createdAt });

export function suppressionRoutes(deps: SuppressionRouteDeps): Routes {
  const tenantName = (ctx: RouteContext) => sesTenantName(deps.sesTenantPrefix, ctx.auth.tenantId);

  /** Adds (or completes) a manual entry; the entry already there for any case of the address otherwise. */
  const add = async (ctx: RouteContext, email: string): Promise<Suppression> => {
    const { suppression } = await deps.suppressions.claim({ tenantId: ctx.auth.tenantId, email, origin: 'manual' });
    if (suppression.complete) return suppression;
    await deps.ses.suppress(tenantName(ctx), suppression.email, sesReasonOf(suppression.origin));
    return deps.suppressions.complete(suppression);
  };

  /** Neither an id nor an address is not found, without a read (a long one would exceed DynamoDB's key size). */
  const find = async (ctx: RouteContext, idOrEmail: string): Promise<Suppression | undefined> => {
    if (isId(idOrEmail)) return deps.suppressions.byId(ctx.auth.tenantId, idOrEmail);
    const email = idOrEmail.trim();
    return email.length <= 320 && isValidAddress(email) ? deps.suppressions.byAddress(ctx.auth.tenantId, email) : undefined;
  };

  const remove = async (ctx: RouteContext, s: Suppression): Promise<void> => {
    await deps.ses.unsuppress(tenantName(ctx), s.email);
    await deps.suppressions.remove(s);
  };

  return {
    'POST /suppressions': {
      permission: 'full_access',
      async handle(ctx) {
        const { email } = parse(addSchema, ctx.request.body);
        const s = await add(ctx, email);
        ctx.log.info('suppression added', { suppressionId: s.id });
        return { statusCode: 201, body: { object: 'suppression', id: s.id } };
      },
    },

    'GET /suppressions': {
      permission: 'full_access',
      async handle(ctx) {
        const { origin, after, before } = ctx.request.query;
        const limit = parseLimit(ctx.request.query.limit);
        if (origin !== undefined && !(SUPPRESSION_ORIGINS as readonly string[]).includes(origin)) {
          throw new HttpError(422, 'validation_error', `The \`origin\` parameter must be one of ${SUPPRESSION_ORIGINS.join(', ')}.`);
        }
        if (after !== undefined && before !== undefined) throw new HttpError(422, 'validation_error', 'Use either `after` or `before`, not both.');
        const cursor = after ?? before;
        if (cursor !== undefined && !isId(cursor)) throw new HttpError(422, 'validation_error', 'The cursor must be a suppression id.');
        try {
          const page = await deps.suppressions.list(ctx.auth.tenantId, {
            limit,
            ...(origin ? { origin: origin as SuppressionOrigin } : {}),
            ...(after ? { after } : {}),
            ...(before ? { before } : {}),
          });
          return { statusCode: 200, body: { object: 'list', has_more: page.hasMore, data: page.data.map(entryBody) } };
        } catch (error) {
          if (error instanceof InvalidSuppressionCursorError) throw new HttpError(422, 'validation_error', error.message);
          throw error;
        }
      },
    },

    'GET /suppressions/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const s = await find(ctx, ctx.request.params.id ?? '');
        if (!s) throw notFound('Suppression');
        return { statusCode: 200, body: { object: 'suppression', ...entryBody(s) } };
      },
    },

    'DELETE /suppressions/{id}': {
      permission: 'full_access',
      async handle(ctx) {
        const s = await find(ctx, ctx.request.params.id ?? '');
        if (!s) throw notFound('Suppression');
        await remove(ctx, s);
        ctx.log.info('suppression removed', { suppressionId: s.id });
        return { statusCode: 200, body: { object: 'suppression', id: s.id, deleted: true } };
      },
    },

    'POST /suppressions/batch/add': {
      permission: 'full_access',
      async handle(ctx) {
        // Every address is checked before anything is written.
        const { emails } = parse(batchAddSchema, ctx.request.body);
        const data: { object: 'suppression'; id: string }[] = [];
        for (const email of emails) data.push({ object: 'suppression', id: (await add(ctx, email)).id });
        ctx.log.info('suppressions added', { count: data.length });
        return { statusCode: 201, body: { data } };
      },
    },

    'POST /suppressions/batch/remove': {
      permission: 'full_access',
      async handle(ctx) {
        const { emails, ids } = parse(batchRemoveSchema, ctx.request.body);
        if ((emails === undefined) === (ids === undefined)) {
          throw new HttpError(422, 'validation_error', 'Provide either `emails` or `ids`, not both.');
        }
        const data: { object: 'suppression'; id: string; deleted: boolean }[] = [];
        for (const key of emails ?? ids ?? []) {
          const s = await find(ctx, key);
          if (s) {
            await remove(ctx, s);
            data.push({ object: 'suppression', id: s.id, deleted: true });
          } else if (ids !== undefined) {
            data.push({ object: 'suppression', id: key, deleted: false });
          }
        }
        ctx.log.info('suppressions removed', { count: data.filter((d) => d.deleted).length });
        return { statusCode: 200, body: { data } };
      },
    },
  };
}
