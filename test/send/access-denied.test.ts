/**
 * A missing IAM grant is an operator's problem: SES (here the local SES server, through the real SDK
 * client, answering as IAM does) refuses with AccessDeniedException. The log line names the action and
 * the resource; the client gets a 500 `application_error` carrying only the request id, by which the
 * operator finds that line. Nothing is sent.
 */
import { accessDenied } from '../../lambdas/core/http/errors';
import { apiEvent, type Handler } from '../support/api';
import { memoryLogger } from '../support/logs';
import { startSendHarness, type SendHarness } from './harness';
import type { Context } from 'aws-lambda';

let h: SendHarness;
beforeAll(async () => {
  h = await startSendHarness();
});
afterAll(() => h.close());

describe('AWS AccessDenied', () => {
  it('is logged with its action and resource, and answered 500 with the request id only', async () => {
    // Prepare
    const { log, entries } = memoryLogger();
    const handler: Handler = h.handler({ log });
    const { key, domain } = await h.tenant('denied');
    h.ses.failNext('SendEmail', 'AccessDeniedException');
    const event = apiEvent('POST', '/emails', { key, body: { from: `a@${domain}`, to: 'delivered@resend.dev', subject: 'Hi', text: 'Hello' } });
    const requestId = event.requestContext.requestId;

    // Act
    const res = await handler(event, { awsRequestId: 'lambda-request-id' } as Context);

    // Assess
    const answer = typeof res === 'string' ? undefined : res;
    expect(answer?.statusCode).toBe(500);
    expect(JSON.parse(answer!.body!)).toEqual({ statusCode: 500, name: 'application_error', message: `An unexpected error occurred. Request id: ${requestId}.` });
    expect(answer!.body).not.toMatch(/ses:|arn:|AccessDenied/);
    expect(entries).toContainEqual(expect.objectContaining({
      level: 'ERROR', requestId, action: 'ses:SendEmail', resource: 'arn:aws:ses:us-east-1:000000000000:identity/*', awsError: 'AccessDeniedException',
    }));
    expect(h.ses.sent()).toEqual([]);
  });
});

describe('accessDenied', () => {
  it('reads the action and resource of IAM\'s message, for both error names, and nothing else', () => {
    const error = (name: string, message: string) => Object.assign(new Error(message), { name });
    const iam = 'User: arn:aws:sts::123456789012:assumed-role/SesameSend/fn is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:eu-west-1:123456789012:table/Sesame-Table because no identity-based policy allows the dynamodb:PutItem action';
    expect(accessDenied(error('AccessDeniedException', iam))).toEqual({ action: 'dynamodb:PutItem', resource: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Sesame-Table' });
    expect(accessDenied(error('AccessDenied', 'Access Denied'))).toEqual({});
    expect(accessDenied(error('ThrottlingException', iam))).toBeUndefined();
  });
});
