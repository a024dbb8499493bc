import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SesameFunction } from '../../lib/sesame-function';
import { SesameTable } from '../../lib/sesame-table';
import { ContentBucket } from '../../lib/content-bucket';
import { minimalStack } from './helpers';

describe('SesameFunction', () => {
  it('builds a Node.js 24 arm64 function with tracing off and a one-month log group', () => {
    // Prepare
    const stack = minimalStack();
    // Act
    new SesameFunction(stack, 'Fn', { entryDir: 'send' });
    // Assess
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: Match.absent(),
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('^FnLogs') } },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('logs JSON with Lambda\'s platform lines only at WARN, unless asked for', () => {
    const stack = minimalStack();
    new SesameFunction(stack, 'Quiet', { entryDir: 'send' });
    new SesameFunction(stack, 'Chatty', { entryDir: 'send', platformLogs: true });
    const template = Template.fromStack(stack);
    const configs = Object.values(template.findResources('AWS::Lambda::Function')).map((f) => f.Properties.LoggingConfig);
    expect(configs).toEqual(expect.arrayContaining([
      expect.objectContaining({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' }),
      expect.objectContaining({ LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'INFO' }),
    ]));
  });

  it('does not set AWS_NODEJS_CONNECTION_REUSE_ENABLED (SDK v3 reuses connections itself)', () => {
    const stack = minimalStack();
    new SesameFunction(stack, 'Fn', { entryDir: 'send', environment: { SOME_SETTING: 'b' } });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectEquals({ POWERTOOLS_SERVICE_NAME: 'send', SOME_SETTING: 'b' }) },
    });
  });

  it('has one log-level setting: Lambda\'s application log level, which Powertools reads', () => {
    const stack = minimalStack();
    new SesameFunction(stack, 'Fn', { entryDir: 'ingest', logLevel: ApplicationLogLevel.DEBUG });
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0]!;
    expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', ApplicationLogLevel: 'DEBUG' });
    const variables = Object.keys(fn.Properties.Environment.Variables as object);
    expect(variables.filter((name) => /LOG_LEVEL/.test(name))).toEqual([]);
  });

  it('takes memory, timeout, log retention and tracing from its props', () => {
    const stack = minimalStack();
    new SesameFunction(stack, 'Fn', {
      entryDir: 'deliver',
      memorySize: 1024,
      timeout: Duration.seconds(42),
      tracing: true,
      logRetention: RetentionDays.ONE_WEEK,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 1024, Timeout: 42, TracingConfig: { Mode: 'Active' } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it('bindTable sets SESAME_TABLE_NAME and grants the named actions on the table, and only Query on its indexes', () => {
    const stack = minimalStack();
    const table = new SesameTable(stack, 'Table').table;
    new SesameFunction(stack, 'Reader', { entryDir: 'send' }).bindTable(table, { items: ['GetItem'], queryIndexes: true });
    new SesameFunction(stack, 'Writer', { entryDir: 'send' }).bindTable(table, { items: ['GetItem', 'PutItem', 'UpdateItem'] });
    const template = Template.fromStack(stack);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const statements = (roleRef: RegExp) =>
      policies
        .filter((p) => roleRef.test(JSON.stringify(p.Properties.Roles)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .map((s) => [s.Action, JSON.stringify(s.Resource)]);
    expect(statements(/Reader/)).toEqual([
      ['dynamodb:GetItem', expect.stringMatching(/^\{"Fn::GetAtt":\["Table\w+","Arn"\]\}$/)],
      ['dynamodb:Query', expect.stringMatching(/\/index\/\*/)],
    ]);
    expect(statements(/Writer/)).toEqual([[['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], expect.not.stringMatching(/index/)]]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { SESAME_TABLE_NAME: { Ref: Match.stringLikeRegexp('^Table') } } },
    });
  });

  it('bindContent sets SESAME_CONTENT_BUCKET and grants only the object actions asked for, on the stages\' prefixes', () => {
    const stack = minimalStack();
    const bucket = new ContentBucket(stack, 'Content', { retentionDays: 30 }).bucket;
    const grants = { r: ['s3:GetObject'], w: ['s3:DeleteObject', 's3:PutObject'], rw: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'] } as const;
    for (const access of ['r', 'w'] as const) new SesameFunction(stack, `Fn${access}`, { entryDir: 'send' }).bindContent(bucket, access);
    new SesameFunction(stack, 'Fnrw', { entryDir: 'send' }).bindContent(bucket, 'rw', ['sent', 'scheduled']);
    const template = Template.fromStack(stack);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    for (const access of ['r', 'w', 'rw'] as const) {
      const statements = policies
        .filter((p) => new RegExp(`Fn${access}(?!w)`).test(JSON.stringify(p.Properties.Roles)))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown[] }[]);
      expect([access, statements.flatMap((s) => s.Action).sort()]).toEqual([access, [...grants[access]]]);
      const resources = JSON.stringify(statements.map((s) => s.Resource));
      expect(resources).toContain('/emails/*');
      // The scheduled prefix only where asked for.
      expect([access, resources.includes('/scheduled/*')]).toEqual([access, access === 'rw']);
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { SESAME_CONTENT_BUCKET: { Ref: Match.stringLikeRegexp('^Content') } } },
    });
    expect(new AwsSolutionsChecks(stack.node.root).validateScope(stack).violations).toEqual([]);
  });

  it('acknowledges only the findings it explains: another wildcard on the same role is still reported', () => {
    // Prepare: a bound function, plus a statement nobody acknowledged.
    const stack = minimalStack();
    const table = new SesameTable(stack, 'Table').table;
    const fn = new SesameFunction(stack, 'Fn', { entryDir: 'send' }).bindTable(table, { items: ['GetItem'], queryIndexes: true });
    fn.fn.addToRolePolicy(new PolicyStatement({ actions: ['ses:*'], resources: ['*'] }));
    // Act
    const violations = new AwsSolutionsChecks(stack.node.root).validateScope(stack).violations;
    // Assess
    expect(violations.map((v) => v.ruleName).sort()).toEqual(['AwsSolutions-IAM5[Action::ses:*]', 'AwsSolutions-IAM5[Resource::*]']);
  });
});
