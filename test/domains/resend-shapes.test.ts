/**
 * Every /domains answer validates against Resend's own schemas (test/support/resend-schema.ts),
 * through the real handler path on dynalite and the local SES v2 server. `records[].record` takes
 * only Resend's values: the DMARC advice is the domain's own `dmarc` field.
 */
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createApiHandler } from '../../lambdas/core/http/api';
import { createAuthenticator } from '../../lambdas/core/http/auth';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { DomainStore } from '../../lambdas/core/adapters/domains';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { SesTenants } from '../../lambdas/core/adapters/ses-tenants';
import { TEST_SES_TENANT_PREFIX } from '../support/ses-tenants';
import { TenantStore } from '../../lambdas/core/adapters/tenants';
import { keys } from '../../lambdas/core/table';
import { domainRoutes } from '../../lambdas/domains/routes';
import { servicesForFile, tenantWithKey } from '../support/domain-fixtures';
import { call, captureLogger } from '../support/api';
import { resendSchemaErrors } from '../support/resend-schema';

const services = servicesForFile();

async function world() {
  const table = await services.dynamo.freshTable();
  const db = createDb(services.dynamo.doc, table);
  const tenants = new TenantStore(db);
  const { key } = await tenantWithKey(tenants, services.ses.client, 'a');
  const handler = createApiHandler(
    domainRoutes({ domains: new DomainStore(db), identities: new SesIdentities(services.ses.client, LOCAL_STACK_NAME), events: { publish: async () => undefined }, sesTenants: new SesTenants(services.ses.client), sesTenantPrefix: TEST_SES_TENANT_PREFIX, region: 'us-east-1', now: Date.now }),
    createAuthenticator(tenants),
    captureLogger().log,
  );
  return { table, key, api: (method: string, url: string, body?: unknown) => call(handler, method, url, { key, ...(body !== undefined ? { body } : {}) }) };
}

describe("the schemas' own checks", () => {
  it('refuses a record labelled DMARC, as Resend does', () => {
    const errors = resendSchemaErrors('Domain', { records: [{ record: 'DMARC', name: '_dmarc.example.com', type: 'TXT', ttl: 'Auto', status: 'not_started', value: 'v=DMARC1' }] });
    expect(errors.join('\n')).toMatch(/\/records\/0\/record must be equal to one of the allowed values/);
  });
});

describe('every /domains answer is in Resend\'s shape', () => {
  it('create, get, list, verify, update and delete validate against their schemas', async () => {
    // Prepare
    const w = await world();
    const name = `d${randomUUID().slice(0, 8)}.com`;
    // Act
    const created = await w.api('POST', '/domains', { name, open_tracking: true });
    const id = created.body.id as string;
    const got = await w.api('GET', `/domains/${id}`);
    const listed = await w.api('GET', '/domains');
    const verified = await w.api('POST', `/domains/${id}/verify`);
    const gotVerified = await w.api('GET', `/domains/${id}`);
    const updated = await w.api('PATCH', `/domains/${id}`, { click_tracking: true });
    const deleted = await w.api('DELETE', `/domains/${id}`);
    // Assess
    expect([created.status, got.status, listed.status, verified.status, gotVerified.status, updated.status, deleted.status]).toEqual([201, 200, 200, 200, 200, 200, 200]);
    expect(resendSchemaErrors('CreateDomainResponse', created.body)).toEqual([]);
    expect(resendSchemaErrors('Domain', got.body)).toEqual([]);
    expect(resendSchemaErrors('ListDomainsResponse', listed.body)).toEqual([]);
    expect(resendSchemaErrors('VerifyDomainResponse', verified.body)).toEqual([]);
    expect(resendSchemaErrors('Domain', gotVerified.body)).toEqual([]);
    expect(resendSchemaErrors('UpdateDomainResponseSuccess', updated.body)).toEqual([]);
    expect(resendSchemaErrors('DeleteDomainResponse', deleted.body)).toEqual([]);
    expect(gotVerified.body.records.map((r: { record: string }) => r.record)).toEqual(['DKIM', 'DKIM', 'DKIM', 'SPF', 'SPF']);
    expect(gotVerified.body).toMatchObject({ tracking_subdomain: null, dmarc: { name: `_dmarc.${name}`, type: 'TXT' } });
  });

  it('drops the DMARC record that domains stored before it became its own field', async () => {
    // Prepare: a domain item as the earlier release wrote it, DMARC among the records
    const w = await world();
    const name = `d${randomUUID().slice(0, 8)}.com`;
    const created = await w.api('POST', '/domains', { name });
    const dmarc = { record: 'DMARC', name: `_dmarc.${name}`, type: 'TXT', ttl: 'Auto', status: 'not_started', value: '"v=DMARC1;p=none"' };
    await services.dynamo.doc.send(new UpdateCommand({
      TableName: w.table, Key: keys.domainByName(name),
      UpdateExpression: 'SET records = list_append(records, :d)', ExpressionAttributeValues: { ':d': [dmarc] },
    }));
    // Act
    const got = await w.api('GET', `/domains/${created.body.id}`);
    // Assess
    expect(got.body.records).toEqual(created.body.records);
    expect(resendSchemaErrors('Domain', got.body)).toEqual([]);
  });
});
