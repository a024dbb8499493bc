/**
 * Local mode's S3-protocol stand-in: the few operations Sesame makes on its content bucket
 * (PutObject, GetObject, HeadObject, DeleteObject, CreateBucket, HeadBucket), path-style
 * (`http://127.0.0.1:<port>/<bucket>/<key>`), objects kept in the data folder.
 *
 * - Local mode's crash rules (docs/local-durability.md): an object is one file (a header line of JSON
 *   metadata, then the bytes) written atomically and fsynced (json-files.ts) before PutObject answers;
 *   a delete is fsynced before DeleteObject answers. A crash leaves the old object or the new one,
 *   never half of one; the temporary files an interrupted write leaves are removed at start.
 * - Presigned URLs (SigV4 in the query string, as the SDK's presigner makes them) are checked as S3
 *   checks them: the access key, the signature over the same canonical request, and the expiry. So a
 *   `download_url` opens in a browser until it expires, and not after. Requests signed in headers
 *   (the SDK's own calls) are not checked, as the other local stand-ins do not check them.
 *
 * Anything else S3 has (listing, ranges, multipart, versions, copies, aws-chunked uploads) answers
 * 501 NotImplemented rather than something wrong.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import { isTemporaryFile, removeDurably, writeFileAtomic } from './json-files';
import { closeServer, listenOnLoopback } from './listen';

export interface StartS3ServerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  /** Folder of the buckets (one sub-folder each). */
  readonly dataDir: string;
  /** Buckets that exist from the start. */
  readonly buckets: readonly string[];
  /** The credentials presigned URLs must be signed with (local mode's fake ones). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** The clock presigned URLs are checked against. @default Date.now */
  readonly now?: () => number;
  /** Largest object accepted, in bytes. @default 50 MiB */
  readonly maxObjectBytes?: number;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL_S3. */
  readonly endpoint: string;
  close(): Promise<void>;
}

interface ObjectHeader {
  readonly key: string;
  readonly contentType: string;
  readonly contentDisposition?: string;
  readonly etag: string;
  readonly lastModified: string;
  readonly size: number;
  readonly metadata: Record<string, string>;
}

const MAGIC = 'sesame-s3-object 1\n';
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_PRESIGN_SECONDS = 604_800;

class S3Error extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** node:crypto in the shape the SDK's signer asks for (a SHA-256 hash, or an HMAC with a secret). */
class Sha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const toBytes = (d: string | ArrayBuffer | ArrayBufferView): string | Uint8Array =>
  typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);

