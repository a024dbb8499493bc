import { sesameStack, logicalId, resources } from './helpers';

describe('OperatorPolicy', () => {
  const { stack, template } = sesameStack();
  const policyId = logicalId(stack, stack.operatorPolicy.policy);
  const statements = resources(template, 'AWS::IAM::ManagedPolicy')[policyId]!.Properties!.PolicyDocument.Statement as {
    Sid: string;
    Action: string | string[];
    Resource: unknown;
  }[];
  const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
  const arnOf = (construct: { node: unknown }) => ({ 'Fn::GetAtt': [logicalId(stack, construct as never), 'Arn'] });

  it('is a managed policy the stack outputs, attached to nobody: the operator attaches it to whoever runs npx sesame', () => {
    template.hasOutput('OperatorPolicyArn', { Value: { Ref: policyId } });
    const props = resources(template, 'AWS::IAM::ManagedPolicy')[policyId]!.Properties!;
    expect([props.Roles, props.Users, props.Groups]).toEqual([undefined, undefined, undefined]);
  });

  it('lets the admin tool drain the dead-letter queues and send only to the webhook and dispatch queues', () => {
    expect([bySid.DrainDeadLetterQueues!.Action].flat().sort()).toEqual(['sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage']);
    expect(bySid.DrainDeadLetterQueues!.Resource).toEqual(expect.arrayContaining([
      arnOf(stack.events.subscriptionDeadLetterQueue.queue),
      arnOf(stack.events.ingestFailureQueue.queue),
      arnOf(stack.webhooks.deadLetterQueue.queue),
      arnOf(stack.scheduler.deadLetterQueue.queue),
    ]));
    expect(bySid.DrainDeadLetterQueues!.Resource).toHaveLength(4);
    expect(bySid.WebhookQueue!.Resource).toEqual(arnOf(stack.webhooks.queue));
    // The dispatch DLQ's scheduled emails go back to the dispatch queue: sending to it, nothing else.
    expect(bySid.DispatchQueue).toMatchObject({ Action: 'sqs:SendMessage', Resource: arnOf(stack.scheduler.queue) });
    const sends = statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(sends.map((s) => s.Sid)).toEqual(['WebhookQueue', 'DispatchQueue']);
  });

  it('reads and writes table items, queries only the indexes, and scans only for tenants migrate', () => {
    expect([bySid.TableItems!.Action].flat().sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    expect(bySid.TableIndexes!.Action).toEqual('dynamodb:Query');
    expect(bySid.TenantsMigrate).toMatchObject({ Action: 'dynamodb:Scan', Resource: arnOf(stack.table.table) });
    const others = statements.filter((s) => s.Sid !== 'TenantsMigrate');
    expect(others.flatMap((s) => [s.Action].flat()).filter((a) => /Scan|BatchWrite|\*/.test(a))).toEqual([]);
  });

  it("acts on this stack's SES tenants only, and lists tenants (no resource type) on *", () => {
    const tenants = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:tenant/${stack.sesTenantPrefix}-*`]] };
    expect(bySid.SesTenants!.Resource).toEqual(tenants);
    expect(bySid.SesTenantReputationPolicy!.Resource).toEqual([tenants, { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':aws:reputation-policy/*']] }]);
    expect(bySid.SesListTenants).toMatchObject({ Action: 'ses:ListTenants', Resource: '*' });
  });
});
