/**
 * Two stacks in one account and region deploy side by side: every physical name the templates set
 * (configuration sets, the API's name, the dashboard, ...) derives from the stack name unless set
 * explicitly, so two synths with different stack names share none. cdk-nag stays clean for both.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configurationSetPrefixFor } from '../../lib/ses-events';
import { SesameStack } from '../../lib/sesame-stack';
import { testApp } from './helpers';

/**
 * Name properties that are not unique in an account: scoped to a parent resource (an API's stage, an
 * inline policy of one role) or a label (a topic's display name, a metric's name).
 */
const NOT_PHYSICAL = new Set(['StageName', 'PolicyName', 'DisplayName', 'MetricName']);

/** Every literal top-level `...Name` property of every resource, as `<Type>.<key>=<value>`. */
function physicalNames(template: Template): string[] {
  return Object.values(template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>).flatMap((resource) =>
    Object.entries(resource.Properties ?? {})
      .filter(([key, value]) => /Name$/.test(key) && typeof value === 'string' && !NOT_PHYSICAL.has(key))
      .map(([key, value]) => `${resource.Type}.${key}=${value as string}`));
}

describe('two stacks side by side', () => {
  const app = testApp();
  const a = new SesameStack(app, 'SesameProd');
  const b = new SesameStack(app, 'SesameStaging');
  const [namesA, namesB] = [a, b].map((s) => physicalNames(Template.fromStack(s)));

  it('share no physical name', () => {
    // Prepare: the names are there to compare (configuration sets, the API, the dashboard).
    expect(namesA).toEqual(expect.arrayContaining([
      'AWS::SES::ConfigurationSet.Name=sesameprod-open-click',
      'AWS::ApiGatewayV2::Api.Name=SesameProd',
      'AWS::CloudWatch::Dashboard.DashboardName=SesameProd',
    ]));
    const value = (n: string) => n.slice(n.indexOf('=') + 1);
    const shared = namesA.filter((n) => namesB.map(value).includes(value(n)));
    expect(shared).toEqual([]);
  });

  it('keep their business metrics apart', () => {
    const namespaces = (s: SesameStack) => new Set(Object.values(Template.fromStack(s).findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE as string));
    expect(namespaces(a)).toEqual(new Set(['Sesame/SesameProd']));
    expect(namespaces(b)).toEqual(new Set(['Sesame/SesameStaging']));
  });

  it('pass cdk-nag\'s AwsSolutions checks, both', () => {
    for (const stack of [a, b]) expect(new AwsSolutionsChecks(app).validateScope(stack).violations).toEqual([]);
  });
});

describe('configurationSetPrefixFor', () => {
  it('is the stack name in lower case, so the default stack keeps `sesame`', () => {
    expect(configurationSetPrefixFor('Sesame')).toBe('sesame');
  });

  it('fits SES\'s 64 characters with the longest suffix, and keeps two long names apart', () => {
    const long = 'S'.repeat(100);
    const prefix = configurationSetPrefixFor(long);
    expect(`${prefix}-open-click`.length).toBeLessThanOrEqual(64);
    expect(prefix).not.toBe(configurationSetPrefixFor(`${long}x`));
    expect(prefix).toMatch(/^[a-z0-9_-]+$/);
  });
});
