/**
 * SES tenants through SES v2: the tenant itself, its suppression settings, reputation policy and
 * resource associations, and the entries of its suppression list. Every call that creates something
 * treats "already there" as done, so a half-finished setup is completed by running it again.
 */
import {
  CreateTenantCommand,
  CreateTenantResourceAssociationCommand,
  DeleteSuppressedDestinationCommand,
  GetReputationEntityCommand,
  GetTenantCommand,
  ListSuppressedDestinationsCommand,
  ListTenantResourcesCommand,
  ListTenantsCommand,
  PutSuppressedDestinationCommand,
  PutTenantSuppressionAttributesCommand,
  type SESv2Client,
  UpdateReputationEntityPolicyCommand,
} from '@aws-sdk/client-sesv2';
import { TENANT_SUPPRESSION, sesArnBeside } from '../domain/ses-tenants';

const errorName = (error: unknown): string | undefined => (error as { name?: string } | undefined)?.name;

export interface SesTenantStatus {
  readonly name: string;
  readonly arn?: string;
  /** ENABLED, DISABLED or REINSTATED. */
  readonly sendingStatus?: string;
  readonly suppressionScope?: string;
  readonly reputation?: {
    readonly policy?: string;
    readonly aggregateStatus?: string;
    readonly impact?: string;
    readonly awsStatus?: { readonly status?: string; readonly cause?: string; readonly updatedAt?: string };
    readonly customerStatus?: { readonly status?: string; readonly cause?: string; readonly updatedAt?: string };
  };
}

export interface SuppressedAddress {
  readonly email: string;
  readonly reason: 'BOUNCE' | 'COMPLAINT';
}

export class SesTenants {
  constructor(private readonly ses: SESv2Client) {}

  /** Creates the SES tenant unless it exists; returns its ARN. */
  async ensureTenant(name: string): Promise<string> {
    try {
      const created = await this.ses.send(new CreateTenantCommand({ TenantName: name }));
      if (created.TenantArn) return created.TenantArn;
    } catch (error) {
      if (errorName(error) !== 'AlreadyExistsException') throw error;
    }
    return this.tenantArn(name);
  }

  async tenantArn(name: string): Promise<string> {
    const { Tenant } = await this.ses.send(new GetTenantCommand({ TenantName: name }));
    if (!Tenant?.TenantArn) throw new Error(`SES did not return the ARN of tenant ${name}`);
    return Tenant.TenantArn;
  }

  /** Its own suppression list, for hard bounces and complaints (a tenant uses the account's otherwise). */
  async useTenantSuppressionList(name: string): Promise<void> {
    await this.ses.send(new PutTenantSuppressionAttributesCommand({
      TenantName: name,
      SuppressionScope: TENANT_SUPPRESSION.SuppressionScope,
      SuppressedReasons: [...TENANT_SUPPRESSION.SuppressedReasons],
    }));
  }

  async setReputationPolicy(tenantArn: string, policyArn: string): Promise<void> {
    await this.ses.send(new UpdateReputationEntityPolicyCommand({
      ReputationEntityType: 'RESOURCE',
      ReputationEntityReference: tenantArn,
      ReputationEntityPolicy: policyArn,
    }));
  }

  /** Associates an identity or a configuration set with the tenant; already associated is done. */
  async associate(name: string, resourceArn: string): Promise<void> {
    try {
      await this.ses.send(new CreateTenantResourceAssociationCommand({ TenantName: name, ResourceArn: resourceArn }));
    } catch (error) {
      if (errorName(error) !== 'AlreadyExistsException') throw error;
    }
  }

  /** Associates a domain's identity with the tenant (SES refuses the tenant's sends from it otherwise). */
  async associateIdentity(name: string, domain: string): Promise<void> {
    await this.associate(name, sesArnBeside(await this.tenantArn(name), `identity/${domain}`));
  }

  async resources(name: string): Promise<{ type: string; arn: string }[]> {
    const out: { type: string; arn: string }[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ses.send(new ListTenantResourcesCommand({ TenantName: name, NextToken }));
      for (const r of page.TenantResources ?? []) if (r.ResourceArn) out.push({ type: r.ResourceType ?? '', arn: r.ResourceArn });
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  /** The tenant's sending status and reputation findings; undefined when SES has no such tenant. */
  async status(name: string): Promise<SesTenantStatus | undefined> {
    let tenant;
    try {
      tenant = (await this.ses.send(new GetTenantCommand({ TenantName: name }))).Tenant;
    } catch (error) {
      if (errorName(error) === 'NotFoundException') return undefined;
      throw error;
    }
    if (!tenant) return undefined;
    const record = (r: { Status?: string; Cause?: string; LastUpdatedTimestamp?: Date } | undefined) =>
      r ? { status: r.Status, cause: r.Cause, updatedAt: r.LastUpdatedTimestamp?.toISOString() } : undefined;
    let reputation: SesTenantStatus['reputation'];
    if (tenant.TenantArn) {
      const { ReputationEntity: e } = await this.ses.send(new GetReputationEntityCommand({ ReputationEntityType: 'RESOURCE', ReputationEntityReference: tenant.TenantArn }));
      reputation = e && {
        policy: e.ReputationManagementPolicy,
        aggregateStatus: e.SendingStatusAggregate,
        impact: e.ReputationImpact,
        awsStatus: record(e.AwsSesManagedStatus),
        customerStatus: record(e.CustomerManagedStatus),
      };
    }
    return {
      name,
      arn: tenant.TenantArn,
      sendingStatus: tenant.SendingStatus,
      suppressionScope: tenant.SuppressionAttributes?.SuppressionScope,
      ...(reputation ? { reputation } : {}),
    };
  }

  /** Every SES tenant whose name starts with `prefix`, with its sending status. */
  async list(prefix: string): Promise<{ name: string; sendingStatus?: string }[]> {
    const out: { name: string; sendingStatus?: string }[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.ses.send(new ListTenantsCommand({ Filter: { TENANT_NAME_CONTAINS: prefix }, NextToken }));
      for (const t of page.Tenants ?? []) {
        if (t.TenantName?.startsWith(prefix)) out.push({ name: t.TenantName, ...(t.SendingStatus ? { sendingStatus: t.SendingStatus } : {}) });
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return out;
  }

  /** Puts `email` on the tenant's suppression list, in this exact case. */
  async suppress(name: string, email: string, reason: 'BOUNCE' | 'COMPLAINT'): Promise<void> {
    await this.ses.send(new PutSuppressedDestinationCommand({ TenantName: name, EmailAddress: email, Reason: reason }));
  }

  /** Takes `email` (exact case) off the tenant's list; not being on it is done. */
  async unsuppress(name: string, email: string): Promise<void> {
    try {
      await this.ses.send(new DeleteSuppressedDestinationCommand({ TenantName: name, EmailAddress: email }));
    } catch (error) {
      if (errorName(error) !== 'NotFoundException') throw error;
    }
  }

  /** Every entry of the tenant's suppression list, as SES stores it. */
  async *suppressed(name: string): AsyncGenerator<SuppressedAddress> {
    let NextToken: string | undefined;
    do {
      const page = await this.ses.send(new ListSuppressedDestinationsCommand({ TenantName: name, NextToken, PageSize: 1000 }));
      for (const d of page.SuppressedDestinationSummaries ?? []) {
        if (d.EmailAddress && (d.Reason === 'BOUNCE' || d.Reason === 'COMPLAINT')) yield { email: d.EmailAddress, reason: d.Reason };
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
}
