/**
 * AWS SDK clients, created once per container and only when first used (a function that never
 * touches SQS never builds an SQS client). Endpoints follow the SDK's own convention
 * (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SESV2, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_SCHEDULER,
 * AWS_ENDPOINT_URL_S3), so local mode and tests only set environment variables.
 *
 * Each getter is marked pure, so that esbuild drops a getter a function never calls, and with it
 * that client's package: the ingest bundle carries no SES client, the send bundle no SQS client.
 *
 * Each client records its requests when the test suites ask for it (aws-calls.ts), so that the
 * offline IAM evaluation sees every call a function makes.
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { S3Client } from '@aws-sdk/client-s3';
import { recordAwsCalls } from './aws-calls';
import { sendingClient } from './adapters/ses-client';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SchedulerClient } from '@aws-sdk/client-scheduler';

/** What may be changed in how the clients are built. Nothing in production code sets it. */
export interface ClientOverrides {
  /**
   * The HTTP handler of every client built here, instead of the SDK's node:http one. The benchmark
   * (bench/) answers with canned AWS responses in memory, so the SDK's own serialisation and
   * parsing still run.
   */
  readonly requestHandler?: DynamoDBClientConfig['requestHandler'];
}

let overrides: ClientOverrides = {};
let built = false;

/**
 * Sets how the clients are built. Only before the first client exists (before the handler module
 * is imported): a client already built would silently keep the old settings, so that throws.
 */
export function configureClients(next: ClientOverrides): void {
  if (built) throw new Error('configureClients must be called before the first AWS client is built');
  overrides = { ...next };
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    if (value === undefined) {
      built = true;
      value = make();
    }
    return value;
  };
}

export const documentClient = /* @__PURE__ */ once(() =>
  DynamoDBDocumentClient.from(recordAwsCalls(new DynamoDBClient({ ...overrides })), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  }),
);

export const sesClient = /* @__PURE__ */ once(() => recordAwsCalls(new SESv2Client({ ...overrides })));

/** The SES client for SendEmail: one attempt per call (adapters/ses-client.ts `sendingClient`). */
export const sesSendClient = /* @__PURE__ */ once(() => recordAwsCalls(sendingClient({ ...overrides })));

export const sqsClient = /* @__PURE__ */ once(() => recordAwsCalls(new SQSClient({ ...overrides })));

/** Secrets Manager: the key of webhook signing secrets (adapters/secrets.ts), fetched once per container. */
export const secretsClient = /* @__PURE__ */ once(() => recordAwsCalls(new SecretsManagerClient({ ...overrides })));

/** Only for stacks given Route 53 zones (the domains function). */
export const route53Client = /* @__PURE__ */ once(() => recordAwsCalls(new Route53Client({ ...overrides })));

export const schedulerClient = /* @__PURE__ */ once(() => recordAwsCalls(new SchedulerClient({ ...overrides })));

/**
 * S3 (the content bucket). A local S3-protocol endpoint (AWS_ENDPOINT_URL_S3) is addressed by path,
 * `http://127.0.0.1:4569/<bucket>/<key>`, since `<bucket>.127.0.0.1` resolves nowhere; AWS itself
 * by virtual host.
 */
export const s3Client = /* @__PURE__ */ once(() => recordAwsCalls(new S3Client({ ...overrides, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3) })));
