import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SesameFunction } from '../../lib/sesame-function';
import { WebhookQueue } from '../../lib/webhook-queue';
import { logicalId, minimalStack } from './helpers';

describe('WebhookQueue', () => {
  const stack = minimalStack();
  const deliver = new SesameFunction(stack, 'Deliver', { entryDir: 'deliver', timeout: Duration.seconds(30) });
  const webhooks = new WebhookQueue(stack, 'Webhooks', { deliver });
  const template = Template.fromStack(stack);
  const queueId = logicalId(stack, webhooks.queue);
  const dlqId = logicalId(stack, webhooks.deadLetterQueue.queue);
  const props = (id: string) => template.toJSON().Resources[id].Properties;

  it('keeps deliveries 14 days, encrypted, and redrives to the DLQ after 12 receives', () => {
    expect(props(queueId)).toEqual(
      expect.objectContaining({
        MessageRetentionPeriod: 1209600,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 12 },
      }),
    );
  });

  it('hides a batch for six times the deliver timeout plus the batching window, so an in-flight batch is not received twice', () => {
    expect(props(queueId).VisibilityTimeout).toBe(181);
  });

  it('has a 14-day DLQ', () => {
    expect(props(dlqId)).toEqual(expect.objectContaining({ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true }));
  });

  it('refuses requests without TLS on both queues', () => {
    for (const id of [queueId, dlqId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('feeds deliver by batches of 10 gathered for up to a second, with partial batch failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: logicalId(stack, deliver.fn) },
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('takes the batching window as a prop: 0 turns it off, more than 300 s is refused', () => {
    const other = minimalStack();
    const fn = new SesameFunction(other, 'Deliver', { entryDir: 'deliver', timeout: Duration.seconds(30) });
    new WebhookQueue(other, 'Webhooks', { deliver: fn, maxBatchingWindow: Duration.seconds(0) });
    const mapping = Object.values(Template.fromStack(other).findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;
    expect(mapping.MaximumBatchingWindowInSeconds).toBeUndefined();
    const third = minimalStack();
    const fn3 = new SesameFunction(third, 'Deliver', { entryDir: 'deliver' });
    expect(() => new WebhookQueue(third, 'Webhooks', { deliver: fn3, maxBatchingWindow: Duration.seconds(301) })).toThrow('at most 300');
  });

  it('caps deliver\'s concurrency (10 by default, or as set), so a webhook burst cannot starve the API functions', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 10 } });
    const other = minimalStack();
    const fn = new SesameFunction(other, 'Deliver', { entryDir: 'deliver', timeout: Duration.seconds(30) });
    new WebhookQueue(other, 'Webhooks', { deliver: fn, maxConcurrency: 3 });
    Template.fromStack(other).hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 3 } });
    expect(() => new WebhookQueue(minimalStack(), 'Webhooks', { deliver: fn, maxConcurrency: 1 })).toThrow(/maxConcurrency/);
  });

  it('lets deliver change visibility (the retry schedule) and delete messages', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']),
            Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
          }),
        ]),
      },
    });
  });
});
