import { Match, Template } from 'aws-cdk-lib/assertions';
import { DeadLetterQueue } from '../../lib/dead-letter-queue';
import { SesameAlarms } from '../../lib/sesame-alarms';
import { logicalId, minimalStack } from './helpers';

function build(props: { alarmEmail?: string; createTopic?: boolean } = {}) {
  const stack = minimalStack();
  const dlqs = [1, 2].map((i) => new DeadLetterQueue(stack, `Dlq${i}`, { purpose: `things ${i}` }));
  const alarms = new SesameAlarms(stack, 'Alarms', { deadLetterQueues: dlqs, ...props });
  return { stack, dlqs, alarms, template: Template.fromStack(stack) };
}

describe('SesameAlarms', () => {
  const { stack, dlqs, alarms, template } = build();
  const topicRef = { Ref: logicalId(stack, alarms.topic!) };

  it('alarms as soon as one message is visible in each dead-letter queue', () => {
    for (const dlq of dlqs) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, dlq.queue), 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    }
  });

  it('alarms on the SES bounce rate at 4% and complaint rate at 0.08%, below the levels AWS acts on', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES',
      MetricName: 'Reputation.BounceRate',
      Threshold: 0.04,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES',
      MetricName: 'Reputation.ComplaintRate',
      Threshold: 0.0008,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('notifies the alarm topic from every alarm, which refuses publishing without TLS', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', dlqs.length + 2);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: [topicRef], OKActions: [topicRef] }, dlqs.length + 2);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('subscribes an email address only when one is given', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    build({ alarmEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('can do without a topic', () => {
    const none = build({ createTopic: false }).template;
    none.resourceCountIs('AWS::SNS::Topic', 0);
    none.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { AlarmActions: Match.anyValue() }, 0);
  });
});
