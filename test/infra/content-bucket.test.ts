import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTENT_PREFIXES, contentExpiryDays, latestDueWithContent } from '../../lambdas/core/content';
import { MAX_SCHEDULE_AHEAD_DAYS } from '../../lambdas/core/domain/schedule';
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

  it('expires sent and received content (and raw received messages) after the retention, scheduled content after the retention plus the longest wait', () => {
    const rules = bucket.Properties?.LifecycleConfiguration.Rules as Record<string, unknown>[];
    const expiring = rules.filter((r) => r.ExpirationInDays !== undefined);
    expect(expiring).toEqual([
      expect.objectContaining({ Prefix: CONTENT_PREFIXES.sent, ExpirationInDays: 45, Status: 'Enabled' }),
      expect.objectContaining({ Prefix: CONTENT_PREFIXES.scheduled, ExpirationInDays: 45 + MAX_SCHEDULE_AHEAD_DAYS + 1, Status: 'Enabled' }),
      expect.objectContaining({ Prefix: CONTENT_PREFIXES.received, ExpirationInDays: 45, Status: 'Enabled' }),
      expect.objectContaining({ Prefix: CONTENT_PREFIXES.inbound, ExpirationInDays: 45, Status: 'Enabled' }),
    ]);
    expect(rules.filter((r) => r.ExpirationInDays !== undefined && !r.Prefix)).toEqual([]);
    // No prefix reaches into another's objects (each rule expires its own).
    const prefixes = expiring.map((r) => r.Prefix as string);
    for (const p of prefixes) for (const q of prefixes) if (p !== q) expect(q.startsWith(p)).toBe(false);
    expect(rules).toContainEqual(expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }));
  });

  it('keeps scheduled content past the email\'s own expiry, however late its due time and wherever the write falls in a day', () => {
    // Written at the email's creation; the email expires the retention after its latest due time.
    const created = Date.parse('2030-01-01T23:59:59.999Z');
    const emailExpiry = latestDueWithContent(created) + 45 * 86_400_000;
    // S3 expires an object at the midnight UTC after its write plus the day count: at the earliest, that day count later.
    const objectExpiry = created + contentExpiryDays('scheduled', 45) * 86_400_000;
    expect(objectExpiry).toBeGreaterThan(emailExpiry);
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
