/**
 * The /domains request bodies: Resend's wire format, parsed by schemas into what the use cases
 * need. Every refusal is a 4xx HttpError in Resend's format; nothing here does I/O.
 */
import * as z from '../core/domain/schema';
import { HttpError } from '../core/errors';
import { DEFAULT_RETURN_PATH, isDnsLabel, isDomainName, mailFromDomainOf } from '../core/domain/dns';
import { isValidDomain } from '../core/domain/email';
import type { TlsMode } from '../core/adapters/domains';

export interface CreateDomainInput {
  readonly receiving?: boolean;
  readonly name: string;
  readonly customReturnPath: string;
  readonly openTracking: boolean;
  readonly clickTracking: boolean;
  readonly tls: TlsMode;
}

export interface UpdateDomainInput {
  /** Resend's `capabilities.receiving`. */
  readonly receiving?: boolean;
  readonly openTracking?: boolean;
  readonly clickTracking?: boolean;
  readonly tls?: TlsMode;
}

const capabilities = z.object({
  sending: z.optional(z.enum(['enabled', 'disabled'])),
  receiving: z.optional(z.enum(['enabled', 'disabled'])),
});

// Fields Resend has and Sesame refuses rather than ignores, so a client never believes it got them.
const settings = {
  open_tracking: z.optional(z.boolean()),
  click_tracking: z.optional(z.boolean()),
  tls: z.optional(z.enum(['opportunistic', 'enforced'])),
  capabilities: z.optional(capabilities),
  tracking_subdomain: z.optional(z.string()),
};

const createSchema = z.object({
  name: z.string(),
  region: z.optional(z.string()),
  custom_return_path: z.optional(z.string()),
  ...settings,
});

const updateSchema = z.object(settings);

type Settings = z.infer<typeof updateSchema>;

function schemaError(error: z.core.$ZodError, input: unknown): HttpError {
  const issue = error.issues[0]!;
  const field = issue.path.map(String).join('.');
  const given = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as Record<string, unknown>) : undefined;
  if (!given) return new HttpError(422, 'validation_error', 'The request body must be a JSON object.');
  if (issue.path.length === 1 && given[field] === undefined) return new HttpError(422, 'missing_required_field', `Missing \`${field}\` field.`);
  return new HttpError(422, 'validation_error', `Invalid \`${field || 'body'}\` field: ${issue.message}`);
}

const unsupported = (message: string) => new HttpError(422, 'validation_error', message);

function checkSettings(s: Settings): void {
  if (s.capabilities?.sending === 'disabled') throw unsupported('A domain that cannot send is not supported: `capabilities.sending` must be `enabled`.');
  if (s.tracking_subdomain !== undefined) {
    throw unsupported('`tracking_subdomain` is not supported: open and click tracking use the links of the SES configuration set.');
  }
}

/** The domain name as stored: lower-case, a real name. Says what is wrong with the usual mistakes. */
export function parseDomainName(raw: string): string {
  const name = raw.trim().toLowerCase();
  const invalid = (why: string) => new HttpError(422, 'validation_error', `Invalid \`name\` field: ${why}`);
  if (name === '') throw new HttpError(422, 'missing_required_field', 'Missing `name` field.');
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(name)) throw invalid('give the domain name alone, without a scheme such as https://.');
  if (name.includes('/')) throw invalid('give the domain name alone, without a path.');
  if (name.includes(':')) throw invalid('give the domain name alone, without a port.');
  if (name.includes('@')) throw invalid('give a domain name, not an email address.');
  if (!isDomainName(name)) throw invalid(`\`${raw.slice(0, 100)}\` is not a valid domain name, such as example.com.`);
  return name;
}

/** POST /domains. `region` may only name the stack's own region. */
export function parseCreateDomain(input: unknown, region: string): CreateDomainInput {
  const parsed = createSchema.safeParse(input);
  if (!parsed.success) throw schemaError(parsed.error, input);
  const body = parsed.data;
  const name = parseDomainName(body.name);
  if (body.region !== undefined && body.region !== region) {
    throw new HttpError(422, 'validation_error', `Invalid \`region\` field: this server sends from ${region} only.`);
  }
  const customReturnPath = (body.custom_return_path ?? DEFAULT_RETURN_PATH).trim().toLowerCase();
  if (!isDnsLabel(customReturnPath)) {
    throw new HttpError(422, 'validation_error', 'Invalid `custom_return_path` field: use one DNS label (letters, digits and hyphens, up to 63 characters, such as `send`).');
  }
  if (!isValidDomain(mailFromDomainOf(name, customReturnPath))) {
    throw new HttpError(422, 'validation_error', 'Invalid `custom_return_path` field: the return path domain would be longer than a domain name may be.');
  }
  checkSettings(body);
  return {
    name, customReturnPath, openTracking: body.open_tracking ?? false, clickTracking: body.click_tracking ?? false, tls: body.tls ?? 'opportunistic',
    ...(body.capabilities?.receiving === 'enabled' ? { receiving: true } : {}),
  };
}

/** PATCH /domains/{id}. An empty body changes nothing. */
export function parseUpdateDomain(input: unknown): UpdateDomainInput {
  const parsed = updateSchema.safeParse(input);
  if (!parsed.success) throw schemaError(parsed.error, input);
  checkSettings(parsed.data);
  return {
    ...(parsed.data.open_tracking !== undefined ? { openTracking: parsed.data.open_tracking } : {}),
    ...(parsed.data.click_tracking !== undefined ? { clickTracking: parsed.data.click_tracking } : {}),
    ...(parsed.data.tls !== undefined ? { tls: parsed.data.tls } : {}),
    ...(parsed.data.capabilities?.receiving !== undefined ? { receiving: parsed.data.capabilities.receiving === 'enabled' } : {}),
  };
}
