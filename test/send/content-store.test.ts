/**
 * The content adapter against the local S3 stand-in: what it writes, and how long its presigned
 * URLs are said to work when the credentials that sign them expire first (a Lambda role's do).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { ContentStore } from '../../lambdas/core/adapters/content';
import { DOWNLOAD_URL_SECONDS } from '../../lambdas/core/content';
import { readSendConfig } from '../../lambdas/core/config';
import { startTestS3, TEST_CREDENTIALS, type TestS3 } from '../support/services';

let s3: TestS3;
const clock = Date.UTC(2026, 10, 29, 9, 30, 15, 900);
const signedAt = Date.UTC(2026, 10, 29, 9, 30, 15);

beforeAll(async () => {
  s3 = await startTestS3({ now: () => clock });
});
afterAll(() => s3.close());

const tenant = 'tenant-1';
const email = '0193c9d2-0000-7000-8000-000000000001';
const bytes = Buffer.from('the bytes of a file\n');

/** A client whose credentials are temporary, as a Lambda role's are. */
function clientWithCredentialsUntil(expiration: number): S3Client {
  return new S3Client({
    endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true,
    credentials: async () => ({ ...TEST_CREDENTIALS, sessionToken: 'session', expiration: new Date(expiration) }),
  });
}

describe('ContentStore', () => {
  it('says a URL expires after an hour when the credentials outlive it, and the URL works', async () => {
    const store = new ContentStore(s3.client, s3.bucket, () => clock);
    await store.putAttachments(tenant, email, [{ id: 'a1', filename: 'notes.txt', contentType: 'text/plain', content: bytes }]);
    const { url, expiresAt } = await store.downloadUrl(tenant, email, 'a1');
    expect(expiresAt).toBe(new Date(signedAt + DOWNLOAD_URL_SECONDS * 1000).toISOString());
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('says a URL expires when the signing credentials do, when that is earlier', async () => {
    const credentialsEnd = clock + 10 * 60_000;
    const client = clientWithCredentialsUntil(credentialsEnd);
    const store = new ContentStore(client, s3.bucket, () => clock);
    const { url, expiresAt } = await store.downloadUrl(tenant, email, 'a1');
    expect(expiresAt).toBe(new Date(credentialsEnd).toISOString());
    // The URL itself still carries the hour it was asked for: only the credentials end it sooner.
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe(String(DOWNLOAD_URL_SECONDS));
    expect(new URL(url).searchParams.get('X-Amz-Security-Token')).toBe('session');
    client.destroy();
  });

  it('says the URL\'s own hour when the credentials outlive it', async () => {
    const client = clientWithCredentialsUntil(clock + 6 * 3_600_000);
    const { expiresAt } = await new ContentStore(client, s3.bucket, () => clock).downloadUrl(tenant, email, 'a1');
    expect(expiresAt).toBe(new Date(signedAt + DOWNLOAD_URL_SECONDS * 1000).toISOString());
    client.destroy();
  });

  it('removes attachments, and removing absent ones is not an error', async () => {
    const store = new ContentStore(s3.client, s3.bucket, () => clock);
    await store.removeAttachments(tenant, email, ['a1', 'never-written']);
    const { url } = await store.downloadUrl(tenant, email, 'a1');
    expect((await fetch(url)).status).toBe(404);
  });

  it('refuses ids that would not make a content key', async () => {
    const store = new ContentStore(s3.client, s3.bucket, () => clock);
    await expect(store.downloadUrl('../other', email, 'a1')).rejects.toThrow('invalid tenant id');
  });
});

describe('the send function\'s configuration', () => {
  // Everything else the send function requires, so that the bucket is what is missing.
  const env = {
    SESAME_TABLE_NAME: 't', AWS_REGION: 'us-east-1', SESAME_CONFIGURATION_SET: 'sesame', SESAME_STACK_NAME: 'sesame',
    SESAME_WEBHOOK_QUEUE_URL: 'http://127.0.0.1/000000000000/w', SESAME_SCHEDULE_GROUP: 'g',
    SESAME_DISPATCH_QUEUE_ARN: 'arn:aws:sqs:us-east-1:000000000000:d', SESAME_SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/r',
  };

  it('names the content bucket from SESAME_CONTENT_BUCKET, and fails with that name when it is missing', () => {
    expect(readSendConfig({ ...env, SESAME_CONTENT_BUCKET: 'sesame-content-1' }).contentBucket).toBe('sesame-content-1');
    expect(() => readSendConfig(env)).toThrow('Missing required environment variable SESAME_CONTENT_BUCKET');
    expect(readSendConfig({ ...env, SESAME_CONTENT_BUCKET: 'x' }).scheduler.groupName).toBe('g');
  });
});
