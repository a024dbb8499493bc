/**
 * The local SES endpoint's tenants (a part of lambdas/local/ses-server.ts): SES v2's tenant
 * operations, resource associations, reputation policies and sending status, and the suppression
 * lists, the account's and each tenant's. A stand-in for SES: no Sesame logic lives here.
 *
 * Operations (method and path as the SDK sends them):
 *   CreateTenant                     POST /v2/email/tenants
 *   GetTenant                        POST /v2/email/tenants/get
 *   ListTenants                      POST /v2/email/tenants/list
 *   CreateTenantResourceAssociation  POST /v2/email/tenants/resources
 *   ListTenantResources              POST /v2/email/tenants/resources/list
 *   PutTenantSuppressionAttributes   POST /v2/email/tenant/suppression
 *   UpdateReputationEntityPolicy     PUT  /v2/email/reputation/entities/{Type}/{Reference}/policy
 *   GetReputationEntity              GET  /v2/email/reputation/entities/{Type}/{Reference}
 *   UpdateReputationEntityCustomerManagedStatus
 *                                    PUT  /v2/email/reputation/entities/{Type}/{Reference}/customer-managed-status
 *   PutSuppressedDestination         PUT  /v2/email/suppression/addresses
 *   GetSuppressedDestination         GET  /v2/email/suppression/addresses/{EmailAddress}?TenantName=
 *   DeleteSuppressedDestination      DELETE /v2/email/suppression/addresses/{EmailAddress}?TenantName=
 *   ListSuppressedDestinations       GET  /v2/email/suppression/addresses?TenantName=
 *
 * As SES does: suppression lists keep an address in the case it was put, and their API matches it
 * exactly, while sending matches any case; a tenant uses the account's list until its suppression
 * scope is TENANT. A send that names a tenant is refused unless the tenant exists, is not paused,
 * and both the sending identity and the configuration set are associated with it.
 *
 * A tenant's sending status is the aggregate of two: the customer-managed one (ENABLED, DISABLED or
 * REINSTATED, set with UpdateReputationEntityCustomerManagedStatus) and SES's own; it sends unless
 * either is DISABLED.
 *
 * LOCAL SIMULATION RULE for reputation: SES's own status changes only when `pause` (as SES's
 * reputation findings would under the tenant's policy, with a cause GetReputationEntity reports) or
 * `resume` says so.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { readJson, SnapshotWriter } from './json-files';

type SesErrorFactory = (errorType: string, message?: string) => Error;

interface SuppressedEntry {
  email: string;
  reason: 'BOUNCE' | 'COMPLAINT';
  updatedAt: number;
}

interface TenantRecord {
  name: string;
  id: string;
  createdAt: number;
  customerStatus: 'ENABLED' | 'DISABLED' | 'REINSTATED';
  awsStatus: 'ENABLED' | 'DISABLED';
  /** Why SES paused it (the simulation's `pause`). */
  cause?: string;
  statusUpdatedAt?: number;
  suppressionScope: 'ACCOUNT' | 'TENANT';
  suppressedReasons: ('BOUNCE' | 'COMPLAINT')[];
  reputationPolicy?: string;
  resources: string[];
  suppressed: SuppressedEntry[];
}

const reason = z.enum(['BOUNCE', 'COMPLAINT']);
const entry = z.object({ email: z.string(), reason, updatedAt: z.number() });
const tenantRecord = z.object({
  name: z.string(),
  id: z.string(),
  createdAt: z.number(),
  customerStatus: z.enum(['ENABLED', 'DISABLED', 'REINSTATED']),
  awsStatus: z.enum(['ENABLED', 'DISABLED']),
  cause: z.string().optional(),
  statusUpdatedAt: z.number().optional(),
  suppressionScope: z.enum(['ACCOUNT', 'TENANT']),
  suppressedReasons: z.array(reason),
  reputationPolicy: z.string().optional(),
  resources: z.array(z.string()),
  suppressed: z.array(entry),
});
const stateFile = z.object({ tenants: z.array(tenantRecord), account: z.array(entry) });

