import fc from 'fast-check';
import { readSesTenantConfig } from '../../lambdas/core/config';
import { SES_TENANT_NAME, reputationPolicyArn, sesArnBeside, sesTenantName, sesTenantPrefixOf } from '../../lambdas/core/domain/ses-tenants';

describe('sesTenantName', () => {
  it('is <prefix>-<tenant id>', () => {
    expect(sesTenantName('Sesame', '0b7c4a9e-5a1f-4c1e-9d3e-2f6b8c0a1d2e')).toBe('Sesame-0b7c4a9e-5a1f-4c1e-9d3e-2f6b8c0a1d2e');
  });

  it('always fits SES tenant names, keeps the tenant id whole, and never gives two tenants one name (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), fc.uuid(), fc.uuid(), (prefix, a, b) => {
      const name = sesTenantName(prefix, a);
      expect(name).toMatch(SES_TENANT_NAME);
      expect(name.endsWith(a)).toBe(true);
      if (a !== b) expect(sesTenantName(prefix, b)).not.toBe(name);
    }));
  });
});

it('names SES-managed reputation policies in the region\'s partition', () => {
  expect(reputationPolicyArn('eu-west-1', 'strict')).toBe('arn:aws:ses:eu-west-1:aws:reputation-policy/strict');
  expect(reputationPolicyArn('cn-north-1', 'standard')).toBe('arn:aws-cn:ses:cn-north-1:aws:reputation-policy/standard');
});

it('builds the ARN of a resource beside a tenant', () => {
  expect(sesArnBeside('arn:aws:ses:us-east-1:123456789012:tenant/Sesame-x/tn-1', 'identity/acme.com')).toBe('arn:aws:ses:us-east-1:123456789012:identity/acme.com');
  expect(() => sesArnBeside('arn:aws:sns:us-east-1:123456789012:topic', 'identity/a.com')).toThrow(/Not an SES ARN/);
});

it('derives the SES tenant prefix from SESAME_STACK_NAME, as the stack does for its grants, within SES tenant names', () => {
  expect(readSesTenantConfig({ SESAME_STACK_NAME: 'Sesame-prod' })).toEqual({ sesTenantPrefix: 'Sesame-prod' });
  expect(readSesTenantConfig({ SESAME_STACK_NAME: 'x'.repeat(40) })).toEqual({ sesTenantPrefix: 'x'.repeat(26) });
  expect(sesTenantPrefixOf('has space.and/dots')).toBe('has-space-and-dots');
  expect(() => readSesTenantConfig({})).toThrow(/SESAME_STACK_NAME/);
  expect(() => readSesTenantConfig({ SESAME_SES_TENANT_PREFIX: 'Sesame-prod' })).toThrow(/SESAME_STACK_NAME/);
});
