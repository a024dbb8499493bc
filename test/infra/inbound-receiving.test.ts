/**
 * SES receiving in the stack, opt-in (`receiving: true`): Sesame's own receipt rule set (never
 * activated by the stack), one catch-all rule (scan on, S3 action under inbound/, then the inbound
 * function invoked asynchronously), SES's write and invoke limited to this account and this rule,
 * the on-failure DLQ with its alarm, the inbound function's least grants, cdk-nag clean.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RECEIPT_RULE_NAME } from '../../lib/inbound-receiving';
import { logicalId, resources, sesameStack } from './helpers';


describe('without receiving (the default)', () => {
  const { stack, template } = sesameStack();

  it('has no receipt rule set, no inbound function, and the send function reads no received content', () => {
    template.resourceCountIs('AWS::SES::ReceiptRuleSet', 0);
    template.resourceCountIs('AWS::SES::ReceiptRule', 0);
    expect(stack.functions.inbound).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toMatch(/received\/\*|inbound\/\*/);
  });
});

describe('with receiving', () => {
  const { stack, template } = sesameStack({ receiving: true, env: { account: '123456789012', region: 'us-east-1' } });
  const inboundId = logicalId(stack, stack.functions.inbound!.fn);
  const contentId = logicalId(stack, stack.content.bucket);
  const ruleArn = `arn:aws:ses:us-east-1:123456789012:receipt-rule-set/Sesame-inbound:receipt-rule/${RECEIPT_RULE_NAME}`;

  it('makes Sesame\'s own rule set, and nothing in the template activates a rule set', () => {
    template.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'Sesame-inbound' });
    expect(JSON.stringify(template.toJSON())).not.toMatch(/SetActiveReceiptRuleSet/);
    template.hasOutput('ReceiptRuleSetName', { Value: 'Sesame-inbound' });
  });

  it('has one catch-all rule: scanning on, the raw message to inbound/, then the inbound function, asynchronously', () => {
    template.resourceCountIs('AWS::SES::ReceiptRule', 1);
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      RuleSetName: { Ref: Match.anyValue() },
      Rule: {
        Name: RECEIPT_RULE_NAME, Enabled: true, ScanEnabled: true, Recipients: Match.absent(),
        Actions: [
          { S3Action: { BucketName: { Ref: contentId }, ObjectKeyPrefix: 'inbound/' } },
          { LambdaAction: { FunctionArn: { 'Fn::GetAtt': [inboundId, 'Arn'] }, InvocationType: 'Event' } },
        ],
      },
    });
  });

  it('lets SES write the raw messages and invoke the function only for this account and this rule', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: contentId },
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow', Action: 's3:PutObject', Principal: { Service: 'ses.amazonaws.com' },
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [contentId, 'Arn'] }, '/inbound/*']] },
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' }, ArnLike: { 'aws:SourceArn': ruleArn } },
        })]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [inboundId, 'Arn'] }, Principal: 'ses.amazonaws.com', SourceAccount: '123456789012', SourceArn: ruleArn,
    });
    // Nothing else may invoke it.
    const permissions = Object.values(resources(template, 'AWS::Lambda::Permission')).filter((p) => JSON.stringify(p.Properties?.FunctionName).includes(inboundId));
    expect(permissions).toHaveLength(1);
  });

  it('makes the rule after the bucket policy and the permission (SES checks both when the rule is made)', () => {
    const [rule] = Object.values(resources(template, 'AWS::SES::ReceiptRule'));
    const policyId = logicalId(stack, stack.content.bucket.policy!);
    expect(rule!.DependsOn).toEqual(expect.arrayContaining([policyId, expect.stringMatching(/SesInvokesInbound/)]));
  });

  it('parks receipt events the function failed on in a DLQ that an alarm watches', () => {
    const dlqId = logicalId(stack, stack.receiving!.failureQueue.queue);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: inboundId }, MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      // The alarm tells the truth: dlq redrive handles this queue, through the variable the admin line sets.
      AlarmDescription: Match.stringLikeRegexp('SES receipt events .*npx sesame dlq redrive \\(SESAME_INBOUND_DLQ_URL names this queue\\)'),
    });
  });

  it('lets the operator redrive the inbound DLQ: drain it, read and delete raw messages, write received content', () => {
    const operatorId = logicalId(stack, stack.operatorPolicy.policy);
    const statements = (resources(template, 'AWS::IAM::ManagedPolicy')[operatorId]!.Properties!.PolicyDocument.Statement) as { Sid: string; Action: string | string[]; Resource: unknown }[];
    const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
    expect(JSON.stringify(bySid.DrainDeadLetterQueues!.Resource)).toContain(logicalId(stack, stack.receiving!.failureQueue.queue));
    expect([[bySid.RedriveRawMessages!.Action].flat().sort(), JSON.stringify(bySid.RedriveRawMessages!.Resource)]).toEqual([['s3:DeleteObject', 's3:GetObject'], expect.stringContaining('/inbound/*')]);
    expect([[bySid.RedriveReceivedContent!.Action].flat(), JSON.stringify(bySid.RedriveReceivedContent!.Resource)]).toEqual([['s3:PutObject'], expect.stringContaining('/received/*')]);
  });

  it('gives the inbound function only what it uses: raw messages read and deleted, received content written, its table items, the webhook queue', () => {
    const roleId = logicalId(stack, stack.functions.inbound!.fn.role as never);
    const statements = Object.values(resources(template, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties?.Roles).includes(roleId))
      .flatMap((p) => p.Properties?.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
    expect(s3.map((s) => [[s.Action].flat().sort(), JSON.stringify(s.Resource).match(/\/(inbound|received)\/\*/)?.[1]])).toEqual([
      [['s3:DeleteObject', 's3:GetObject'], 'inbound'],
      [['s3:PutObject'], 'received'],
    ]);
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']);
    expect(actions.filter((a) => a.startsWith('sqs:'))).toEqual(expect.arrayContaining(['sqs:SendMessage']));
  });

  it('lets the send function read received content (bodies, inline images, presigned URLs) and nothing more of it', () => {
    const roleId = logicalId(stack, stack.functions.send.fn.role as never);
    const statements = Object.values(resources(template, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties?.Roles).includes(roleId))
      .flatMap((p) => p.Properties?.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
    const reading = statements.filter((s) => /\/(inbound|received)\/\*/.test(JSON.stringify(s.Resource)));
    expect(reading.map((s) => s.Action)).toEqual(['s3:GetObject']);
  });

  it('names its rule set for doctor and grants the operator DescribeActiveReceiptRuleSet', () => {
    const output = JSON.stringify(template.findOutputs('AdminEnvironment'));
    expect(output).toContain('SESAME_RECEIPT_RULE_SET=Sesame-inbound');
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'ses:DescribeActiveReceiptRuleSet', Resource: '*' })]) },
    });
  });

  it('passes the cdk-nag AwsSolutions checks', () => {
    const report = new AwsSolutionsChecks(stack.node.root).validateScope(stack);
    expect(report.violations).toEqual([]);
  });
});
