/**
 * AWS's published on-demand prices, us-east-1, in one table: the only place the benchmark takes a
 * price from. Each entry names the page it was read from; `READ_ON` is when. First tiers only (the
 * volume discounts start far above what one Sesame stack sends), free tiers ignored.
 *
 * When AWS changes a price, change it here and the date with it; bench/cost.ts does the rest.
 */

export const READ_ON = '2026-11-29';
export const REGION = 'us-east-1';

export interface Price {
  /** US dollars for `per` units. */
  readonly usd: number;
  readonly per: number;
  /** What one unit is. */
  readonly unit: string;
  /** Where the price was read. */
  readonly source: string;
}

export const PRICES = {
  /** SES itself, the yardstick: the infrastructure is measured as a share of it. */
  sesEmail: { usd: 0.1, per: 1_000, unit: 'email sent (outbound message)', source: 'https://aws.amazon.com/ses/pricing/' },

  sesReceivedEmail: { usd: 0.1, per: 1_000, unit: 'email received (SES receiving)', source: 'https://aws.amazon.com/ses/pricing/ (Inbound email)' },
  sesReceivedChunk: {
    usd: 0.09, per: 1_000, unit: 'incoming mail chunk (each started 256 KB of a received message)', source: 'https://aws.amazon.com/ses/pricing/ (Inbound email)',
  },

  lambdaRequest: { usd: 0.2, per: 1_000_000, unit: 'invocation', source: 'https://aws.amazon.com/lambda/pricing/' },
  lambdaArmGbSecond: {
    usd: 0.0000133334, per: 1, unit: 'GB-second on arm64 (first 7.5 billion GB-s a month)',
    source: 'https://aws.amazon.com/lambda/pricing/ (as cross-read at https://cloudchipr.com/blog/aws-lambda-pricing)',
  },

  dynamoWriteUnit: {
    usd: 0.625, per: 1_000_000, unit: 'write request unit (up to 1 KB written; on-demand, Standard table class)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/ (as cross-read at https://airbyte.com/data-engineering-resources/dynamodb-pricing)',
  },
  dynamoReadUnit: {
    usd: 0.125, per: 1_000_000, unit: 'read request unit (a strongly consistent read up to 4 KB; half for eventually consistent)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  },
  dynamoStorageGbMonth: { usd: 0.25, per: 1, unit: 'GB-month stored (Standard table class, items + 100 bytes each)', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },
  dynamoPitrGbMonth: { usd: 0.2, per: 1, unit: 'GB-month of point-in-time recovery (continuous backups)', source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/' },

  sqsRequest: {
    usd: 0.4, per: 1_000_000, unit: 'standard-queue request (each 64 KB chunk of a payload is one)',
    source: 'https://aws.amazon.com/sqs/pricing/ (as cross-read at https://cloudburn.io/blog/amazon-sqs-pricing)',
  },

  s3PutRequest: {
    usd: 0.005, per: 1_000, unit: 'S3 Standard PUT request (an attachment written to the content bucket)',
    source: 'https://aws.amazon.com/s3/pricing/ (Requests & data retrievals, S3 Standard: PUT, COPY, POST, LIST)',
  },
  s3GetRequest: {
    usd: 0.0004, per: 1_000, unit: 'S3 Standard GET request (the inbound function reading a raw message)',
    source: 'https://aws.amazon.com/s3/pricing/ (Requests & data retrievals, S3 Standard: GET, SELECT, and all other requests)',
  },
  s3StorageGbMonth: { usd: 0.023, per: 1, unit: 'GB-month stored in S3 Standard (first 50 TB)', source: 'https://aws.amazon.com/s3/pricing/' },

  snsPublish: {
    usd: 0.5, per: 1_000_000, unit: 'standard-topic publish (each 64 KB chunk is one)',
    source: 'https://aws.amazon.com/sns/pricing/ (as cross-read at https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/)',
  },
  snsLambdaDelivery: { usd: 0, per: 1_000_000, unit: 'delivery to a Lambda subscriber (no charge)', source: 'https://aws.amazon.com/sns/pricing/' },

  apiGatewayHttpRequest: {
    usd: 1.0, per: 1_000_000, unit: 'HTTP API request (first 300 million a month; each 512 KB is one)',
    source: 'https://aws.amazon.com/api-gateway/pricing/ (as cross-read at https://awsforengineers.com/blog/aws-api-gateway-pricing-explained)',
  },

  logsIngestedGb: {
    usd: 0.5, per: 1, unit: 'GB of Lambda logs ingested (Standard class, first tier of the vended-log tiers)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/ (as cross-read at https://www.duckbillgroup.com/?p=9080)',
  },

  schedulerInvocation: {
    usd: 1.0, per: 1_000_000, unit: 'EventBridge Scheduler invocation (after 14 million free a month, ignored); schedule API calls are free',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
  },

  secretsManagerCall: {
    usd: 0.05, per: 10_000, unit: 'Secrets Manager API call',
    source: 'https://aws.amazon.com/secrets-manager/pricing/ (as cross-read at https://hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms)',
  },
} as const satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;

/** The price of one unit. */
export const unitPrice = (key: PriceKey, prices: Record<PriceKey, Price> = PRICES): number => prices[key].usd / prices[key].per;
