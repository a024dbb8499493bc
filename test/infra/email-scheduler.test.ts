import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { EmailScheduler, scheduleGroupName } from '../../lib/email-scheduler';
import { SesameFunction } from '../../lib/sesame-function';
import { logicalId, minimalStack } from './helpers';

describe('EmailScheduler', () => {
  const stack = minimalStack();
  const dispatch = new SesameFunction(stack, 'Dispatch', { entryDir: 'dispatch', timeout: Duration.seconds(30) });
  const send = new SesameFunction(stack, 'Send', { entryDir: 'send' });
  const scheduler = new EmailScheduler(stack, 'Scheduler', { dispatch });
  send.bindScheduler(scheduler);
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const queueId = logicalId(stack, scheduler.queue);
  const dlqId = logicalId(stack, scheduler.deadLetterQueue.queue);
  const roleId = logicalId(stack, scheduler.role);
  const groupId = logicalId(stack, scheduler.group);
  const policiesOf = (roleLogicalId: string) => Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[]);
  const actions = (s: { Action: string | string[] }) => [s.Action].flat();

  it("makes one schedule group, named after the stack", () => {
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    expect(json.Resources[groupId].Properties.Name).toBe(scheduleGroupName(stack.stackName));
    expect(scheduleGroupName('x'.repeat(100)).length).toBeLessThanOrEqual(64);
  });

  it('drains the dispatch queue into dispatch with a maximum concurrency and partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: logicalId(stack, dispatch.fn) },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(() => new EmailScheduler(minimalStack(), 'S', { dispatch: new SesameFunction(minimalStack(), 'D', { entryDir: 'dispatch' }), maxConcurrency: 1 })).toThrow(/maxConcurrency/);
  });

  it('keeps what dispatch cannot process in a DLQ, after 20 receives', () => {
    expect(json.Resources[queueId].Properties).toEqual(expect.objectContaining({
      SqsManagedSseEnabled: true, VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 20 },
    }));
  });

  it("lets the schedules' role, assumed by the scheduler for this account's group only, send to the dispatch queue and nothing else", () => {
    const trust = json.Resources[roleId].Properties.AssumeRolePolicyDocument.Statement[0];
    expect(trust.Principal).toEqual({ Service: 'scheduler.amazonaws.com' });
    expect(trust.Condition.StringEquals).toEqual({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } });
    expect(JSON.stringify(trust.Condition.ArnLike)).toContain(':schedule/');
    const statements = policiesOf(roleId);
    expect(statements).toEqual([expect.objectContaining({ Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } })]);
  });

  it('lets send manage schedules of its group only, and pass the role to the scheduler only', () => {
    const statements = policiesOf(logicalId(stack, send.fn.role!));
    const scheduling = statements.filter((s) => actions(s).some((a) => a.startsWith('scheduler:')));
    expect(scheduling.flatMap(actions).sort()).toEqual(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'scheduler:UpdateSchedule']);
    for (const s of scheduling) expect(JSON.stringify(s.Resource)).toContain(`:schedule/${scheduleGroupName(stack.stackName)}/*"`);
    const pass = statements.filter((s) => actions(s).includes('iam:PassRole'));
    expect(pass).toEqual([expect.objectContaining({
      Resource: { 'Fn::GetAtt': [roleId, 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    })]);
  });

  it('passes the cdk-nag AwsSolutions checks', () => {
    expect(new AwsSolutionsChecks(stack.node.root).validateScope(stack).violations).toEqual([]);
  });
});
