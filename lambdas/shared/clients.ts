/**
 * AWS SDK clients, created once per container and only when first used (a function that never
 * touches SQS never builds an SQS client). Endpoints follow the SDK's own convention
 * (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SESV2, AWS_ENDPOINT_URL_SQS), so local mode and
 * tests only set environment variables.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SQSClient } from '@aws-sdk/client-sqs';

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

export const documentClient = once(() =>
  DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  }),
);

export const sesClient = once(() => new SESv2Client({}));

export const sqsClient = once(() => new SQSClient({}));
