import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTENT_PREFIXES } from '../../lambdas/core/content';
import { ContentBucket } from '../../lib/content-bucket';
import { minimalStack, resources } from './helpers';

describe('ContentBucket', () => {
  const stack = minimalStack();
  const content = new ContentBucket(stack, 'Content', { retentionDays: 45 });
  const template = Template.fromStack(stack);
  const contentId = stack.getLogicalId(content.bucket.node.defaultChild as never);
  const logsId = stack.getLogicalId(content.accessLogs.node.defaultChild as never);
  const bucket = resources(template, 'AWS::S3::Bucket')[contentId]!;

  it('is encrypted with S3-managed keys, private and unversioned', () => {
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket.Properties?.VersioningConfiguration).toBeUndefined();
  });

  it('expires sent and received content (and raw received messages) after the retention, and has no expiration that reaches scheduled content', () => {
    const rules = bucket.Properties?.LifecycleConfiguration.Rules as Record<string, unknown>[];
    const expiring = rules.filter((r) => r.ExpirationInDays !== undefined);
    expect(expiring).toEqual([CONTENT_PREFIXES.sent, CONTENT_PREFIXES.received, CONTENT_PREFIXES.inbound].map((Prefix) => expect.objectContaining({ Prefix, ExpirationInDays: 45, Status: 'Enabled' })));
    expect(rules.filter((r) => r.ExpirationInDays !== undefined && !r.Prefix)).toEqual([]);
    for (const p of expiring.map((r) => r.Prefix as string)) expect(CONTENT_PREFIXES.scheduled.startsWith(p)).toBe(false);
    expect(rules).toContainEqual(expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }));
  });

  it('refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: contentId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('logs server access to a private bucket that keeps the logs 90 days', () => {
    expect(bucket.Properties?.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'content/' });
    const logs = resources(template, 'AWS::S3::Bucket')[logsId]!;
    expect(logs.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 90 })] },
    });
  });

  it('keeps both buckets when the stack is deleted', () => {
    for (const id of [contentId, logsId]) expect(resources(template, 'AWS::S3::Bucket')[id]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('passes cdk-nag AwsSolutions (the access-log bucket\'s own logging acknowledged with its reason)', () => {
    const report = new AwsSolutionsChecks(stack.node.root).validateScope(stack);
    expect(report.violations).toEqual([]);
  });

  it('refuses a retention that is not a positive number of days', () => {
    expect(() => new ContentBucket(minimalStack(), 'C', { retentionDays: 0 })).toThrow('retentionDays must be a positive integer');
  });
});
