import { Match, Template } from 'aws-cdk-lib/assertions';
import { CONFIGURATION_SET_CHOICES, configurationSetName } from '../../lambdas/core/routes';
import { SesEvents } from '../../lib/ses-events';
import { SesameFunction } from '../../lib/sesame-function';
import { logicalId, minimalStack } from './helpers';

const BASE_TYPES = ['send', 'reject', 'bounce', 'complaint', 'delivery', 'deliveryDelay', 'renderingFailure', 'subscription'];

function build(configurationSetPrefix?: string) {
  const stack = minimalStack();
  const ingest = new SesameFunction(stack, 'Ingest', { entryDir: 'ingest' });
  const events = new SesEvents(stack, 'Events', { ingest, configurationSetPrefix });
  return { stack, ingest, events, template: Template.fromStack(stack) };
}

describe('SesEvents', () => {
  const { stack, ingest, events, template } = build();
  const topicId = logicalId(stack, events.topic);
  const ingestId = logicalId(stack, ingest.fn);

  it('creates one configuration set per tracking and TLS choice, named from the default prefix (the stack name, here `Test`, in lower case), requiring TLS where enforced', () => {
    template.resourceCountIs('AWS::SES::ConfigurationSet', 8);
    for (const tracking of CONFIGURATION_SET_CHOICES) {
      template.hasResourceProperties('AWS::SES::ConfigurationSet', {
        Name: configurationSetName('test', tracking),
        DeliveryOptions: { TlsPolicy: tracking.tls === 'enforced' ? 'REQUIRE' : 'OPTIONAL' },
        SuppressionOptions: Match.absent(),
        ReputationOptions: { ReputationMetricsEnabled: true },
        SendingOptions: { SendingEnabled: true },
      });
    }
  });

  it('names the configuration sets from the prefix prop', () => {
    const custom = build('acme').template;
    for (const tracking of CONFIGURATION_SET_CHOICES) {
      custom.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: configurationSetName('acme', tracking) });
    }
  });

  it('publishes every event type to the topic, with OPEN and CLICK only where tracking asks for them', () => {
    template.resourceCountIs('AWS::SES::ConfigurationSetEventDestination', CONFIGURATION_SET_CHOICES.length);
    const setIds = events.configurationSets.map((set) => logicalId(stack, set));
    CONFIGURATION_SET_CHOICES.forEach((tracking, i) => {
      const expected = [...BASE_TYPES, ...(tracking.open ? ['open'] : []), ...(tracking.click ? ['click'] : [])];
      template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
        ConfigurationSetName: { Ref: setIds[i] },
        EventDestination: {
          Enabled: true,
          MatchingEventTypes: Match.arrayEquals(expected),
          SnsDestination: { TopicARN: { Ref: topicId } },
        },
      });
    });
  });

  it('lets SES publish to the topic and refuses publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'ses.amazonaws.com' } }),
        ]),
      },
    });
  });

  it('subscribes the ingest function directly to the topic with a dead-letter queue', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: topicId },
      Endpoint: { 'Fn::GetAtt': [ingestId, 'Arn'] },
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack, events.subscriptionDeadLetterQueue.queue), 'Arn'] } },
    });
  });

  it('lets only the SNS service, for this topic, invoke the ingest function', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [ingestId, 'Arn'] },
      Principal: 'sns.amazonaws.com',
      SourceArn: { Ref: topicId },
    });
  });

  it('retries a failed ingest invocation twice, then sends it to the on-failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ingestId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack, events.ingestFailureQueue.queue), 'Arn'] } } },
    });
  });

  it('tells ingest which topic it accepts', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { SESAME_EVENTS_TOPIC_ARN: { Ref: topicId } } },
    });
  });

  it('keeps parked events 14 days in TLS-only, encrypted queues', () => {
    for (const dlq of [events.subscriptionDeadLetterQueue, events.ingestFailureQueue]) {
      expect(template.toJSON().Resources[logicalId(stack, dlq.queue)].Properties).toEqual(
        expect.objectContaining({ MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true }),
      );
    }
    template.resourcePropertiesCountIs(
      'AWS::SQS::QueuePolicy',
      { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) } },
      2,
    );
  });
});