const TENANT_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const POLICY = /^arn:[a-z0-9-]+:ses:[a-z0-9-]+:aws:reputation-policy\/(none|standard|strict)$/;

export interface TenantRequest {
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: unknown;
}

export interface TenantRoute {
  readonly method: string;
  readonly pattern: RegExp;
  readonly operation: (typeof TENANT_OPERATIONS)[number];
  readonly handle: (request: TenantRequest) => Promise<{ body: unknown }> | { body: unknown };
}

export const TENANT_OPERATIONS = [
  'CreateTenant',
  'GetTenant',
  'ListTenants',
  'CreateTenantResourceAssociation',
  'ListTenantResources',
  'PutTenantSuppressionAttributes',
  'UpdateReputationEntityPolicy',
  'GetReputationEntity',
  'UpdateReputationEntityCustomerManagedStatus',
  'PutSuppressedDestination',
  'GetSuppressedDestination',
  'DeleteSuppressedDestination',
  'ListSuppressedDestinations',
] as const;

/** What a send to one recipient meets: nothing, or the suppression list that holds the address. */
export type SuppressionHit = { readonly address: string; readonly list: 'tenant' | 'account' };

export interface LocalTenants {
  readonly routes: readonly TenantRoute[];
  /**
   * SES's tenant checks of a SendEmail: throws as SES refuses; otherwise the recipients a
   * suppression list holds (the tenant's when its scope is TENANT, else the account's).
   */
  checkSend(send: {
    tenantName?: string;
    identityArn?: string;
    configurationSetArn?: string;
    /** The configuration set's own suppression scope, which overrides the tenant's. */
    configurationSetScope?: 'ACCOUNT' | 'TENANT';
    recipients: readonly string[];
  }): SuppressionHit[];
  /** Pauses an SES tenant, as SES does under its reputation policy; `resume` reinstates it. */
  pause(name: string, cause?: string): Promise<void>;
  resume(name: string): Promise<void>;
  idle(): Promise<void>;
}

const bare = (raw: string): string => (/<([^<>]+)>\s*$/.exec(raw)?.[1] ?? raw).trim();

