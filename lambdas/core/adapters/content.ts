/**
 * The content bucket (S3): an email's attachments, one object each, written once. An email sent at
 * once never reads them back (SES got them with the email); a scheduled email's are read back once,
 * by dispatch at the due time. Readers get a presigned GET URL.
 *
 * A presigned URL is signed with the function's credentials. In Lambda those are the role's
 * temporary credentials, and a URL stops working when they expire, whatever its own expiry says:
 * the expiry reported with a URL is the earlier of the two.
 */
import { DeleteObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type ContentStage, DOWNLOAD_URL_SECONDS, attachmentKey, downloadDisposition, emailPrefix, rawMessageKey } from '../content';

/** One attachment to keep: its id and the bytes, with what a download is served with. */
export interface AttachmentObject {
  readonly id: string;
  readonly filename: string;
  readonly contentType: string;
  readonly content: Uint8Array;
}

/** A received email's bodies as kept (each cut at INLINE_BODY_BYTES). */
export interface ReceivedBody {
  readonly html?: string;
  readonly text?: string;
  readonly truncated?: boolean;
}

/** PutObjects of one received email's attachments at once (the SDK's default agent keeps 50 sockets). */
export const RECEIVED_PUT_CONCURRENCY = 8;

const receivedBodyKey = (tenantId: string, emailId: string): string => `${emailPrefix('received', tenantId, emailId)}body.json.gz`;

export interface DownloadUrl {
  readonly url: string;
  /** ISO time after which the URL no longer works. */
  readonly expiresAt: string;
}

/** An attachment that should be in the bucket is not (it expired, or was deleted). */
export class ContentMissingError extends Error {
  constructor(readonly key: string) {
    super(`The content bucket has no object ${key}`);
    this.name = 'ContentMissingError';
  }
}

export class ContentStore {
  private readonly client: () => S3Client;

  /**
   * `client` may be a getter (lambdas/core/clients.ts), so that a container whose requests never
   * touch attachments never builds an S3 client.
   */
  constructor(
    client: S3Client | (() => S3Client),
    private readonly bucket: string,
    private readonly now: () => number = Date.now,
    private readonly urlSeconds: number = DOWNLOAD_URL_SECONDS,
  ) {
    this.client = typeof client === 'function' ? client : () => client;
  }

  /**
   * Writes an email's attachments, one PutObject each, under the prefix of its stage (sent at once,
   * or scheduled). Keys are derived from the email and attachment ids, so a retried send overwrites
   * the same objects with the same bytes.
   */
  async putAttachments(tenantId: string, emailId: string, attachments: readonly AttachmentObject[], stage: Exclude<ContentStage, 'inbound'> = 'sent'): Promise<void> {
    await Promise.all(attachments.map((a) => this.client().send(new PutObjectCommand({
      Bucket: this.bucket,
      Key: attachmentKey(stage, tenantId, emailId, a.id),
      Body: a.content,
      ContentType: a.contentType,
      ContentDisposition: downloadDisposition(a.filename),
    }))));
  }

  /** Deletes attachments of an email that was not sent (SES refused it, it was canceled). Absent objects are fine. */
  async removeAttachments(tenantId: string, emailId: string, attachmentIds: readonly string[], stage: Exclude<ContentStage, 'inbound'> = 'sent'): Promise<void> {
    await Promise.all(attachmentIds.map((id) => this.client().send(new DeleteObjectCommand({
      Bucket: this.bucket, Key: attachmentKey(stage, tenantId, emailId, id),
    }))));
  }

  /**
   * Reads back the bytes of a scheduled email's attachments (dispatch, at the due time), one
   * GetObject each, in the order of `attachmentIds`. Throws ContentMissingError if one is gone.
   */
  async readAttachments(tenantId: string, emailId: string, attachmentIds: readonly string[], stage: Exclude<ContentStage, 'inbound'> = 'scheduled'): Promise<Uint8Array[]> {
    return Promise.all(attachmentIds.map(async (id) => {
      const key = attachmentKey(stage, tenantId, emailId, id);
      try {
        const { Body } = await this.client().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        if (!Body) throw new ContentMissingError(key);
        return await Body.transformToByteArray();
      } catch (error) {
        if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey') throw new ContentMissingError(key);
        throw error;
      }
    }));
  }

  /**
   * A presigned GET URL of one attachment. No request is made: signing is local. The URL expires
   * after `urlSeconds`, or when the credentials that signed it do, whichever comes first.
   */
  async downloadUrl(tenantId: string, emailId: string, attachmentId: string, stage: Exclude<ContentStage, 'inbound' | 'received'> = 'sent'): Promise<DownloadUrl> {
    return this.presign(new GetObjectCommand({ Bucket: this.bucket, Key: attachmentKey(stage, tenantId, emailId, attachmentId) }));
  }

