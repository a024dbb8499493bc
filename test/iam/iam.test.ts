/**
 * The offline IAM evaluation itself (the check over every recorded call runs in jest's
 * globalTeardown, test/support/global-teardown.ts): it bites when a grant is missing, the identity
 * conditions keep Sesame off identities it did not create, and the unused-grant list sees grants
 * no call uses.
 */
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { type Caller, describeInput, type RecordedCall } from '../../lambdas/core/aws-calls';
import { SesIdentities } from '../../lambdas/core/adapters/ses-identities';
import { LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { ACKNOWLEDGED_UNUSED } from './acknowledged';
import { authorizationsByCaller, denials, formatDenials, grantsOf, unusedGrants } from './evaluate';
import { ACCOUNT, REGION, type SynthesizedStack, synthesizeForIam } from './template';

jest.setTimeout(120_000);

let stack: SynthesizedStack;
beforeAll(() => {
  stack = synthesizeForIam();
});

const identity = (name: string) => `arn:aws:ses:${REGION}:${ACCOUNT}:identity/${name}`;

/** The CreateEmailIdentity request the domains function makes, as the recorder sees it. */
async function recordedCreate(domain: string): Promise<RecordedCall> {
  let input: Record<string, unknown> = {};
  const client = { send: async (command: { input: Record<string, unknown> }) => ((input = command.input), { DkimAttributes: {} }) };
  await new SesIdentities(client as unknown as SESv2Client, LOCAL_STACK_NAME).create(domain, 'tenant-1');
  return { caller: 'domains', service: 'ses', operation: 'CreateEmailIdentity', ...describeInput(input) };
}

const call = (caller: Caller, service: string, operation: string, input: Record<string, unknown>): RecordedCall => ({ caller, service, operation, ...describeInput(input) });

/** The stack with one action taken out of one principal's policies. */
function without(caller: Caller, action: string): SynthesizedStack {
  const principal = stack.principals[caller];
  const policies = principal.policies.map((p) => ({
    ...p,
    document: {
      ...p.document,
      Statement: p.document.Statement.map((s) => ({ ...s, Action: (Array.isArray(s.Action) ? s.Action : [s.Action]).filter((a) => a !== action) }))
        .filter((s) => s.Action.length > 0),
    },
  }));
  return { ...stack, principals: { ...stack.principals, [caller]: { ...principal, policies } } };
}

describe('the check bites', () => {
  it('allows the domains function to create a tagged identity, and names function, action and resource once ses:TagResource is dropped', async () => {
    // Prepare
    const calls = [await recordedCreate('bites.test')];
    expect(calls[0]!.tags).toEqual({ sesame_tenant_id: 'tenant-1', sesame_stack: LOCAL_STACK_NAME });
    // Act
    const granted = await denials(authorizationsByCaller(calls, stack), stack);
    const dropped = without('domains', 'ses:TagResource');
    const refused = await denials(authorizationsByCaller(calls, dropped), dropped);
    // Assess
    expect(granted).toEqual([]);
    expect(refused).toEqual([
      { caller: 'domains', action: 'ses:TagResource', resource: identity('bites.test'), result: 'ImplicitlyDenied', from: 'CreateEmailIdentity (tags on create)' },
    ]);
    expect(formatDenials(refused)).toContain(`domains: ses:TagResource on ${identity('bites.test')}`);
  });

  it('names a send whose configuration set is not granted', async () => {
    const send = call('send', 'ses', 'SendEmail', { FromEmailAddress: 'A <a@acme.test>', ConfigurationSetName: 'sesame-unknown' });
    const refused = await denials(authorizationsByCaller([send], stack), stack);
    expect(refused.map((d) => [d.caller, d.action, d.resource])).toEqual([
      ['send', 'ses:SendEmail', `arn:aws:ses:${REGION}:${ACCOUNT}:configuration-set/sesame-unknown`],
    ]);
  });

  it('evaluates a query of an index against the index ARN', async () => {
    const query = call('deliver', 'dynamodb', 'Query', { TableName: 'any', IndexName: 'gsi1' });
    const refused = await denials(authorizationsByCaller([query], stack), stack);
    expect(refused.map((d) => [d.caller, d.action, d.resource])).toEqual([['deliver', 'dynamodb:Query', `${stack.resources.tableArn}/index/gsi1`]]);
  });
});

describe('the content bucket', () => {
  const object = (key: string) => ({ Bucket: 'sesame-content', Key: key });

  it('lets send put, presign (get) and delete attachments under the sent prefix, and no other function', async () => {
    const key = 'emails/tenant-1/0193c9d2-0000-7000-8000-000000000001/attachments/a1';
    const calls = ['PutObject', 'GetObject', 'DeleteObject'].map((op) => call('send', 's3', op, object(key)));
    expect(await denials(authorizationsByCaller(calls, stack), stack)).toEqual([]);
    const ingest = await denials(authorizationsByCaller([call('ingest', 's3', 'GetObject', object(key))], stack), stack);
    expect(ingest.map((d) => [d.caller, d.action, d.resource])).toEqual([['ingest', 's3:GetObject', `${stack.resources.contentBucketArn}/${key}`]]);
  });

  it('lets dispatch read scheduled content only: no write, nothing under the sent prefix', async () => {
    const key = 'scheduled/tenant-1/0193c9d2-0000-7000-8000-000000000001/attachments/a1';
    expect(await denials(authorizationsByCaller([call('dispatch', 's3', 'GetObject', object(key)), call('send', 's3', 'PutObject', object(key))], stack), stack)).toEqual([]);
    const refused = await denials(authorizationsByCaller([
      call('dispatch', 's3', 'PutObject', object(key)),
      call('dispatch', 's3', 'DeleteObject', object(key)),
      call('dispatch', 's3', 'GetObject', object('emails/t/e/attachments/a')),
    ], stack), stack);
    expect(refused.map((d) => d.action)).toEqual(['s3:PutObject', 's3:DeleteObject', 's3:GetObject']);
  });

  it('refuses send an object outside the content prefixes, and names a dropped s3:PutObject', async () => {
    const outside = await denials(authorizationsByCaller(['elsewhere/x', 'scheduledx/t/e/attachments/a'].map((k) => call('send', 's3', 'PutObject', object(k))), stack), stack);
    expect(outside.map((d) => d.action)).toEqual(['s3:PutObject', 's3:PutObject']);
    const dropped = without('send', 's3:PutObject');
    const put = call('send', 's3', 'PutObject', object('emails/t/e/attachments/a'));
    expect((await denials(authorizationsByCaller([put], dropped), dropped)).map((d) => d.action)).toEqual(['s3:PutObject']);
  });
});

describe('identities Sesame did not create', () => {
  const attempt = async (operation: string, context: Record<string, string | string[]>) => {
    const principal = stack.principals.domains;
    const { runSimulation } = await import('@cloud-copilot/iam-simulate');
    const res = await runSimulation(
      {
        request: { principal: principal.arn, action: `ses:${operation}`, resource: { resource: identity('manual.test'), accountId: ACCOUNT }, contextVariables: context },
        identityPolicies: principal.policies.map((p) => ({ name: p.name, policy: p.document })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      { simulationMode: 'Strict' },
    );
    return res.resultType === 'error' ? res.errors.message : res.overallResult;
  };

  it.each(['DeleteEmailIdentity', 'PutEmailIdentityMailFromAttributes', 'PutEmailIdentityFeedbackAttributes'])(
    'may %s only an identity tagged with this stack',
    async (operation) => {
      expect(await attempt(operation, { 'aws:ResourceTag/sesame_stack': LOCAL_STACK_NAME })).toBe('Allowed');
      expect(await attempt(operation, { 'aws:ResourceTag/sesame_stack': 'another-sesame' })).toBe('ImplicitlyDenied');
      expect(await attempt(operation, {})).toBe('ImplicitlyDenied');
    },
  );

  it.each(['CreateEmailIdentity', 'TagResource'])('may %s only with Sesame\'s two tags, naming this stack', async (operation) => {
    const tags = (t: Record<string, string>) => ({ ...Object.fromEntries(Object.entries(t).map(([k, v]) => [`aws:RequestTag/${k}`, v])), 'aws:TagKeys': Object.keys(t) });
    expect(await attempt(operation, tags({ sesame_tenant_id: 't', sesame_stack: LOCAL_STACK_NAME }))).toBe('Allowed');
    expect(await attempt(operation, tags({ sesame_tenant_id: 't', sesame_stack: 'another-sesame' }))).toBe('ImplicitlyDenied');
    expect(await attempt(operation, tags({ sesame_tenant_id: 't' }))).toBe('ImplicitlyDenied');
    expect(await attempt(operation, tags({ sesame_tenant_id: 't', sesame_stack: LOCAL_STACK_NAME, owner: 'x' }))).toBe('ImplicitlyDenied');
  });

  it('still reads any identity, so that a domain registered elsewhere is answered as taken', async () => {
    expect(await attempt('GetEmailIdentity', {})).toBe('Allowed');
  });

  it('tags with the stack name the function is configured with', () => {
    expect(stack.environment.domains!.SESAME_STACK_NAME).toBe(stack.resources.stackName);
    expect(stack.resources.stackName).toBe(LOCAL_STACK_NAME);
  });
});

describe('unused grants', () => {
  it('lists a grant no call uses, acknowledges what AWS services use by rule, and keeps hand acknowledgments apart', async () => {
    // Prepare: deliver's calls without its UpdateItem.
    const calls = [
      call('deliver', 'dynamodb', 'GetItem', { TableName: 't' }),
      call('deliver', 'dynamodb', 'PutItem', { TableName: 't' }),
      call('deliver', 'sqs', 'ChangeMessageVisibility', { QueueUrl: 'http://127.0.0.1/000000000000/q' }),
    ];
    // Act
    const report = await unusedGrants(authorizationsByCaller(calls, stack), stack, ACKNOWLEDGED_UNUSED);
    // Assess
    const deliver = report.unacknowledged.filter((g) => g.caller === 'deliver').map((g) => [g.action, g.resource]);
    expect(deliver).toContainEqual(['dynamodb:UpdateItem', stack.resources.tableArn]);
    expect(deliver).not.toContainEqual(['dynamodb:GetItem', stack.resources.tableArn]);
    const webhookQueue = stack.resources.queues.SESAME_WEBHOOK_QUEUE_URL;
    expect(report.byRule.filter((g) => g.caller === 'deliver').map((g) => [g.action, g.resource])).toEqual(
      expect.arrayContaining([['sqs:ReceiveMessage', webhookQueue], ['sqs:DeleteMessage', webhookQueue]]),
    );
    expect(report.byRule.filter((g) => g.caller === 'ingest').map((g) => g.resource)).toEqual(
      expect.arrayContaining([stack.resources.queues.SESAME_INGEST_FAILURE_DLQ_URL]),
    );
    expect(report.acknowledged.map((g) => g.action)).toContain('sns:ListSubscriptionsByTopic');
    expect(report.unacknowledged.filter((g) => g.caller === 'admin').map((g) => g.action)).toContain('ses:GetAccount');
  });

  it('grants no function a Scan, BatchWriteItem, stream read, SendRawEmail or unused identity action; the admin tool a Scan only (tenants migrate)', () => {
    const actionsOf = (callers: readonly ('send' | 'domains' | 'account' | 'snsHttps' | 'ingest' | 'deliver' | 'dispatch' | 'admin')[]) => callers.flatMap((c) => grantsOf(stack.principals[c]).map((g) => g.action));
    const functions = actionsOf(['send', 'domains', 'account', 'snsHttps', 'ingest', 'deliver', 'dispatch']);
    const admin = actionsOf(['admin']);
    for (const never of ['dynamodb:Scan', 'dynamodb:BatchWriteItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'ses:SendRawEmail', 'ses:PutEmailIdentityDkimSigningAttributes', 'ses:PutEmailIdentityConfigurationSetAttributes']) {
      expect(functions).not.toContain(never);
      if (never !== 'dynamodb:Scan') expect(admin).not.toContain(never);
    }
  });
});
