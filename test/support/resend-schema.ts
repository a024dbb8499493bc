/**
 * Validates Sesame's answers against Resend's own schemas: the domain schemas of Resend's OpenAPI
 * document, copied unchanged into test/fixtures/resend-openapi-domain-schemas.json, compiled by Ajv
 * (JSON Schema 2020-12, the dialect of OpenAPI 3.1) with formats checked.
 *
 * Two corrections are applied here, each where Resend's document disagrees with Resend's own answers
 * and its SDK's types (the `resend` package):
 * - `tracking_subdomain` is declared a string, but Resend answers `null` when no tracking
 *   subdomain is set (the SDK types it optional).
 * - `DeleteDomainResponse.deleted` is declared a string (its description is pasted from an
 *   attachment field); Resend answers `true` and the SDK types it `boolean`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Schema = Record<string, unknown> & { properties?: Record<string, Schema> };

const fixture = JSON.parse(readFileSync(join(__dirname, '../fixtures/resend-openapi-domain-schemas.json'), 'utf8')) as { schemas: Record<string, Schema> };

function corrected(schemas: Record<string, Schema>): Record<string, Schema> {
  const copy = JSON.parse(JSON.stringify(schemas)) as Record<string, Schema>;
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
  | 'DeleteDomainResponse' | 'DomainCreatedEvent' | 'DomainUpdatedEvent' | 'DomainDeletedEvent';

/** The schema's errors for `value` (empty when it validates), as readable lines. */
export function resendSchemaErrors(name: ResendSchemaName, value: unknown): string[] {
  let validate = validators.get(name);
  if (!validate) {
    validate = ajv.compile({ $ref: `resend#/components/schemas/${name}` });
    validators.set(name, validate);
  }
  return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