  // --- received email (lambdas/inbound) ------------------------------------------------------

  /** The raw message SES stored, as a stream (GetObject). */
  async readRaw(sesMessageId: string): Promise<Readable> {
    const { Body } = await this.client().send(new GetObjectCommand({ Bucket: this.bucket, Key: rawMessageKey(sesMessageId) }));
    if (!Body) throw new Error('the raw message has no body');
    return Body as Readable;
  }

  /** Deletes a raw message nobody receives (no tenant's domain, a virus). Absent is fine. */
  async removeRaw(sesMessageId: string): Promise<void> {
    await this.client().send(new DeleteObjectCommand({ Bucket: this.bucket, Key: rawMessageKey(sesMessageId) }));
  }

  /**
   * Writes a received email's attachments, one PutObject each, under keys derived from the ids (a
   * redelivery rewrites the same bytes), RECEIVED_PUT_CONCURRENCY at a time: a message may have
   * hundreds, and as many requests at once would exhaust the client's sockets.
   */
  async putReceivedAttachments(tenantId: string, emailId: string, attachments: readonly AttachmentObject[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < attachments.length) {
        const a = attachments[next++]!;
        await this.client().send(new PutObjectCommand({
          Bucket: this.bucket,
          Key: attachmentKey('received', tenantId, emailId, a.id),
          Body: a.content,
          ContentType: a.contentType,
          ContentDisposition: downloadDisposition(a.filename),
        }));
      }
    };
    await Promise.all(Array.from({ length: Math.min(RECEIVED_PUT_CONCURRENCY, attachments.length) }, worker));
  }

  /** Writes a received email's bodies (already capped), gzipped JSON in one object. */
  async putReceivedBody(tenantId: string, emailId: string, body: ReceivedBody): Promise<void> {
    await this.client().send(new PutObjectCommand({
      Bucket: this.bucket, Key: receivedBodyKey(tenantId, emailId), Body: gzipSync(JSON.stringify(body)), ContentType: 'application/gzip',
    }));
  }

  /** A received email's bodies; empty when the object is missing (an email stored before its body, or expired). */
  async readReceivedBody(tenantId: string, emailId: string): Promise<ReceivedBody> {
    try {
      const { Body } = await this.client().send(new GetObjectCommand({ Bucket: this.bucket, Key: receivedBodyKey(tenantId, emailId) }));
      const bytes = Body ? await Body.transformToByteArray() : new Uint8Array();
      return JSON.parse(gunzipSync(bytes).toString('utf8')) as ReceivedBody;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return {};
      throw error;
    }
  }

  /** One attachment of a received email, its bytes (GET /emails/receiving/{id} inlines small inline images as data URIs). */
  async readReceivedAttachment(tenantId: string, emailId: string, attachmentId: string): Promise<Uint8Array> {
    const { Body } = await this.client().send(new GetObjectCommand({ Bucket: this.bucket, Key: attachmentKey('received', tenantId, emailId, attachmentId) }));
    return Body ? Body.transformToByteArray() : new Uint8Array();
  }

  /** A presigned GET URL of one attachment of a received email. */
  async receivedAttachmentUrl(tenantId: string, emailId: string, attachmentId: string): Promise<DownloadUrl> {
    return this.presign(new GetObjectCommand({ Bucket: this.bucket, Key: attachmentKey('received', tenantId, emailId, attachmentId) }));
  }

  /** A presigned GET URL of a received email's raw message, served as a `.eml` download. */
  async rawUrl(sesMessageId: string, emailId: string): Promise<DownloadUrl> {
    return this.presign(new GetObjectCommand({
      Bucket: this.bucket, Key: rawMessageKey(sesMessageId),
      ResponseContentType: 'message/rfc822', ResponseContentDisposition: downloadDisposition(`${emailId}.eml`),
    }));
  }

  private async presign(command: GetObjectCommand): Promise<DownloadUrl> {
    const client = this.client();
    const credentials = await client.config.credentials();
    // SigV4 dates have whole seconds: the URL's life starts at the second it was signed in.
    const signedAt = Math.floor(this.now() / 1000) * 1000;
    const url = await getSignedUrl(client, command, { expiresIn: this.urlSeconds, signingDate: new Date(signedAt) });
    const urlExpiry = signedAt + this.urlSeconds * 1000;
    const credentialsExpiry = credentials.expiration?.getTime() ?? Number.POSITIVE_INFINITY;
    return { url, expiresAt: new Date(Math.min(urlExpiry, credentialsExpiry)).toISOString() };
  }
}