export async function startS3Server(options: StartS3ServerOptions): Promise<LocalS3> {
  const now = options.now ?? Date.now;
  const maxBytes = options.maxObjectBytes ?? 50 * 1024 * 1024;
  await mkdir(options.dataDir, { recursive: true });
  await removeTemporaryFiles(options.dataDir);
  for (const bucket of options.buckets) await mkdir(join(options.dataDir, bucket), { recursive: true });

  const bucketDir = async (bucket: string): Promise<string> => {
    const dir = join(options.dataDir, bucket);
    if (!BUCKET.test(bucket) || !(await isDirectory(dir))) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    return dir;
  };
  const objectFile = (dir: string, key: string) => {
    const h = createHash('sha256').update(key).digest('hex');
    return join(dir, h.slice(0, 2), h);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const rawKey = rest.join('/');
    const method = req.method ?? 'GET';
    if (url.searchParams.has('X-Amz-Signature')) await checkPresigned(req, url, method);

    if (rawKey === '') {
      if (bucket === '') throw new S3Error(501, 'NotImplemented', 'Listing buckets is not implemented locally');
      if (method === 'PUT') {
        if (!BUCKET.test(bucket)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid');
        await mkdir(join(options.dataDir, bucket), { recursive: true });
        res.writeHead(200, { location: `/${bucket}` }).end();
        return;
      }
      if (method === 'HEAD') {
        await bucketDir(bucket);
        res.writeHead(200).end();
        return;
      }
      throw new S3Error(501, 'NotImplemented', 'Only CreateBucket and HeadBucket are implemented locally on a bucket');
    }
    const key = decodeURIComponent(rawKey);
    if (key.length > 1024) throw new S3Error(400, 'KeyTooLongError', 'Your key is too long');
    const dir = await bucketDir(bucket);
    const file = objectFile(dir, key);
    const unsupported = ['uploads', 'uploadId', 'versionId', 'tagging', 'acl', 'partNumber'].find((p) => url.searchParams.has(p));
    if (unsupported) throw new S3Error(501, 'NotImplemented', `?${unsupported} is not implemented locally`);

    switch (method) {
      case 'PUT': {
        if (req.headers['x-amz-copy-source']) throw new S3Error(501, 'NotImplemented', 'CopyObject is not implemented locally');
        if (String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-') || /aws-chunked/.test(String(req.headers['content-encoding'] ?? ''))) {
          throw new S3Error(501, 'NotImplemented', 'aws-chunked uploads are not implemented locally; send the body whole');
        }
        const body = await readBody(req, maxBytes);
        const etag = `"${createHash('md5').update(body).digest('hex')}"`;
        const metadata = Object.fromEntries(Object.entries(req.headers).filter(([n]) => n.startsWith('x-amz-meta-')).map(([n, v]) => [n, String(v)]));
        const header: ObjectHeader = {
          key,
          contentType: String(req.headers['content-type'] ?? 'binary/octet-stream'),
          ...(req.headers['content-disposition'] ? { contentDisposition: String(req.headers['content-disposition']) } : {}),
          etag, lastModified: new Date(now()).toUTCString(), size: body.length, metadata,
        };
        await writeFileAtomic(file, Buffer.concat([Buffer.from(MAGIC + JSON.stringify(header) + '\n'), body]));
        res.writeHead(200, { etag }).end();
        return;
      }
      case 'GET':
      case 'HEAD': {
        const stored = await readObject(file);
        if (!stored || stored.header.key !== key) {
          if (method === 'HEAD') res.writeHead(404).end();
          else throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
          return;
        }
        const { header, body } = stored;
        const q = url.searchParams;
        const disposition = q.get('response-content-disposition') ?? header.contentDisposition;
        res.writeHead(200, {
          'content-type': q.get('response-content-type') ?? header.contentType,
          'content-length': String(header.size),
          etag: header.etag,
          'last-modified': header.lastModified,
          'accept-ranges': 'none',
          ...(disposition ? { 'content-disposition': disposition } : {}),
          ...header.metadata,
        });
        res.end(method === 'HEAD' ? undefined : body);
        return;
      }
      case 'DELETE': {
        await removeDurably(file);
        res.writeHead(204).end();
        return;
      }
      default:
        throw new S3Error(501, 'NotImplemented', `${method} is not implemented locally`);
    }
  }

  const presigner = new S3RequestPresigner({ credentials: options.credentials, region: 'us-east-1', sha256: Sha256 });

  /** The presigned URL's access key, expiry and signature, as S3 checks them. */
  async function checkPresigned(req: IncomingMessage, url: URL, method: string): Promise<void> {
    const q = url.searchParams;
    const credential = (q.get('X-Amz-Credential') ?? '').split('/');
    const [accessKeyId, , region, service] = credential;
    if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || credential.length !== 5 || service !== 's3') {
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Algorithm and X-Amz-Credential must be AWS4-HMAC-SHA256 and <key>/<date>/<region>/s3/aws4_request');
    }
    if (accessKeyId !== options.credentials.accessKeyId) throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q.get('X-Amz-Date') ?? '');
    const expires = Number(q.get('X-Amz-Expires'));
    if (!date || !Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Date must be a SigV4 date and X-Amz-Expires between 1 and 604800 seconds');
    }
    const signedAt = Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!);
    if (now() > signedAt + expires * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');

    // Sign the same request again (without its signature) at the same time; S3 compares the two.
    const query: Record<string, string> = {};
    for (const [name, value] of q) if (!['X-Amz-Signature', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-Algorithm', 'X-Amz-SignedHeaders'].includes(name)) query[name] = value;
    const headers: Record<string, string> = {};
    for (const name of (q.get('X-Amz-SignedHeaders') ?? '').split(';')) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const signed = await presigner.presign(
      { method, protocol: 'http:', hostname: (req.headers.host ?? '').replace(/:\d+$/, ''), path: url.pathname, query, headers },
      { signingDate: new Date(signedAt), expiresIn: expires, signingRegion: region! },
    );
    const expected = Buffer.from(String(signed.query?.['X-Amz-Signature'] ?? ''));
    const given = Buffer.from(q.get('X-Amz-Signature') ?? '');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const e = error instanceof S3Error ? error : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (req.method === 'HEAD') {
        res.writeHead(e.status).end();
        return;
      }
      res.writeHead(e.status, { 'content-type': 'application/xml' }).end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${e.code}</Code><Message>${escapeXml(e.message)}</Message></Error>`,
      );
    });
  });
  const port = await listenOnLoopback(server, options.port);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => closeServer(server, 'abort'),
  };
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readObject(file: string): Promise<{ header: ObjectHeader; body: Buffer } | undefined> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const end = data.indexOf(0x0a, MAGIC.length);
  if (!data.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC)) || end < 0) throw new Error(`${file} is not an object of the local S3 stand-in`);
  return { header: JSON.parse(data.subarray(MAGIC.length, end).toString('utf8')) as ObjectHeader, body: data.subarray(end + 1) };
}

/** Start-up: a temporary file is a write a crash interrupted, never acknowledged; it goes. */
async function removeTemporaryFiles(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await removeTemporaryFiles(path);
    else if (isTemporaryFile(entry.name)) await rm(path, { force: true });
  }
}
