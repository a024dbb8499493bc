/**
 * Local mode's S3 stand-in, through the real S3 client and the SDK's presigner, and with plain
 * fetch for presigned URLs (what a browser does).
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startTestS3, type TestS3 } from '../support/services';

let clock = Date.now();
let s3: TestS3;
const dataDir = mkdtempSync(join(tmpdir(), 'sesame-s3-test-'));

beforeAll(async () => {
  s3 = await startTestS3({ dataDir, now: () => clock });
});
afterAll(() => s3.close());

const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13, 0x22]);

describe('the local S3 stand-in', () => {
  it('keeps an object: PutObject, HeadObject, GetObject return the same bytes and headers', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'emails/t/e/attachments/a', Body: bytes, ContentType: 'application/pdf', ContentDisposition: 'attachment; filename="a.pdf"' }));
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'emails/t/e/attachments/a' }));
    expect(head).toMatchObject({ ContentLength: bytes.length, ContentType: 'application/pdf', ContentDisposition: 'attachment; filename="a.pdf"' });
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'emails/t/e/attachments/a' }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(bytes);
    expect(got.ETag).toBe(head.ETag);
  });

  it('answers NoSuchKey for an absent object and NoSuchBucket for an absent bucket', async () => {
    await expect(s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'nothing' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: 'nothing' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    await expect(s3.client.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('deletes an object, and deleting an absent one succeeds as in S3', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'to/delete', Body: 'x' }));
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'to/delete' }));
    await expect(s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'to/delete' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'to/delete' }))).resolves.toBeDefined();
  });

  it('serves a presigned GET to plain fetch until it expires, and refuses a tampered one', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'emails/t/e/attachments/b', Body: bytes, ContentType: 'image/png' }));
    const url = await getSignedUrl(s3.client, new GetObjectCommand({ Bucket: s3.bucket, Key: 'emails/t/e/attachments/b' }), { expiresIn: 60, signingDate: new Date(clock) });
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(bytes);

    const otherKey = url.replace('/attachments/b?', '/attachments/a?');
    const tampered = await fetch(otherKey);
    expect(tampered.status).toBe(403);
    expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');

    clock += 61_000;
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('Request has expired');
  });

  it('refuses a URL presigned with other credentials', async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    const stranger = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'local', secretAccessKey: 'not-the-secret' } });
    const url = await getSignedUrl(stranger, new GetObjectCommand({ Bucket: s3.bucket, Key: 'emails/t/e/attachments/a' }), { expiresIn: 60, signingDate: new Date(clock) });
    expect((await fetch(url)).status).toBe(403);
    stranger.destroy();
  });

  it('keeps objects across a restart on the same folder, and removes what an interrupted write left', async () => {
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'kept', Body: bytes }));
    await s3.close();
    // What a crash in the middle of a write leaves: a temporary file beside its target.
    const shard = readdirSync(join(dataDir, s3.bucket)).find((d) => /^[0-9a-f]{2}$/.test(d))!;
    const leftover = join(dataDir, s3.bucket, shard, `${'0'.repeat(64)}.4242.0badf00d.tmp`);
    writeFileSync(leftover, 'half an obj');
    s3 = await startTestS3({ dataDir, now: () => clock });
    expect(existsSync(leftover)).toBe(false);
    const got = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'kept' }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(bytes);
  });
});
