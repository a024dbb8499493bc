import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_RETRY_SCHEDULE } from '../../lambdas/core/config';
import type { SesameFunctionName } from '../../lib/sesame-stack';
import {
  actionsOf,
  environmentOf,
  functionLogicalId,
  logicalId,
  resources,
  resourcesOf,
  sesameStack,
  statementsOf,
} from './helpers';

const ALL: SesameFunctionName[] = ['send', 'domains', 'account', 'snsHttps', 'ingest', 'deliver', 'verifyDomains', 'dispatch', 'console'];
/** The functions that touch Sesame's data (all but the console's page server, which has no grant and no configuration). */
const DATA_FUNCTIONS = ALL.filter((name) => name !== 'console');

describe('SesameStack', () => {
  const { stack, template } = sesameStack();
  const ref = (construct: Parameters<typeof logicalId>[1]) => ({ Ref: logicalId(stack, construct) });
  const tableRef = ref(stack.table.table);
  const queueRef = ref(stack.webhooks.queue);
  const topicRef = ref(stack.events.topic);
  const secretRef = ref(stack.secretsKey.secret);
  const contentRef = ref(stack.content.bucket);

  describe('functions', () => {
    it('are eight (one per name), all Node.js 24 on arm64 with tracing off', () => {
      const fns = Object.values(resources(template, 'AWS::Lambda::Function'));
      expect(fns).toHaveLength(ALL.length);
      for (const fn of fns) {
        expect(fn.Properties).toEqual(expect.objectContaining({ Runtime: 'nodejs24.x', Architectures: ['arm64'] }));
        expect(fn.Properties?.TracingConfig).toBeUndefined();
      }
    });

    it('runs ingest, deliver and dispatch, which mostly wait on I/O, at the least memory (the cheapest), send at 256 MB', () => {
      const memory = (name: SesameFunctionName) => resources(template, 'AWS::Lambda::Function')[functionLogicalId(stack, name)]!.Properties!.MemorySize;
      expect([memory('ingest'), memory('deliver'), memory('dispatch'), memory('send')]).toEqual([128, 128, 128, 256]);
    });

    it('each get exactly the configuration they need, and nothing else', () => {
      const schedule = DEFAULT_RETRY_SCHEDULE.join(',');
      const logs = { SESAME_LOG_RETENTION_DAYS: '7', SESAME_REQUEST_LOGS: '1' };
      const expected: Record<SesameFunctionName, Record<string, unknown>> = {
        send: {
          SESAME_TABLE_NAME: tableRef, SESAME_RETENTION_DAYS: '30', SESAME_CONFIGURATION_SET: 'sesame', SESAME_SEND_RETRY_WINDOW_MINUTES: '15',
          SESAME_WEBHOOK_QUEUE_URL: queueRef, SESAME_WEBHOOK_RETRY_SCHEDULE: schedule, ...logs,
          SESAME_SCHEDULE_GROUP: `${stack.stackName}-scheduled`,
          SESAME_DISPATCH_QUEUE_ARN: { 'Fn::GetAtt': [logicalId(stack, stack.scheduler.queue), 'Arn'] },
          SESAME_SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [logicalId(stack, stack.scheduler.role), 'Arn'] },
          SESAME_CONTENT_BUCKET: contentRef, SESAME_STACK_NAME: stack.stackName,
        },
        dispatch: {
          SESAME_TABLE_NAME: tableRef, SESAME_RETENTION_DAYS: '30', SESAME_CONFIGURATION_SET: 'sesame', SESAME_WEBHOOK_QUEUE_URL: queueRef, SESAME_WEBHOOK_RETRY_SCHEDULE: schedule,
          SESAME_STACK_NAME: stack.stackName, SESAME_CONTENT_BUCKET: contentRef,
        },
        domains: {
          SESAME_TABLE_NAME: tableRef, SESAME_RETENTION_DAYS: '30', SESAME_CONFIGURATION_SET: 'sesame', SESAME_STACK_NAME: 'Sesame', SESAME_WEBHOOK_QUEUE_URL: queueRef, SESAME_WEBHOOK_RETRY_SCHEDULE: schedule,
          ...logs,
        },
        account: {
          ...logs,
          SESAME_TABLE_NAME: tableRef,
          SESAME_STACK_NAME: stack.stackName,
          SESAME_RETENTION_DAYS: '30',
          SESAME_WEBHOOK_QUEUE_URL: queueRef,
          SESAME_WEBHOOK_RETRY_SCHEDULE: schedule,
          SESAME_SECRETS_KEY_ARN: secretRef,
        },
        snsHttps: { SESAME_TABLE_NAME: tableRef, SESAME_RETENTION_DAYS: '30', SESAME_WEBHOOK_QUEUE_URL: queueRef, SESAME_EVENTS_TOPIC_ARN: topicRef, SESAME_WEBHOOK_RETRY_SCHEDULE: schedule },
        ingest: { SESAME_TABLE_NAME: tableRef, SESAME_RETENTION_DAYS: '30', SESAME_WEBHOOK_QUEUE_URL: queueRef, SESAME_EVENTS_TOPIC_ARN: topicRef, SESAME_WEBHOOK_RETRY_SCHEDULE: schedule },
        deliver: { SESAME_TABLE_NAME: tableRef, SESAME_RETENTION_DAYS: '30', SESAME_WEBHOOK_RETRY_SCHEDULE: schedule, SESAME_SECRETS_KEY_ARN: secretRef },
        verifyDomains: { SESAME_TABLE_NAME: tableRef, SESAME_RETENTION_DAYS: '30', SESAME_WEBHOOK_QUEUE_URL: queueRef, SESAME_WEBHOOK_RETRY_SCHEDULE: schedule, SESAME_STACK_NAME: 'Sesame' },
        // The console's page and assets: no resource, no configuration.
        console: {},
      };
      // Every function also has its Powertools service (log lines' and metrics' `service`) and the stack's metrics namespace.
      const folder: Record<SesameFunctionName, string> = { send: 'send', domains: 'domains', account: 'account', snsHttps: 'sns-https', ingest: 'ingest', deliver: 'deliver', verifyDomains: 'verify-domains', dispatch: 'dispatch', console: 'console' };
      const powertools = (name: SesameFunctionName) => ({ POWERTOOLS_SERVICE_NAME: folder[name], POWERTOOLS_METRICS_NAMESPACE: 'Sesame/Sesame' });
      for (const name of ALL) expect([name, environmentOf(stack, template, name)]).toEqual([name, { ...powertools(name), ...expected[name] }]);
    });

    it('take retention, configuration set prefix and SNS certificate host from the stack props', () => {
      const custom = sesameStack({ retentionDays: 7, configurationSetPrefix: 'acme', snsCertHost: '^sns\\.example$', sendRetryWindowMinutes: 30 });
      expect(environmentOf(custom.stack, custom.template, 'send').SESAME_SEND_RETRY_WINDOW_MINUTES).toBe('30');
      for (const name of DATA_FUNCTIONS) expect(environmentOf(custom.stack, custom.template, name).SESAME_RETENTION_DAYS).toBe('7');
      expect(environmentOf(custom.stack, custom.template, 'send').SESAME_CONFIGURATION_SET).toBe('acme');
      expect(environmentOf(custom.stack, custom.template, 'snsHttps').SESAME_SNS_CERT_HOST).toBe('^sns\\.example$');
      custom.template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'acme-open-click' });
      custom.template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Prefix: 'emails/', ExpirationInDays: 7 })]) } });
    });

    it('gives per-tenant metrics to the listed tenants only, and refuses a list beyond the cap', () => {
      const custom = sesameStack({ metricsTenants: ['t-1', 't-2'] });
      for (const name of DATA_FUNCTIONS) expect(environmentOf(custom.stack, custom.template, name).SESAME_METRICS_TENANTS).toBe('t-1,t-2');
      expect(() => sesameStack({ metricsTenants: Array.from({ length: 21 }, (_, i) => `t-${i}`) })).toThrow(/SESAME_METRICS_TENANTS/);
    });

    it('refuses a retention that is not a positive number of days', () => {
      expect(() => sesameStack({ retentionDays: 0 })).toThrow(/retentionDays/);
      expect(() => sesameStack({ sendRetryWindowMinutes: 0 })).toThrow(/sendRetryWindowMinutes/);
    });

    it('keep request logs at most as long as emails, and can turn them off', () => {
      const custom = sesameStack({ retentionDays: 3, requestLogs: false });
      expect(environmentOf(custom.stack, custom.template, 'send')).toMatchObject({ SESAME_LOG_RETENTION_DAYS: '3', SESAME_REQUEST_LOGS: '0' });
      expect(() => sesameStack({ retentionDays: 3, requestLogRetentionDays: 5 })).toThrow(/requestLogRetentionDays/);
    });
  });

  describe('IAM', () => {
    const identityArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':identity/*']],
    };

    it.each(['send', 'dispatch'] as const)('lets %s use ses:SendEmail on the identities AND on each configuration set (aws-cdk issue 34402)', (fn) => {
      const statements = statementsOf(stack, template, fn).filter((s) => actionsOf([s]).includes('ses:SendEmail'));
      expect(statements).toHaveLength(1);
      expect(actionsOf(statements)).toEqual(['ses:SendEmail']);
      const arns = resourcesOf(statements[0]).map((r) => JSON.stringify(r));
      expect(arns).toContain(JSON.stringify(identityArn));
      expect(arns).toHaveLength(1 + stack.events.configurationSets.length);
      for (const set of stack.events.configurationSets) {
        expect(arns.some((a) => a.endsWith(`:configuration-set/",${JSON.stringify(ref(set))}]]}`))).toBe(true);
      }
    });

    it('grants no wildcard action to any function', () => {
      for (const name of ALL) expect([name, actionsOf(statementsOf(stack, template, name)).filter((a) => a.includes('*'))]).toEqual([name, []]);
    });

    const tenantArn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:tenant/${stack.stackName}-*`]],
    };

    it("lets domains read the stack's SES tenants and associate identities with them, and nothing else of tenants", () => {
      const tenants = statementsOf(stack, template, 'domains').filter((s) => actionsOf([s]).some((a) => a.includes('Tenant')));
      expect(tenants.map((s) => [actionsOf([s]), resourcesOf(s)])).toEqual([
        [['ses:GetTenant'], [tenantArn]],
        [['ses:CreateTenantResourceAssociation'], [identityArn, tenantArn]],
      ]);
    });

    it("lets account add and remove suppressed addresses of the stack's SES tenants only", () => {
      const ses = statementsOf(stack, template, 'account').filter((s) => actionsOf([s]).some((a) => a.startsWith('ses:')));
      expect(actionsOf(ses).sort()).toEqual(['ses:DeleteSuppressedDestination', 'ses:PutSuppressedDestination']);
      expect(ses.flatMap(resourcesOf)).toEqual([tenantArn]);
    });

    it('lets domains manage identities only, on identity/*: create and tag only with its tags, change only what this stack tagged', () => {
      const ses = statementsOf(stack, template, 'domains').filter((s) => actionsOf([s]).some((a) => a.startsWith('ses:') && !a.includes('Tenant')));
      const byActions = Object.fromEntries(ses.map((s) => [actionsOf([s]).sort().join(' '), (s as { Condition?: unknown }).Condition ?? null]));
      expect(byActions).toEqual({
        'ses:GetEmailIdentity': null,
        'ses:CreateEmailIdentity ses:TagResource': {
          StringEquals: { 'aws:RequestTag/sesame_stack': 'Sesame' },
          'ForAllValues:StringEquals': { 'aws:TagKeys': ['sesame_tenant_id', 'sesame_stack'] },
        },
        'ses:DeleteEmailIdentity ses:PutEmailIdentityFeedbackAttributes ses:PutEmailIdentityMailFromAttributes': {
          StringEquals: { 'aws:ResourceTag/sesame_stack': 'Sesame' },
        },
      });
      expect(ses.flatMap(resourcesOf)).toEqual([identityArn, identityArn, identityArn]);
    });

    it('gives SES permissions to send, dispatch, domains, the domain verifier and account only', () => {
      for (const name of ['snsHttps', 'ingest', 'deliver'] as const) {
        expect([name, actionsOf(statementsOf(stack, template, name)).filter((a) => a.startsWith('ses:'))]).toEqual([name, []]);
      }
    });

    it('gives the console function no permission at all beyond its logs', () => {
      expect(actionsOf(statementsOf(stack, template, 'console'))).toEqual([]);
    });

    it('gives every function single-item reads and writes on the table, and none Scan, BatchWriteItem or stream reads', () => {
      for (const name of DATA_FUNCTIONS) {
        const actions = actionsOf(statementsOf(stack, template, name));
        // The domain verifier only reads domains and updates them.
        const writes = name === 'verifyDomains' ? ['dynamodb:GetItem', 'dynamodb:UpdateItem'] : ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
        expect([name, actions]).toEqual([name, expect.arrayContaining(writes)]);
        for (const never of ['dynamodb:Scan', 'dynamodb:BatchWriteItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeTable']) {
          expect([name, actions]).toEqual([name, expect.not.arrayContaining([never])]);
        }
      }
    });

    it('lets send, account, snsHttps, ingest, dispatch and domains (domain events) send to the webhook queue; only deliver consumes it', () => {
      const sqs = (name: SesameFunctionName) => actionsOf(statementsOf(stack, template, name)).filter((a) => a.startsWith('sqs:'));
      for (const name of ['send', 'account', 'snsHttps', 'ingest', 'domains', 'verifyDomains', 'dispatch'] as const) expect(sqs(name)).toEqual(expect.arrayContaining(['sqs:SendMessage']));
      expect(sqs('deliver')).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
      expect(sqs('deliver')).not.toContain('sqs:SendMessage');
      for (const name of ['account', 'snsHttps', 'ingest', 'domains'] as const) expect(sqs(name)).not.toContain('sqs:ReceiveMessage');
    });

    it('lets send get, put and delete objects under both prefixes, dispatch only get scheduled content, and no other function touch the bucket', () => {
      const s3 = (name: SesameFunctionName) => statementsOf(stack, template, name).filter((st) => actionsOf([st]).some((a) => a.startsWith('s3:')));
      const objects = (...prefixes: string[]) => prefixes.map((p) => JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(stack, stack.content.bucket), 'Arn'] }, `/${p}`]] }));
      for (const name of ALL.filter((n) => n !== 'send' && n !== 'dispatch')) expect([name, s3(name)]).toEqual([name, []]);
      const [statement, ...more] = s3('send');
      expect(more).toEqual([]);
      expect(actionsOf([statement!]).sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
      expect(resourcesOf(statement!).map((r) => JSON.stringify(r))).toEqual(objects('emails/*', 'scheduled/*'));
      const [read, ...others] = s3('dispatch');
      expect(others).toEqual([]);
      expect(actionsOf([read!])).toEqual(['s3:GetObject']);
      expect(resourcesOf(read!).map((r) => JSON.stringify(r))).toEqual(objects('scheduled/*'));
    });

    it('lets only account and deliver read the signing-secrets key', () => {
      const readers = ALL.filter((name) => actionsOf(statementsOf(stack, template, name)).includes('secretsmanager:GetSecretValue'));
      expect(readers.sort()).toEqual(['account', 'deliver']);
    });
  });

  describe('signing-secrets key', () => {
    it('is a generated 64-hex-character (32-byte) value, retained with the table', () => {
      template.hasResource('AWS::SecretsManager::Secret', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          GenerateSecretString: Match.objectLike({ PasswordLength: 64, ExcludeUppercase: true, ExcludePunctuation: true, ExcludeCharacters: 'ghijklmnopqrstuvwxyz' }),
        }),
      });
      template.resourcePropertiesCountIs('AWS::SecretsManager::RotationSchedule', {}, 0);
    });
  });

  describe('dead-letter queues', () => {
    it('each have a depth alarm', () => {
      const dlqs = [stack.events.subscriptionDeadLetterQueue, stack.events.ingestFailureQueue, stack.webhooks.deadLetterQueue, stack.scheduler.deadLetterQueue];
      for (const dlq of dlqs) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, dlq.queue), 'QueueName'] } }],
          Threshold: 1,
        });
      }
      // Every queue that is not the webhook or the dispatch queue is a DLQ, and every DLQ has an alarm.
      const queues = Object.keys(resources(template, 'AWS::SQS::Queue'));
      expect(queues.sort()).toEqual([...dlqs.map((d) => logicalId(stack, d.queue)), logicalId(stack, stack.webhooks.queue), logicalId(stack, stack.scheduler.queue)].sort());
    });

    it("tells, in the dispatch DLQ's alarm, that dlq redrive moves it back and which variable names it", () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, stack.scheduler.deadLetterQueue.queue), 'QueueName'] } }],
        AlarmDescription: Match.stringLikeRegexp('scheduled emails .*npx sesame dlq redrive \\(SESAME_DISPATCH_DLQ_URL names this queue\\)'),
      });
    });
  });

  it('wires the ingest function (not another) to the events topic', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: topicRef,
      Endpoint: { 'Fn::GetAtt': [functionLogicalId(stack, 'ingest'), 'Arn'] },
    });
  });

  it('creates the subscription only after the permission that lets SNS invoke ingest (SES\'s validation message at deploy time)', () => {
    const [subscription] = Object.values(resources(template, 'AWS::SNS::Subscription'));
    const permissions = Object.entries(resources(template, 'AWS::Lambda::Permission'))
      .filter(([, p]) => p.Properties?.Principal === 'sns.amazonaws.com')
      .map(([id]) => id);
    expect(permissions).toHaveLength(1);
    expect(subscription!.DependsOn).toEqual(expect.arrayContaining(permissions));
  });

  it('outputs the API URL without a trailing slash (clients append paths that start with one)', () => {
    // The API's ApiEndpoint attribute is https://<id>.execute-api.<region>.amazonaws.com, without a path;
    // the $default stage's URL would end in '/'.
    expect(template.toJSON().Outputs.ApiUrl.Value).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.api.httpApi), 'ApiEndpoint'] });
  });

  it('outputs the API URL, table name, topic ARN, queue URL and configuration set prefix', () => {
    for (const output of ['ApiUrl', 'TableName', 'EventsTopicArn', 'WebhookQueueUrl', 'ConfigurationSetPrefix']) template.hasOutput(output, {});
    template.hasOutput('ContentBucketName', { Value: contentRef });
    template.hasOutput('ConfigurationSetPrefix', { Value: 'sesame' });
    template.hasOutput('TableName', { Value: tableRef });
  });

  it('outputs the URL of each dead-letter queue, for npx sesame dlq redrive', () => {
    template.hasOutput('EventsDlqUrl', { Value: ref(stack.events.subscriptionDeadLetterQueue.queue) });
    template.hasOutput('IngestFailureDlqUrl', { Value: ref(stack.events.ingestFailureQueue.queue) });
    template.hasOutput('WebhookDlqUrl', { Value: ref(stack.webhooks.deadLetterQueue.queue) });
    template.hasOutput('DispatchDlqUrl', { Value: ref(stack.scheduler.deadLetterQueue.queue), Description: Match.stringLikeRegexp('^SESAME_DISPATCH_DLQ_URL') });
  });

  it('passes the cdk-nag AwsSolutions checks, every exception acknowledged with a reason', () => {
    const report = new AwsSolutionsChecks(stack.node.root).validateScope(stack);
    expect(report.violations).toEqual([]);
  });
});
