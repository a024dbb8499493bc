/**
 * Services that speak the AWS protocols, for test files, with real SDK clients pointed at them:
 *
 *   const dynamo = await startTestDynamo();      // dynalite in memory, this file's own
 *   const table = await dynamo.freshTable();     // a uniquely named table built from TABLE
 *   const ses = await startTestSes();            // the local SES v2 server, this file's own
 *   const sqs = await startTestSqs();            // the local SQS in memory, this file's own
 *   const { url } = await sqs.freshQueue();
 *   const sns = new SNSClient(localClientConfig(testSnsEndpoint())); // the run's one fauxqs (jest globalSetup)
 *   const s3 = await startTestS3();              // the local S3 stand-in, a temporary folder
 *   afterAll(() => Promise.all([dynamo.close(), ses.close(), sqs.close()]));
 *
 * Everything listens on 127.0.0.1; credentials are fake. The clients record the AWS requests a
 * handler makes through them (lambdas/core/aws-calls.ts), for the IAM evaluation (test/iam).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3Server, type LocalS3 } from '../../lambdas/local/s3-server';
import { ensureTable, startDynamo } from '../../lambdas/local/dynamodb';
import { startSesServer, type LocalSes, type StartSesServerOptions } from '../../lambdas/local/ses-server';
import { ensureQueue, startSqs } from '../../lambdas/local/sqs';
import { recordAwsCalls } from '../../lambdas/core/aws-calls';

export const TEST_REGION = 'us-east-1';
export const TEST_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** SDK client configuration for a local endpoint. */
export function localClientConfig(endpoint: string) {
  return { endpoint, region: TEST_REGION, credentials: TEST_CREDENTIALS };
}

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export interface TestDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** A document client with the same marshalling options as lambdas/core/clients.ts. */
  readonly doc: DynamoDBDocumentClient;
  /** Creates a uniquely named table from TABLE and returns its name. */
  freshTable(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestDynamo(options: { dataDir?: string } = {}): Promise<TestDynamo> {
  const dynamo = await startDynamo({ port: 0, dataDir: options.dataDir });
  const client = recordAwsCalls(new DynamoDBClient(localClientConfig(dynamo.endpoint)));
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false } });
  return {
    endpoint: dynamo.endpoint,
    client,
    doc,
    freshTable: async () => {
      const name = unique('sesame');
      await ensureTable(client, name);
      return name;
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

export interface TestSes extends LocalSes {
  /** An SESv2Client pointed at the server. */
  readonly client: SESv2Client;
}

/**
 * The local SES server, in-process, and a client for it. The client makes one attempt by
 * default, so an error injected with failNext reaches the test instead of being retried away
 * (the SDK retries TooManyRequestsException and 5xx on its own).
 */
export async function startTestSes(options: StartSesServerOptions & { maxAttempts?: number } = {}): Promise<TestSes> {
  const { maxAttempts = 1, ...serverOptions } = options;
  const ses = await startSesServer({ region: TEST_REGION, ...serverOptions, port: serverOptions.port ?? 0 });
  const client = recordAwsCalls(new SESv2Client({ ...localClientConfig(ses.endpoint), maxAttempts }));
  return {
    ...ses,
    client,
    close: async () => {
      client.destroy();
      await ses.close();
    },
  };
}

export interface FreshQueue {
  readonly name: string;
  readonly url: string;
  /** Present when asked for with a DLQ. */
  readonly dlqUrl?: string;
}

export interface TestSqs {
  readonly endpoint: string;
  readonly client: SQSClient;
  /** A uniquely named queue; with `maxReceiveCount`, also a DLQ and the redrive policy to it. */
  freshQueue(options?: { maxReceiveCount?: number }): Promise<FreshQueue>;
  close(): Promise<void>;
}

/** The local SQS (lambdas/local/sqs.ts) in memory, and a client for it. */
export async function startTestSqs(options: { dataDir?: string } = {}): Promise<TestSqs> {
  const sqs = await startSqs({ port: 0, region: TEST_REGION, ...(options.dataDir ? { dataDir: options.dataDir } : {}) });
  const { endpoint } = sqs;
  const client = recordAwsCalls(new SQSClient(localClientConfig(endpoint)));
  return {
    endpoint,
    client,
    freshQueue: async (options = {}) => {
      const name = unique('q');
      if (options.maxReceiveCount === undefined) return { name, url: await ensureQueue(client, name) };
      const dlqName = `${name}-dlq`;
      const url = await ensureQueue(client, name, { dlqName, maxReceiveCount: options.maxReceiveCount });
      const { QueueUrl: dlqUrl } = await client.send(new GetQueueUrlCommand({ QueueName: dlqName }));
      return { name, url, dlqUrl };
    },
    close: async () => {
      client.destroy();
      await sqs.close();
    },
  };
}

/** The run's SNS stand-in (fauxqs), which test/support/global-setup.mjs started. */
export function testSnsEndpoint(): string {
  const endpoint = process.env.SESAME_TEST_SNS_ENDPOINT;
  if (!endpoint) throw new Error('SESAME_TEST_SNS_ENDPOINT is not set: run the tests through jest, whose globalSetup starts fauxqs');
  return endpoint;
}

export interface TestS3 extends LocalS3 {
  /** A path-style S3Client pointed at the stand-in, as lambdas/core/clients.ts builds it locally. */
  readonly client: S3Client;
  /** The bucket made at start. */
  readonly bucket: string;
  readonly dataDir: string;
}

/** The local S3 stand-in on a free port, with one bucket, in a temporary folder (or `dataDir`). */
export async function startTestS3(options: { dataDir?: string; now?: () => number } = {}): Promise<TestS3> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'sesame-s3-'));
  const bucket = 'sesame-content';
  const s3 = await startS3Server({ port: 0, dataDir, buckets: [bucket], credentials: TEST_CREDENTIALS, ...(options.now ? { now: options.now } : {}) });
  const client = recordAwsCalls(new S3Client({ ...localClientConfig(s3.endpoint), forcePathStyle: true }));
  return {
    ...s3, client, bucket, dataDir,
    close: async () => {
      client.destroy();
      await s3.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
