import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DomainVerifier } from '../../lib/domain-verifier';
import { SesameFunction } from '../../lib/sesame-function';
import { logicalId, minimalStack } from './helpers';

function build(rate?: Duration) {
  const stack = minimalStack();
  const verifier = new SesameFunction(stack, 'Verifier', { entryDir: 'verify-domains' });
  const construct = new DomainVerifier(stack, 'DomainVerifier', { verifier, ...(rate ? { rate } : {}) });
  return { stack, verifier, construct, template: Template.fromStack(stack) };
}

describe('DomainVerifier', () => {
  it('invokes the verifier every minute, without retrying a failed run (the next run takes its domains)', () => {
    const { stack, verifier, template } = build();
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack, verifier.fn), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com' });
  });

  it('takes a rate between 1 and 5 minutes', () => {
    build(Duration.minutes(5)).template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    expect(() => build(Duration.seconds(30))).toThrow(/between 1 and 5 minutes/);
    expect(() => build(Duration.minutes(10))).toThrow(/between 1 and 5 minutes/);
  });
});
