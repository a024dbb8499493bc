import { readDoctorConfig } from '../../lambdas/admin/doctor-config';
import { readDlqConfig } from '../../lambdas/core/config';
import { functionLogicalId, logicalId, sesameStack } from './helpers';

/** The output's Fn::Join with each intrinsic written as `{Ref:X}` or `{GetAtt:X.Y}`, parsed into its NAME=value pairs. */
function adminLine(output: { Value: unknown }): Record<string, string> {
  const value = output.Value as { 'Fn::Join': [string, unknown[]] };
  const text = value['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const p = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      if (p.Ref) return `{Ref:${p.Ref}}`;
      if (p['Fn::GetAtt']) return `{GetAtt:${p['Fn::GetAtt'].join('.')}}`;
      throw new Error(`unexpected part ${JSON.stringify(part)}`);
    })
    .join(value['Fn::Join'][0]);
  return Object.fromEntries(text.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

describe('AdminEnvironment', () => {
  const { stack, template } = sesameStack();
  const outputs = template.findOutputs('AdminEnvironment') as Record<string, { Value: unknown }>;

  it('outputs one line naming the resources that npx sesame reads, each from the stack', () => {
    // Act
    const line = adminLine(outputs.AdminEnvironment!);

    // Assess
    const ref = (construct: Parameters<typeof logicalId>[1]) => `{Ref:${logicalId(stack, construct)}}`;
    expect(line).toEqual({
      AWS_REGION: '{Ref:AWS::Region}',
      SESAME_TABLE_NAME: ref(stack.table.table),
      SESAME_CONFIGURATION_SET: 'sesame',
      SESAME_STACK_NAME: stack.stackName,
      SESAME_EVENTS_TOPIC_ARN: ref(stack.events.topic),
      SESAME_INGEST_FUNCTION_ARN: `{GetAtt:${functionLogicalId(stack, 'ingest')}.Arn}`,
      SESAME_EVENTS_DLQ_URL: ref(stack.events.subscriptionDeadLetterQueue.queue),
      SESAME_INGEST_FAILURE_DLQ_URL: ref(stack.events.ingestFailureQueue.queue),
      SESAME_WEBHOOK_QUEUE_URL: ref(stack.webhooks.queue),
      SESAME_WEBHOOK_DLQ_URL: ref(stack.webhooks.deadLetterQueue.queue),
      SESAME_SECRETS_KEY_ARN: ref(stack.secretsKey.secret),
      SESAME_ROUTE53_ZONES: '',
      SESAME_RECEIPT_RULE_SET: '',
      SESAME_INBOUND_DLQ_URL: '',
      SESAME_CONTENT_BUCKET: '',
      SESAME_DISPATCH_QUEUE_URL: ref(stack.scheduler.queue),
      SESAME_DISPATCH_DLQ_URL: ref(stack.scheduler.deadLetterQueue.queue),
    });
  });

  it('names the dispatch DLQ and the dispatch queue, for doctor and dlq redrive', () => {
    const line = adminLine(outputs.AdminEnvironment!);
    expect(readDlqConfig(line)).toMatchObject({ dispatchDlqUrl: line.SESAME_DISPATCH_DLQ_URL, dispatchQueueUrl: line.SESAME_DISPATCH_QUEUE_URL });
    expect(readDoctorConfig(line).dispatchDlqUrl).toBe(line.SESAME_DISPATCH_DLQ_URL);
  });

  it('names the inbound DLQ and the content bucket when receiving is on, for doctor and dlq redrive', () => {
    // Act
    const receiving = sesameStack({ receiving: true });
    const line = adminLine((receiving.template.findOutputs('AdminEnvironment') as Record<string, { Value: unknown }>).AdminEnvironment!);

    // Assess
    expect(line.SESAME_INBOUND_DLQ_URL).toBe(`{Ref:${logicalId(receiving.stack, receiving.stack.receiving!.failureQueue.queue)}}`);
    expect(line.SESAME_CONTENT_BUCKET).toBe(`{Ref:${logicalId(receiving.stack, receiving.stack.content.bucket)}}`);
    expect(readDoctorConfig(line)).toMatchObject({ inboundDlqUrl: line.SESAME_INBOUND_DLQ_URL, receiptRuleSet: receiving.stack.receiving!.ruleSetName });
    expect(readDlqConfig(line).inboundDlqUrl).toBe(line.SESAME_INBOUND_DLQ_URL);
  });

  it('names the Route 53 zones the stack was given', () => {
    const zoned = sesameStack({ route53Zones: [{ id: 'Z0SESAMETEST0001', name: 'zone-test.com' }] });
    const line = adminLine((zoned.template.findOutputs('AdminEnvironment') as Record<string, { Value: unknown }>).AdminEnvironment!);
    expect(line.SESAME_ROUTE53_ZONES).toBe('Z0SESAMETEST0001:zone-test.com');
    expect(readDoctorConfig(line).route53Zones).toBe('Z0SESAMETEST0001:zone-test.com');
  });

  it('gives doctor every variable it reads against a deployed stack', () => {
    // Act
    const config = readDoctorConfig(adminLine(outputs.AdminEnvironment!));

    // Assess
    expect(Object.keys(config).sort()).toEqual(
      ['local', 'tableName', 'configurationSetPrefix', 'eventsTopicArn', 'ingestFunctionArn', 'eventsDlqUrl', 'ingestFailureDlqUrl', 'webhookDlqUrl', 'secretsKeyArn', 'dispatchDlqUrl'].sort(),
    );
    expect(config.local).toBe(false);
  });
});
