/**
 * Validates Sesame's answers against Resend's own schemas: the domain and received-email schemas of
 * Resend's OpenAPI document, copied unchanged into test/fixtures/resend-openapi-domain-schemas.json
 * and test/fixtures/resend-openapi-receiving-schemas.json, compiled by Ajv (JSON Schema 2020-12, the
 * dialect of OpenAPI 3.1) with formats checked. The received-email schemas still use OpenAPI 3.0's
 * `nullable: true` in places: it is read as the 2020-12 `type: [<type>, "null"]` it means.
 *
 * Two corrections are applied here, each where Resend's document disagrees with Resend's own answers
 * and its SDK's types (the `resend` package):
 * - `tracking_subdomain` is declared a string, but Resend answers `null` when no tracking
 *   subdomain is set (the SDK types it optional).
 * - `DeleteDomainResponse.deleted` is declared a string (its description is pasted from an
 *   attachment field); Resend answers `true` and the SDK types it `boolean`.
 * - a received email's attachments (in the email and in `email.received`) declare `content_id` a
 *   string; the SDK types it `string | null` (null for attachments that are not inline).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema> };

const load = (file: string) => (JSON.parse(readFileSync(join(__dirname, '../fixtures', file), 'utf8')) as { schemas: Record<string, Schema> }).schemas;
const fixture = { schemas: { ...load('resend-openapi-domain-schemas.json'), ...load('resend-openapi-receiving-schemas.json') } };

/** OpenAPI 3.0's `nullable: true` as JSON Schema 2020-12 says it. */
function withoutNullable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNullable);
  if (value === null || typeof value !== 'object') return value;
  const { nullable, ...rest } = value as Record<string, unknown>;
  const out = Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, withoutNullable(v)]));
  if (nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (nullable === true && Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  return out;
}

function corrected(schemas: Record<string, Schema>): Record<string, Schema> {
  const copy = withoutNullable(schemas) as Record<string, Schema>;
  const nullableContentId = (items: Schema) => (items.properties!.content_id = { type: ['string', 'null'] });
  nullableContentId(copy.WebhookEventAttachment!);
  nullableContentId((copy.GetReceivedEmailResponse!.properties!.attachments as Schema & { items: Schema }).items);
  nullableContentId(((copy.ListReceivedEmailsResponse!.properties!.data as Schema & { items: Schema }).items.properties!.attachments as Schema & { items: Schema }).items);
  for (const name of ['Domain', 'CreateDomainResponse']) copy[name]!.properties!.tracking_subdomain = { type: ['string', 'null'] };
  copy.DeleteDomainResponse!.properties!.deleted = { type: 'boolean' };
  return copy;
}

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);
ajv.addKeyword('example');
ajv.addKeyword('components'); // the document's container of schemas, reached through $ref only
ajv.addSchema({ $id: 'resend', components: { schemas: corrected(fixture.schemas) } } as never);

const validators = new Map<string, ValidateFunction>();

export type ResendSchemaName =
  | 'Domain' | 'CreateDomainResponse' | 'ListDomainsResponse' | 'VerifyDomainResponse' | 'UpdateDomainResponseSuccess'
  | 'DeleteDomainResponse' | 'DomainCreatedEvent' | 'DomainUpdatedEvent' | 'DomainDeletedEvent'
  | 'ListReceivedEmailsResponse' | 'GetReceivedEmailResponse' | 'ListAttachmentsResponse' | 'RetrievedAttachment' | 'EmailReceivedEvent';

/** The schema's errors for `value` (empty when it validates), as readable lines. */
export function resendSchemaErrors(name: ResendSchemaName, value: unknown): string[] {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `resend#/components/schemas/${name}` });
    validators.set(name, validate);
  }
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