export async function createLocalTenants(options: { region: string; accountId: string; dataDir?: string; error: SesErrorFactory }): Promise<LocalTenants> {
  const { region, accountId, error } = options;
  const tenants = new Map<string, TenantRecord>();
  let account: SuppressedEntry[] = [];
  const writer = options.dataDir ? new SnapshotWriter(path.join(options.dataDir, 'tenants.json'), () => ({ tenants: [...tenants.values()], account })) : undefined;
  if (options.dataDir) {
    const saved = await readJson(path.join(options.dataDir, 'tenants.json'));
    if (saved !== undefined) {
      const state = stateFile.parse(saved);
      for (const t of state.tenants) tenants.set(t.name, t);
      account = state.account;
    }
  }
  const save = async () => {
    if (writer) await writer.save();
  };

  const sendingStatus = (t: TenantRecord) => (t.customerStatus === 'DISABLED' || t.awsStatus === 'DISABLED' ? 'DISABLED' : t.customerStatus);
  const arnOf = (t: TenantRecord) => `arn:aws:ses:${region}:${accountId}:tenant/${t.name}/${t.id}`;
  const object = (body: unknown): Record<string, unknown> => (typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {});
  const str = (body: unknown, field: string, required = true): string | undefined => {
    const value = object(body)[field];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || value === '') throw error('BadRequestException', `1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
    return value;
  };
  const find = (name: string | undefined): TenantRecord => {
    const t = name === undefined ? undefined : tenants.get(name);
    if (!t) throw error('NotFoundException', `Tenant ${name ?? ''} does not exist.`);
    return t;
  };
  const byArn = (arn: string): TenantRecord => {
    const t = [...tenants.values()].find((x) => arnOf(x) === arn);
    if (!t) throw error('NotFoundException', `Reputation entity ${arn} does not exist.`);
    return t;
  };
  const tenantBody = (t: TenantRecord) => ({
    TenantName: t.name,
    TenantId: t.id,
    TenantArn: arnOf(t),
    CreatedTimestamp: t.createdAt / 1000,
    Tags: [],
    SendingStatus: sendingStatus(t),
    SuppressionAttributes: { SuppressionScope: t.suppressionScope, SuppressedReasons: t.suppressedReasons },
  });
  /** The list a suppressed-destination call names: the tenant's (TenantName) or the account's. */
  const listOf = (tenantName: string | null | undefined): SuppressedEntry[] => (tenantName ? find(tenantName).suppressed : account);
  const setList = (tenantName: string | null | undefined, list: SuppressedEntry[]) => {
    if (tenantName) find(tenantName).suppressed = list;
    else account = list;
  };

  const routes: TenantRoute[] = [
    {
      method: 'POST', pattern: /^\/v2\/email\/tenants$/, operation: 'CreateTenant',
      handle: async ({ body }) => {
        const name = str(body, 'TenantName')!;
        if (!TENANT_NAME.test(name)) throw error('BadRequestException', 'Tenant names have up to 64 letters, digits, - and _.');
        if (tenants.has(name)) throw error('AlreadyExistsException', `Tenant ${name} already exists.`);
        const attrs = object(object(body).SuppressionAttributes);
        const t: TenantRecord = {
          name, id: `tn-${randomUUID().replace(/-/g, '').slice(0, 20)}`, createdAt: Date.now(), customerStatus: 'ENABLED', awsStatus: 'ENABLED',
          suppressionScope: attrs.SuppressionScope === 'TENANT' ? 'TENANT' : 'ACCOUNT',
          suppressedReasons: Array.isArray(attrs.SuppressedReasons) ? reason.array().parse(attrs.SuppressedReasons) : [],
          resources: [], suppressed: [],
        };
        tenants.set(name, t);
        await save();
        return { body: tenantBody(t) };
      },
    },
    { method: 'POST', pattern: /^\/v2\/email\/tenants\/get$/, operation: 'GetTenant', handle: ({ body }) => ({ body: { Tenant: tenantBody(find(str(body, 'TenantName'))) } }) },
    {
      method: 'POST', pattern: /^\/v2\/email\/tenants\/list$/, operation: 'ListTenants',
      handle: ({ body }) => {
        const filter = object(object(body).Filter);
        const contains = typeof filter.TENANT_NAME_CONTAINS === 'string' ? filter.TENANT_NAME_CONTAINS : '';
        const status = typeof filter.SENDING_STATUS === 'string' ? filter.SENDING_STATUS : undefined;
        const list = [...tenants.values()].filter((t) => t.name.includes(contains) && (status === undefined || sendingStatus(t) === status));
        return { body: { Tenants: list.map((t) => ({ TenantName: t.name, TenantId: t.id, TenantArn: arnOf(t), CreatedTimestamp: t.createdAt / 1000, SendingStatus: sendingStatus(t) })) } };
      },
    },
    {
      method: 'POST', pattern: /^\/v2\/email\/tenants\/resources$/, operation: 'CreateTenantResourceAssociation',
      handle: async ({ body }) => {
        const t = find(str(body, 'TenantName'));
        const arn = str(body, 'ResourceArn')!;
        if (!/^arn:aws:ses:[a-z0-9-]+:\d{12}:(identity|configuration-set|template)\/.+$/.test(arn)) throw error('BadRequestException', `Invalid resource ARN ${arn}.`);
        if (t.resources.includes(arn)) throw error('AlreadyExistsException', `Resource ${arn} is already associated with tenant ${t.name}.`);
        t.resources.push(arn);
        await save();
        return { body: {} };
      },
    },
    {
      method: 'POST', pattern: /^\/v2\/email\/tenants\/resources\/list$/, operation: 'ListTenantResources',
      handle: ({ body }) => {
        const t = find(str(body, 'TenantName'));
        const type = (arn: string) => (arn.includes(':identity/') ? 'EMAIL_IDENTITY' : arn.includes(':configuration-set/') ? 'CONFIGURATION_SET' : 'EMAIL_TEMPLATE');
        return { body: { TenantResources: t.resources.map((arn) => ({ ResourceType: type(arn), ResourceArn: arn })) } };
      },
    },
    {
      method: 'POST', pattern: /^\/v2\/email\/tenant\/suppression$/, operation: 'PutTenantSuppressionAttributes',
      handle: async ({ body }) => {
        const t = find(str(body, 'TenantName'));
        const input = object(body);
        if (input.SuppressionScope !== undefined) t.suppressionScope = input.SuppressionScope === 'TENANT' ? 'TENANT' : 'ACCOUNT';
        if (input.SuppressedReasons !== undefined) t.suppressedReasons = reason.array().parse(input.SuppressedReasons);
        await save();
        return { body: {} };
      },
    },
    {
      method: 'PUT', pattern: /^\/v2\/email\/reputation\/entities\/([^/?]+)\/([^/?]+)\/policy$/, operation: 'UpdateReputationEntityPolicy',
      handle: async ({ params, body }) => {
        if (params[0] !== 'RESOURCE') throw error('BadRequestException', 'Only RESOURCE reputation entities are supported.');
        const policy = str(body, 'ReputationEntityPolicy')!;
        if (!POLICY.test(policy)) throw error('BadRequestException', `Invalid reputation policy ${policy}.`);
        byArn(params[1]!).reputationPolicy = policy;
        await save();
        return { body: {} };
      },
    },
    {
      method: 'GET', pattern: /^\/v2\/email\/reputation\/entities\/([^/?]+)\/([^/?]+)$/, operation: 'GetReputationEntity',
      handle: ({ params }) => {
        const t = byArn(params[1]!);
        return {
          body: {
            ReputationEntity: {
              ReputationEntityReference: arnOf(t),
              ReputationEntityType: 'RESOURCE',
              ReputationManagementPolicy: t.reputationPolicy,
              AwsSesManagedStatus: { Status: t.awsStatus, ...(t.cause ? { Cause: t.cause } : {}), ...(t.statusUpdatedAt ? { LastUpdatedTimestamp: t.statusUpdatedAt / 1000 } : {}) },
              CustomerManagedStatus: { Status: t.customerStatus },
              SendingStatusAggregate: sendingStatus(t),
              ...(t.awsStatus === 'DISABLED' ? { ReputationImpact: 'HIGH' } : {}),
            },
          },
        };
      },
    },
    {
      method: 'PUT', pattern: /^\/v2\/email\/reputation\/entities\/([^/?]+)\/([^/?]+)\/customer-managed-status$/, operation: 'UpdateReputationEntityCustomerManagedStatus',
      handle: async ({ params, body }) => {
        const status = z.enum(['ENABLED', 'DISABLED', 'REINSTATED']).safeParse(object(body).SendingStatus);
        if (!status.success) throw error('BadRequestException', 'SendingStatus must be ENABLED, DISABLED or REINSTATED.');
        byArn(params[1]!).customerStatus = status.data;
        await save();
        return { body: {} };
      },
    },
    {
      method: 'PUT', pattern: /^\/v2\/email\/suppression\/addresses$/, operation: 'PutSuppressedDestination',
      handle: async ({ body }) => {
        const email = str(body, 'EmailAddress')!;
        const why = reason.safeParse(object(body).Reason);
        if (!why.success) throw error('BadRequestException', 'Reason must be BOUNCE or COMPLAINT.');
        const tenantName = str(body, 'TenantName', false);
        const list = listOf(tenantName).filter((e) => e.email !== email);
        setList(tenantName, [...list, { email, reason: why.data, updatedAt: Date.now() }]);
        await save();
        return { body: {} };
      },
    },
    {
      method: 'GET', pattern: /^\/v2\/email\/suppression\/addresses\/([^/?]+)$/, operation: 'GetSuppressedDestination',
      handle: ({ params, query }) => {
        const tenantName = query.get('TenantName');
        const e = listOf(tenantName).find((x) => x.email === params[0]);
        if (!e) throw error('NotFoundException', `Email address ${params[0]} does not exist on your suppression list.`);
        return { body: { SuppressedDestination: { EmailAddress: e.email, Reason: e.reason, LastUpdateTime: e.updatedAt / 1000, ...(tenantName ? { TenantName: tenantName } : {}) } } };
      },
    },
    {
      method: 'DELETE', pattern: /^\/v2\/email\/suppression\/addresses\/([^/?]+)$/, operation: 'DeleteSuppressedDestination',
      handle: async ({ params, query }) => {
        const tenantName = query.get('TenantName');
        const list = listOf(tenantName);
        if (!list.some((x) => x.email === params[0])) throw error('NotFoundException', `Email address ${params[0]} does not exist on your suppression list.`);
        setList(tenantName, list.filter((x) => x.email !== params[0]));
        await save();
        return { body: {} };
      },
    },
    {
      method: 'GET', pattern: /^\/v2\/email\/suppression\/addresses$/, operation: 'ListSuppressedDestinations',
      handle: ({ query }) => {
        const list = listOf(query.get('TenantName'));
        const size = Math.min(Number(query.get('PageSize') ?? 1000) || 1000, 1000);
        const start = Number(query.get('NextToken') ?? 0) || 0;
        const page = list.slice(start, start + size);
        return {
          body: {
            SuppressedDestinationSummaries: page.map((e) => ({ EmailAddress: e.email, Reason: e.reason, LastUpdateTime: e.updatedAt / 1000 })),
            ...(start + size < list.length ? { NextToken: String(start + size) } : {}),
          },
        };
      },
    },
  ];

  return {
    routes,
    checkSend({ tenantName, identityArn, configurationSetArn, configurationSetScope, recipients }) {
      let list = account;
      let kind: 'tenant' | 'account' = 'account';
      if (tenantName !== undefined) {
        const t = tenants.get(tenantName);
        if (!t) throw error('NotFoundException', `Tenant ${tenantName} does not exist.`);
        if (sendingStatus(t) === 'DISABLED') {
          const why = t.awsStatus === 'DISABLED' ? t.cause ?? 'its reputation findings' : 'its customer-managed status is DISABLED';
          throw error('SendingPausedException', `Sending is paused for tenant ${tenantName}: ${why}`);
        }
        for (const [what, arn] of [['identity', identityArn], ['configuration set', configurationSetArn]] as const) {
          if (arn !== undefined && !t.resources.includes(arn)) {
            throw error('MessageRejected', `The ${what} ${arn.slice(arn.indexOf('/') + 1)} is not associated with tenant ${tenantName}.`);
          }
        }
        if ((configurationSetScope ?? t.suppressionScope) === 'TENANT') {
          list = t.suppressed;
          kind = 'tenant';
        }
      }
      const held = new Set(list.map((e) => e.email.toLowerCase()));
      return recipients.filter((r) => held.has(bare(r).toLowerCase())).map((r) => ({ address: bare(r), list: kind }));
    },
    async pause(name, cause = 'The bounce rate of the tenant exceeded the threshold of its reputation policy.') {
      const t = find(name);
      Object.assign(t, { awsStatus: 'DISABLED', cause, statusUpdatedAt: Date.now() });
      await save();
    },
    async resume(name) {
      const t = find(name);
      t.awsStatus = 'ENABLED';
      delete t.cause;
      t.statusUpdatedAt = Date.now();
      await save();
    },
    idle: async () => {
      await writer?.idle();
    },
  };
}
