/**
 * `npx sesame doctor`'s receiving check: which receipt rule set is active and whether it is Sesame's.
 * Receipt rules exist only in SES's v1 API, which no local stand-in implements: the real SES client
 * is given an HTTP handler that answers DescribeActiveReceiptRuleSet with canned XML in AWS's query
 * protocol (the one call the check makes), so the SDK's own serialisation and parsing run, and the
 * call is recorded for the IAM check as the admin tool's.
 */
import { SESClient } from '@aws-sdk/client-ses';
import { checkReceiving } from '../../lambdas/admin/doctor-receiving';
import { readDoctorConfig } from '../../lambdas/admin/doctor-config';
import { recordAwsCalls, runAs } from '../../lambdas/core/aws-calls';
import { RECEIPT_RULE_NAME } from '../../lambdas/core/domain/inbound';
import { TEST_CREDENTIALS, TEST_REGION } from '../support/services';

interface Answer { readonly Metadata?: { readonly Name: string }; readonly Rules?: readonly { Name: string; Enabled?: boolean; ScanEnabled?: boolean }[] }

const xml = (a: Answer) => `<DescribeActiveReceiptRuleSetResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><DescribeActiveReceiptRuleSetResult>${
  a.Metadata ? `<Metadata><Name>${a.Metadata.Name}</Name><CreatedTimestamp>2026-01-01T00:00:00.000Z</CreatedTimestamp></Metadata>` : ''
}<Rules>${(a.Rules ?? []).map((r) => `<member><Name>${r.Name}</Name><Enabled>${r.Enabled === true}</Enabled><ScanEnabled>${r.ScanEnabled === true}</ScanEnabled><TlsPolicy>Optional</TlsPolicy><Actions/><Recipients/></member>`).join('')}</Rules></DescribeActiveReceiptRuleSetResult><ResponseMetadata><RequestId>test</RequestId></ResponseMetadata></DescribeActiveReceiptRuleSetResponse>`;

const errorXml = (code: string, message: string) => `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>test</RequestId></ErrorResponse>`;

const stub = (answer: Answer | Error) => {
  const sent: string[] = [];
  const requestHandler = {
    metadata: { handlerProtocol: 'http/1.1' },
    handle: async (request: { body?: unknown }) => {
      sent.push(String(request.body));
      const failed = answer instanceof Error;
      return { response: { statusCode: failed ? 403 : 200, headers: { 'content-type': 'text/xml' }, body: Buffer.from(failed ? errorXml(answer.name, answer.message) : xml(answer)) } };
    },
  };
  const ses = recordAwsCalls(new SESClient({ region: TEST_REGION, credentials: TEST_CREDENTIALS, requestHandler: requestHandler as never, maxAttempts: 1 }));
  return { sent, client: { send: (command: never) => runAs('admin', () => ses.send(command)) } as never };
};

const config = (env: Record<string, string>) => readDoctorConfig(env);
const ours = { SESAME_RECEIPT_RULE_SET: 'Sesame-inbound' };
const rule = (over: Record<string, unknown> = {}) => ({ Name: RECEIPT_RULE_NAME, Enabled: true, ScanEnabled: true, ...over });

it('reports nothing when receiving is off for the stack', async () => {
  const { client, sent } = stub({});
  expect(await checkReceiving({ config: config({ SESAME_RECEIPT_RULE_SET: '' }), sesReceipt: client })).toEqual([]);
  expect(sent).toEqual([]);
});

it('is ok when Sesame\'s rule set is active with its rule enabled and scanning', async () => {
  const { client, sent } = stub({ Metadata: { Name: 'Sesame-inbound' }, Rules: [rule()] });
  expect(await checkReceiving({ config: config(ours), sesReceipt: client })).toEqual([
    { name: 'receiving', status: 'ok', message: expect.stringMatching(/Sesame-inbound is active; its rule sesame-catch-all is enabled, with spam and virus scanning/) },
  ]);
  expect(sent[0]).toContain('Action=DescribeActiveReceiptRuleSet');
});

it('warns, with the command, when no rule set is active', async () => {
  const { client } = stub({});
  const [result] = await checkReceiving({ config: config(ours), sesReceipt: client });
  expect(result).toMatchObject({ status: 'warn', message: expect.stringContaining('aws ses set-active-receipt-rule-set --rule-set-name Sesame-inbound') });
});

it('warns when another rule set is active, saying that activating Sesame\'s would replace it', async () => {
  const { client } = stub({ Metadata: { Name: 'corp-mail' }, Rules: [{ Name: 'to-workmail', Enabled: true }] });
  const [result] = await checkReceiving({ config: config(ours), sesReceipt: client });
  expect(result).toMatchObject({ status: 'warn', message: expect.stringMatching(/active receipt rule set is corp-mail, not Sesame's Sesame-inbound.*replace corp-mail/) });
});

it('fails when Sesame\'s set is active but its rule is missing or disabled, or the set cannot be read', async () => {
  const missing = await checkReceiving({ config: config(ours), sesReceipt: stub({ Metadata: { Name: 'Sesame-inbound' }, Rules: [] }).client });
  const disabled = await checkReceiving({ config: config(ours), sesReceipt: stub({ Metadata: { Name: 'Sesame-inbound' }, Rules: [rule({ Enabled: false })] }).client });
  const denied = await checkReceiving({ config: config(ours), sesReceipt: stub(Object.assign(new Error('not authorized'), { name: 'AccessDenied' })).client });
  expect([missing[0]!.status, disabled[0]!.status, denied[0]!.status]).toEqual(['fail', 'fail', 'fail']);
  expect(denied[0]!.message).toMatch(/AccessDenied: not authorized/);
});

it('in local mode, says mail arrives over SMTP', async () => {
  expect(await checkReceiving({ config: config({ SESAME_LOCAL: '1' }) })).toEqual([{ name: 'receiving', status: 'ok', message: expect.stringContaining('SMTP') }]);
});
