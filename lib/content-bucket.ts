import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, type LifecycleRule, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CONTENT_PREFIXES, type ContentStage, contentExpiryDays } from '../lambdas/core/content';

export interface ContentBucketProps {
  /** Days a sent email's content is kept, as the email itself (SESAME_RETENTION_DAYS). */
  readonly retentionDays: number;
  /** Days the bucket's server access logs are kept. @default 90 */
  readonly accessLogRetentionDays?: number;
  /** What happens to both buckets when the stack is deleted. @default RemovalPolicy.RETAIN: they hold customers' data */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The content bucket: attachments of emails sent at once and of scheduled emails, keyed as
 * lambdas/core/content.ts lays them out. Private and encrypted with S3-managed keys, reachable over
 * TLS only, unversioned (objects are written once), each prefix expiring after its own day count
 * (the retention; for scheduled content, the longest wait for the due time on top). Its server
 * access logs go to a second bucket of the same kind, kept for a while.
 */
export class ContentBucket extends Construct {
  /** The content bucket. */
  readonly bucket: Bucket;
  /** Where S3 writes the content bucket's server access logs. */
  readonly accessLogs: Bucket;

  constructor(scope: Construct, id: string, props: ContentBucketProps) {
    super(scope, id);
    const accessLogDays = props.accessLogRetentionDays ?? 90;
    for (const [name, days] of [['retentionDays', props.retentionDays], ['accessLogRetentionDays', accessLogDays]] as const) {
      if (!Number.isInteger(days) || days < 1) throw new Error(`${name} must be a positive integer, got ${days}`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.accessLogs = this.buildAccessLogs(accessLogDays, removalPolicy);
    this.bucket = new Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      versioned: false,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'content/',
      lifecycleRules: contentLifecycle(props.retentionDays),
      removalPolicy,
    });
  }

  private buildAccessLogs(days: number, removalPolicy: RemovalPolicy): Bucket {
    const logs = new Bucket(this, 'AccessLogs', {
      ...PRIVATE_BUCKET,
      versioned: false,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(days) }],
      removalPolicy,
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: "This bucket only receives the content bucket's server access logs; logging its own access would log every log delivery into itself. Reads of the logs are in CloudTrail's management events.",
    });
    return logs;
  }
}

/** What both buckets share: S3-managed encryption, no public access, TLS only, no ACLs. */
const PRIVATE_BUCKET = {
  encryption: BucketEncryption.S3_MANAGED,
  blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
} as const;

/**
 * One expiration rule per prefix (contentExpiryDays): what an email sent at once kept expires after
 * the retention, what a scheduled email kept after the retention plus the longest wait for its due
 * time. Uploads never finished are cleaned up after a day everywhere.
 */
export function contentLifecycle(retentionDays: number): LifecycleRule[] {
  return [
    ...(Object.keys(CONTENT_PREFIXES) as ContentStage[]).map((stage): LifecycleRule => ({
      id: `expire-${CONTENT_PREFIXES[stage].replace(/\/$/, '')}`,
      prefix: CONTENT_PREFIXES[stage],
      expiration: Duration.days(contentExpiryDays(stage, retentionDays)),
    })),
    { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
  ];
}

/** The object pattern of one stage's prefix (lambdas/core/content.ts), for grants. */
export const contentObjectPattern = (stage: ContentStage): string => `${CONTENT_PREFIXES[stage]}*`;
