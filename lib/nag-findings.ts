import { Stack } from 'aws-cdk-lib';
// cdk-nag's own renderer of a CloudFormation value into the text of a finding id (not in its index).
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * The id of cdk-nag's AwsSolutions-IAM5 finding for one wildcard resource, rendered the way cdk-nag
 * renders it (`<Logical.Arn>`, `<AWS::Region>`, ...), so that an acknowledgment names exactly that
 * resource and no other wildcard of the same policy.
 */
export function iam5ResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}

/** The id of cdk-nag's AwsSolutions-IAM4 finding for an AWS managed policy. */
export function iam4ManagedPolicyFinding(scope: IConstruct, managedPolicyArn: string): string {
  return `AwsSolutions-IAM4[Policy::${flattenCfnReference(Stack.of(scope).resolve(managedPolicyArn))}]`;
}
