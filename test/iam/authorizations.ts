/**
 * What IAM authorizes for one recorded AWS request: the action or actions, the resource ARN of each
 * (in the synthesized stack's account and region), and the context its conditions read. The one
 * place where an SDK operation becomes IAM actions and a request's input becomes ARNs.
 */
import type { RecordedCall, ResourceRef } from '../../lambdas/core/aws-calls';
import { TAG_STACK_KEY } from '../../lambdas/core/domain/identity-tags';
import { ACCOUNT, REGION, type StackResources } from './template';

export interface Authorization {
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string | string[]>>;
  /** The recorded request it comes from, for messages. */
  readonly from: string;
}

/** Operations whose IAM action has another name: the batch forms are authorized as the single ones. */
const ACTION_OF_OPERATION: Readonly<Record<string, string>> = {
  'sqs:SendMessageBatch': 'sqs:SendMessage',
  'sqs:DeleteMessageBatch': 'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibilityBatch': 'sqs:ChangeMessageVisibility',
};

const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT}:${resource}`;

/** A recorded resource as the stack's ARN, or ARNs where the request does not tell which. */
export function resourceArns(ref: ResourceRef, call: RecordedCall, stack: StackResources): string[] {
  return [resourceArn(ref, call, stack)].flat();
}

function resourceArn(ref: ResourceRef, call: RecordedCall, stack: StackResources): string | string[] {
  switch (ref.type) {
    case 'table':
      return stack.tableArn;
    case 'index':
      return `${stack.tableArn}/index/${ref.index}`;
    case 'identity':
      return arn('ses', `identity/${ref.name}`);
    case 'configuration-set':
      return arn('ses', `configuration-set/${ref.name}`);
    case 'queue': {
      // The functions address only the webhook queue (the DLQs are written by SQS, SNS and Lambda).
      // The admin tool names each queue by the variable it was given; one it was handed otherwise
      // (a test's configuration object) may be any of the stack's queues, so each must allow it.
      if (ref.env === 'SESAME_DISPATCH_QUEUE_URL') return stack.dispatchQueueArn;
      const env = ref.env ?? (call.caller === 'admin' ? undefined : 'SESAME_WEBHOOK_QUEUE_URL');
      if (env === undefined) return Object.values(stack.queues);
      const queue = stack.queues[env];
      if (!queue) throw new Error(`IAM evaluation: ${call.caller} ${call.operation} names queue ${ref.url} through ${env}, which names none of the stack's queues`);
      return queue;
    }
    case 'secret':
      return stack.secretArn;
    case 'topic':
      return stack.eventsTopicArn;
    case 'subscription':
      return `${stack.eventsTopicArn}:${ref.arn.slice(ref.arn.lastIndexOf(':') + 1)}`;
    case 'schedule':
      // Sesame makes schedules in the stack's one group only (local mode and the tests name theirs).
      return arn('scheduler', `schedule/${stack.scheduleGroup}/${ref.name}`);
    case 'object':
      // Sesame has one bucket, the content bucket: local mode's and the tests' stand in for it.
      return `${stack.contentBucketArn}/${ref.key}`;
    case 'tenant':
      // `<prefix>-<tenant id>`, then the id SES generates. Tests and local mode use prefixes of their
      // own; the tenant is evaluated as this stack's, under the stack's prefix.
      return arn('ses', `tenant/${stack.sesTenantPrefix}-${ref.name.slice(ref.name.indexOf('-') + 1)}/tn-0123456789abcdef`);
    case 'reputation-policy':
      return `arn:aws:ses:${REGION}:aws:reputation-policy/${ref.name}`;
  }
}

/**
 * The authorizations a recorded call needs:
 * - one per resource it names (ses:SendEmail: the identity AND the configuration set), or `*`;
 * - tags passed on create also authorized as ses:TagResource on the new resource (tag-on-create);
 * - aws:RequestTag/<key> and aws:TagKeys from the tags it passes;
 * - on an SES identity, aws:ResourceTag/sesame_stack: the identities Sesame acts on are the ones its
 *   domains function created, which the create's own evaluation shows carry this stack's name.
 */
export function authorizationsOf(call: RecordedCall, stack: StackResources): Authorization[] {
  const operation = `${call.service}:${call.operation}`;
  const action = ACTION_OF_OPERATION[operation] ?? operation;
  const from = `${call.operation}`;
  const requestTags: Record<string, string | string[]> = {};
  if (call.tags) {
    for (const [k, v] of Object.entries(call.tags)) requestTags[`aws:RequestTag/${k}`] = v;
    requestTags['aws:TagKeys'] = Object.keys(call.tags);
  }
  // SendEmail names its tenant (TenantName) as the ses:TenantName condition key, not as a resource.
  const named = operation === 'ses:SendEmail' ? call.resources.filter((r) => r.type !== 'tenant') : call.resources;
  const refs = named.length ? named : [undefined];
  const out: Authorization[] = [];
  for (const ref of refs) {
    const existing: Record<string, string> = ref?.type === 'identity' && !call.operation.startsWith('Create') ? { [`aws:ResourceTag/${TAG_STACK_KEY}`]: stack.stackName } : {};
    for (const resource of ref ? resourceArns(ref, call, stack) : ['*']) {
      out.push({ action, resource, context: { ...requestTags, ...existing }, from });
      if (ref?.type === 'schedule' && ref.roleArn !== undefined) {
        // A schedule's target role is passed to the scheduler: iam:PassRole on the stack's role.
        out.push({ action: 'iam:PassRole', resource: stack.schedulerRoleArn, context: { 'iam:PassedToService': 'scheduler.amazonaws.com' }, from: `${from} (its target's role)` });
      }
      if (call.tags && call.operation.startsWith('Create') && call.service === 'ses') {
        out.push({ action: 'ses:TagResource', resource, context: requestTags, from: `${from} (tags on create)` });
      }
    }
  }
  return out;
}
