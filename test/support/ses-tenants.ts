/** Tests' SES tenants on the local SES endpoint, made as `npx sesame tenants create` makes them. */
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { provisionSesTenant } from '../../lambdas/admin/tenants';
import { TEST_REGION } from './services';

/** The SES tenant prefix in tests (a stack named `test`). */
export const TEST_SES_TENANT_PREFIX = 'test';

/** The SES tenant of `tenantId`, with the `sesame` configuration sets and `domains` associated. */
export function provisionTestSesTenant(client: SESv2Client, tenantId: string, domains: readonly string[] = []) {
  return provisionSesTenant(
    { ses: new SesTenants(client), region: TEST_REGION, sesTenantPrefix: TEST_SES_TENANT_PREFIX, configurationSetPrefix: 'sesame' },
    tenantId,
    { reputation: 'standard', domains },
  );
}
