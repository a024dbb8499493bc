/**
 * The admin commands. Each prints one JSON object on stdout and exits 0, or prints an error on
 * stderr and exits non-zero (2 for a usage error). One exception, by design: `doctor` prints a
 * table for a person by default, its JSON object with `--json`, and exits 1 when a check fails
 * (it returns a CommandOutput).
 */
import type { TenantStore } from '../core/adapters/tenants';
import type { Permission } from '../core/http/auth';
import { isValidDomain } from '../core/domain/email';
import { attributed } from '../core/aws-calls';
import { type ReputationSetting, isReputationSetting, REPUTATION_SETTINGS } from '../core/domain/ses-tenants';
import { type TenantAdminDeps, createTenant, listTenants, migrateTenants, showTenant } from './tenants';

export interface AdminDeps {
  /** Built lazily, so that `sesame help` needs no configuration. */
  tenants(): TenantStore;
  /** The tenant commands' adapters (the table and SES), built lazily too. */
  tenantAdmin(): TenantAdminDeps;
  /** Extra commands that later parts of the system register (e.g. `dlq redrive`). */
  readonly extra?: Readonly<Record<string, (args: ParsedArgs, deps: AdminDeps) => Promise<unknown>>>;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Record<string, string>;
}

export class UsageError extends Error {}

/** What a command returns to print something else than its result as JSON, or to exit non-zero without an error. */
export class CommandOutput {
  constructor(
    readonly stdout: string,
    readonly code: number,
  ) {}
}

/** Flags that take no value (`--json`); they read as "true". */
const SWITCHES = new Set(['json']);

export const USAGE = `usage: sesame <command>
  tenants create <name> [--reputation standard|strict|none]
                                                     -> {"tenant_id", "api_key", "api_key_id", "ses_tenant"}; again: completes a half-made one
  tenants show <tenant_id>                           -> the tenant, its SES tenant's sending status and reputation findings
  tenants list                                       -> {"data": [{"tenant_id", "name", "ses_tenant", "sending_status"}]}
  tenants migrate [--reputation standard|strict|none] -> every tenant gets its SES tenant (policy kept unless given); imports what SES's lists hold
  keys create --tenant <tenant_id> [--name <name>] [--permission full_access|sending_access] [--domain <domain>]
                                                     -> {"api_key", "id", ...}
  keys list --tenant <tenant_id>                     -> {"data": [...]}
  keys revoke <key id>                               -> {"id", "revoked": true}
  dlq redrive                                        -> counts of messages moved back
  doctor [--json]                                    -> ok|warn|fail per check, exit 1 on any fail; --json: {"checks": [...]}`;

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) flags[arg.slice(2, eq)] = arg.slice(eq + 1);
      else if (SWITCHES.has(arg.slice(2))) flags[arg.slice(2)] = 'true';
      else {
        const value = argv[i + 1];
        if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
        flags[arg.slice(2)] = value;
        i++;
      }
    } else positional.push(arg);
  }
  return { positional, flags };
}

const need = (value: string | undefined, what: string): string => {
  if (value === undefined || value.trim() === '') throw new UsageError(`missing ${what}`);
  return value.trim();
};

/** `--reputation`: the SES-managed reputation policy of a tenant (default standard). */
function reputationOf(args: ParsedArgs): ReputationSetting {
  const value = args.flags.reputation ?? 'standard';
  if (!isReputationSetting(value)) throw new UsageError(`--reputation must be one of ${REPUTATION_SETTINGS.join(', ')}`);
  return value;
}

async function dispatch(args: ParsedArgs, deps: AdminDeps): Promise<unknown> {
  const [group, action, ...rest] = args.positional;
  const command = `${group ?? ''} ${action ?? ''}`.trim();
  switch (command) {
    case 'tenants create': {
      const name = need(rest[0] ?? args.flags.name, '<name>');
      return createTenant(deps.tenantAdmin(), name, reputationOf(args));
    }
    case 'tenants show':
      return showTenant(deps.tenantAdmin(), need(rest[0] ?? args.flags.tenant, '<tenant_id>'));
    case 'tenants list':
      return listTenants(deps.tenantAdmin());
    case 'tenants migrate':
      return migrateTenants(deps.tenantAdmin(), args.flags.reputation === undefined ? undefined : reputationOf(args));
    case 'keys create': {
      const tenantId = need(args.flags.tenant, '--tenant <tenant_id>');
      const permission = (args.flags.permission ?? 'full_access') as Permission;
      if (permission !== 'full_access' && permission !== 'sending_access') throw new UsageError('--permission must be full_access or sending_access');
      const domain = args.flags.domain?.toLowerCase();
      if (domain !== undefined && !isValidDomain(domain)) throw new UsageError('--domain must be a domain name');
      if (domain !== undefined && permission !== 'sending_access') throw new UsageError('--domain needs --permission sending_access');
      const key = await deps.tenants().createKey(tenantId, { name: args.flags.name ?? 'default', permission, ...(domain ? { domain } : {}) });
      return { api_key: key.token, id: key.id, tenant_id: key.tenantId, name: key.name, permission: key.permission, ...(key.domain ? { domain: key.domain } : {}), created_at: key.createdAt };
    }
    case 'keys list': {
      const tenantId = need(args.flags.tenant, '--tenant <tenant_id>');
      const list = await deps.tenants().listKeys(tenantId);
      return { data: list.map((k) => ({ id: k.id, name: k.name, permission: k.permission, ...(k.domain ? { domain: k.domain } : {}), created_at: k.createdAt })) };
    }
    case 'keys revoke': {
      const keyId = need(rest[0] ?? args.flags.id, '<key id>');
      if (!(await deps.tenants().revokeKey(keyId))) throw new Error(`No API key with id ${keyId}`);
      return { id: keyId, revoked: true };
    }
    default: {
      const extra = deps.extra?.[command];
      if (extra) return extra(args, deps);
      throw new UsageError(command ? `unknown command: ${command}` : 'no command given');
    }
  }
}

export async function runCli(argv: readonly string[], deps: AdminDeps): Promise<CliResult> {
  if (argv.length === 0 || argv[0] === 'help' || argv.includes('--help')) return { code: argv.length === 0 ? 2 : 0, stdout: '', stderr: USAGE };
  try {
    // The admin tool's AWS calls are the operator's (the stack's operator policy covers them).
    const result = await attributed('admin', dispatch)(parseArgs(argv), deps);
    if (result instanceof CommandOutput) return { code: result.code, stdout: result.stdout, stderr: '' };
    return { code: 0, stdout: JSON.stringify(result), stderr: '' };
  } catch (error) {
    if (error instanceof UsageError) return { code: 2, stdout: '', stderr: `sesame: ${error.message}\n${USAGE}` };
    const message = error instanceof Error ? error.message : String(error);
    return { code: 1, stdout: '', stderr: `sesame: ${message}` };
  }
}
