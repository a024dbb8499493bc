/** GET /emails/{id}/events: the event log of an email, through the send function's API handler. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createApiHandler } from '../../lambdas/core/http/api';
import type { Authenticator, Permission } from '../../lambdas/core/http/auth';
import { HttpError } from '../../lambdas/core/errors';
import { silentLogger } from '../../lambdas/core/log';
import { sendRoutes } from '../../lambdas/send/routes';
import type { SendRouteDeps } from '../../lambdas/send/routes';
import { startTestDynamo, type TestDynamo } from '../support/services';
import { FIXTURE_MESSAGE_ID, signedLambdaEvent } from './fixtures';
import { makeWorld, type World } from './world';

/** Keys: `full-a` and `send-a` of tenant-a, `full-b` of tenant-b. */
const authenticator: Authenticator = {
  async authenticate(header: string | undefined, required: Permission) {
    const key = header?.replace(/^Bearer /, '') ?? '';
    const [permission, tenant] = key.split('-');
    if (!tenant) throw new HttpError(401, 'missing_api_key', 'Missing API key');
    if (required === 'full_access' && permission !== 'full') throw new HttpError(401, 'restricted_api_key', 'This API key is restricted to only send emails');
    return { keyId: key, tenantId: `tenant-${tenant}`, permission: permission === 'full' ? 'full_access' : 'sending_access' };
  },
};

let dynamo: TestDynamo;
let world: World;
let get: (path: string, key: string) => Promise<{ status: number; body: any }>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  dynamo = await startTestDynamo();
  world = await makeWorld(dynamo);
  const handler = createApiHandler(
    sendRoutes({ emails: world.emails, events: world.events, region: 'us-east-1' } as unknown as SendRouteDeps),
    authenticator,
    silentLogger,
  );
  get = async (path, key) => {
    const id = path.split('/')[2]!;
    const event = {
      version: '2.0', routeKey: 'GET /emails/{id}/events', rawPath: path, rawQueryString: '',
      headers: { authorization: `Bearer ${key}` }, pathParameters: { id },
      requestContext: { requestId: 'r', http: { method: 'GET', path } }, isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const res = (await handler(event, { awsRequestId: 'a' } as Context)) as APIGatewayProxyStructuredResultV2;
    return { status: res.statusCode!, body: JSON.parse(res.body as string) };
  };
});
afterAll(() => dynamo.close());

describe('GET /emails/{id}/events', () => {
  it('lists the email\'s events oldest first, with their recipients and details', async () => {
    // Prepare: sent (2016-01-01, recorded by the send with SendEmail's answer), a delivery
    // (2016-10-19) and a bounce (2017-08-05), applied newest first.
    const { id } = await world.createEmail({ sesMessageId: FIXTURE_MESSAGE_ID });
    await world.handler(signedLambdaEvent('bounce-permanent-general'));
    await world.handler(signedLambdaEvent('delivery'));

    // Act
    const res = await get(`/emails/${id}/events`, 'full-a');

    // Assess
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'list',
      has_more: false,
      data: [
        { object: 'email_event', id: expect.any(String), type: 'email.sent', recipients: ['recipient@example.com'], created_at: '2016-01-01T00:00:00.000Z', details: {} },
        {
          object: 'email_event', id: expect.any(String), type: 'email.delivered', recipients: ['recipient@example.com'], created_at: '2016-10-19T23:21:04.133Z',
          details: { delivery: { smtpResponse: '250 2.6.0 Message received', reportingMTA: 'mta.example.com', processingTimeMillis: 11893 } },
        },
        {
          object: 'email_event', id: expect.any(String), type: 'email.bounced', recipients: ['recipient@example.com'], created_at: '2017-08-05T00:41:02.669Z',
          details: { bounce: { type: 'Permanent', subType: 'General', message: expect.any(String), diagnosticCode: ['smtp; 550 5.1.1 user unknown'] } },
        },
      ],
    });
  });

  it('is an empty list for an email without events', async () => {
    const { id } = await world.createEmail();
    expect(await get(`/emails/${id}/events`, 'full-a')).toEqual({ status: 200, body: { object: 'list', has_more: false, data: [] } });
  });

  it('answers 404 for another tenant\'s email, an unknown one and a malformed id', async () => {
    const { id } = await world.createEmail({ tenantId: 'tenant-a' });
    for (const path of [`/emails/${id}/events`, '/emails/00000000-0000-4000-8000-000000000000/events', '/emails/nope/events']) {
      const res = await get(path, 'full-b');
      expect(res).toEqual({ status: 404, body: { statusCode: 404, name: 'not_found', message: 'Email not found' } });
    }
  });

  it('needs a full access key', async () => {
    const { id } = await world.createEmail();
    expect((await get(`/emails/${id}/events`, 'send-a')).status).toBe(401);
  });
});
