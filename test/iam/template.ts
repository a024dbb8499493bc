/**
 * The synthesized stack as IAM sees it: every function's role policies and the operator's managed
 * policy, with CloudFormation's intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, ...) resolved to
 * concrete ARNs in one fixed account and region, and the same resolution for the ARNs of the stack's
 * own resources, so that both sides of each evaluation name resources alike.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CALL_LOG_ENV, type Caller } from '../../lambdas/core/aws-calls';
import { LOCAL_CONFIGURATION_SET, LOCAL_STACK_NAME } from '../../lambdas/core/config';
import { SesameStack } from '../../lib/sesame-stack';
import type { SesameFunction } from '../../lib/sesame-function';
import { cdkJsonContext } from '../infra/helpers';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
const PARTITION = 'aws';

type Json = unknown;
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, Json>;
}

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Statement[];
}

export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** What one principal (a function's role, or the operator) is allowed, and what AWS does with it. */
export interface Principal {
  readonly caller: Caller;
  readonly arn: string;
  /** Inline and customer-managed policies, resolved. */
  readonly policies: readonly { readonly name: string; readonly document: PolicyDocument }[];
  /** AWS managed policies attached to the role (their documents are AWS's). */
  readonly awsManagedPolicies: readonly string[];
  /** Queues that an event source mapping of the function reads (Lambda polls them with the role). */
  readonly eventSourceQueues: readonly string[];
  /** Destinations Lambda sends the function's asynchronous invocation records to, with the role. */
  readonly asyncDestinations: readonly string[];
}

/** The stack's resources a recorded call can name, as ARNs. */
export interface StackResources {
  readonly stackName: string;
  /** SES tenants are `<sesTenantPrefix>-<tenant id>`. */
  readonly sesTenantPrefix: string;
  readonly tableArn: string;
  /** SESAME_* variable naming a queue -> the queue's ARN. */
  readonly queues: Readonly<Record<string, string>>;
  readonly secretArn: string;
  readonly eventsTopicArn: string;
  /** The dispatch queue: only the dispatch function addresses it (SESAME_DISPATCH_QUEUE_URL, local mode). */
  readonly dispatchQueueArn: string;
  /** The stack's schedule group and the role its schedules run as. */
  readonly scheduleGroup: string;
  readonly schedulerRoleArn: string;
  readonly contentBucketArn: string;
}

export interface SynthesizedStack {
  readonly principals: Readonly<Record<Caller, Principal>>;
  readonly resources: StackResources;
  /** Environment variables of each function, resolved. */
  readonly environment: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

export class Resolver {
  constructor(private readonly resources: Readonly<Record<string, CfnResource>>, private readonly stackName: string) {}

  private physicalName(logicalId: string, r: CfnResource): string {
    const p = r.Properties ?? {};
    const explicit = p.TableName ?? p.QueueName ?? p.TopicName ?? p.FunctionName ?? p.RoleName ?? p.ManagedPolicyName ?? p.LogGroupName ?? p.Name;
    return typeof explicit === 'string' ? explicit : logicalId;
  }

  ref(logicalId: string): string {
    switch (logicalId) {
      case 'AWS::Partition': return PARTITION;
      case 'AWS::Region': return REGION;
      case 'AWS::AccountId': return ACCOUNT;
      case 'AWS::URLSuffix': return 'amazonaws.com';
      case 'AWS::StackName': return this.stackName;
    }
    const r = this.resource(logicalId);
    const name = this.physicalName(logicalId, r);
    switch (r.Type) {
      case 'AWS::SQS::Queue': return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
      case 'AWS::S3::Bucket': return name.toLowerCase();
      case 'AWS::SNS::Topic': return `arn:${PARTITION}:sns:${REGION}:${ACCOUNT}:${name}`;
      case 'AWS::SecretsManager::Secret': return `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
      case 'AWS::IAM::ManagedPolicy': return `arn:${PARTITION}:iam::${ACCOUNT}:policy/${name}`;
      case 'AWS::DynamoDB::Table':
      case 'AWS::SES::ConfigurationSet':
      case 'AWS::Lambda::Function':
      case 'AWS::IAM::Role':
      case 'AWS::Logs::LogGroup':
        return name;
      default:
        throw new Error(`IAM evaluation: no physical id for Ref to ${logicalId} (${r.Type})`);
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    const r = this.resource(logicalId);
    const name = this.physicalName(logicalId, r);
    const key = `${r.Type}.${attribute}`;
    switch (key) {
      case 'AWS::DynamoDB::Table.Arn': return `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
      case 'AWS::DynamoDB::Table.StreamArn': return `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${name}/stream/2026-01-01T00:00:00.000`;
      case 'AWS::SQS::Queue.Arn': return `arn:${PARTITION}:sqs:${REGION}:${ACCOUNT}:${name}`;
      case 'AWS::SQS::Queue.QueueName': return name;
      case 'AWS::SQS::Queue.QueueUrl': return this.ref(logicalId);
      case 'AWS::SNS::Topic.TopicArn': return this.ref(logicalId);
      case 'AWS::SNS::Topic.TopicName': return name;
      case 'AWS::Lambda::Function.Arn': return `arn:${PARTITION}:lambda:${REGION}:${ACCOUNT}:function:${name}`;
      case 'AWS::IAM::Role.Arn': return `arn:${PARTITION}:iam::${ACCOUNT}:role/${name}`;
      case 'AWS::S3::Bucket.Arn': return `arn:${PARTITION}:s3:::${this.ref(logicalId)}`;
      case 'AWS::Logs::LogGroup.Arn': return `arn:${PARTITION}:logs:${REGION}:${ACCOUNT}:log-group:${name}:*`;
      default:
        throw new Error(`IAM evaluation: no value for Fn::GetAtt ${logicalId}.${attribute} (${r.Type})`);
    }
  }

  private resource(logicalId: string): CfnResource {
    const r = this.resources[logicalId];
    if (!r) throw new Error(`IAM evaluation: the template has no resource ${logicalId}`);
    return r;
  }

  /** The value with every intrinsic function replaced by what CloudFormation would put there. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, Json>;
    const keys = Object.keys(obj);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = obj[fn];
      switch (fn) {
        case 'Ref': return this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attr] = typeof arg === 'string' ? (arg.split('.') as [string, string]) : (arg as [string, string]);
          return this.getAtt(id, attr);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, Json[]];
          return (this.resolve(parts) as Json[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [number | string, Json];
          return (this.resolve(list) as Json[])[Number(index)];
        }
        case 'Fn::Split': {
          const [sep, source] = arg as [string, Json];
          return String(this.resolve(source)).split(sep);
        }
        case 'Fn::Sub': {
          const [template, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, Json>]);
          return template.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
            if (name in vars) return String(this.resolve(vars[name]));
            const dot = name.indexOf('.');
            return dot > 0 ? this.getAtt(name.slice(0, dot), name.slice(dot + 1)) : this.ref(name);
          });
        }
      }
      if (fn.startsWith('Fn::')) throw new Error(`IAM evaluation: intrinsic ${fn} is not resolved`);
    }
    return Object.fromEntries(keys.map((k) => [k, this.resolve(obj[k])]));
  }
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Synthesizes the stack once per jest run (no bundling, cdk.json's context; kept beside the recorded
 * calls for the run's other readers), named as local mode and the tests name theirs
 * (LOCAL_STACK_NAME): the sesame_stack tag the recorded calls carry is this stack's.
 */
export function synthesizeForIam(): SynthesizedStack {
  const dir = process.env[CALL_LOG_ENV];
  const cached = dir ? join(dir, 'iam-stack.json') : undefined;
  if (cached && existsSync(cached)) return JSON.parse(readFileSync(cached, 'utf8')) as SynthesizedStack;
  const synthesized = synthesize();
  if (cached) {
    writeFileSync(`${cached}.${process.pid}`, JSON.stringify(synthesized));
    renameSync(`${cached}.${process.pid}`, cached);
  }
  return synthesized;
}

function synthesize(): SynthesizedStack {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  // Receiving on: the inbound function and the grants received email needs are evaluated too.
  const stack = new SesameStack(app, 'Sesame', { stackName: LOCAL_STACK_NAME, configurationSetPrefix: LOCAL_CONFIGURATION_SET, env: { account: ACCOUNT, region: REGION }, receiving: true });
  const template = Template.fromStack(stack).toJSON() as { Resources: Record<string, CfnResource> };
  const resolver = new Resolver(template.Resources, stack.stackName);
  const arnOf = (token: string) => resolver.resolve(stack.resolve(token)) as string;
  const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

  const principals = {} as Record<Caller, Principal>;
  const environment: Record<string, Record<string, string>> = {};
  for (const [caller, fn] of Object.entries(stack.functions) as [Caller, SesameFunction][]) {
    const roleId = stack.getLogicalId(fn.fn.role!.node.defaultChild as never);
    const fnId = stack.getLogicalId(fn.fn.node.defaultChild as never);
    const isRole = (v: Json) => JSON.stringify(v) === JSON.stringify({ Ref: roleId });
    const isFn = (v: Json) => JSON.stringify(v) === JSON.stringify({ Ref: fnId });
    const role = template.Resources[roleId]!;
    const fnResource = template.Resources[fnId]!;
    environment[caller] = resolver.resolve(((fnResource.Properties?.Environment as { Variables?: Json } | undefined)?.Variables) ?? {}) as Record<string, string>;
    principals[caller] = {
      caller,
      arn: resolver.getAtt(roleId, 'Arn'),
      policies: byType('AWS::IAM::Policy')
        .filter(([, p]) => list(p.Properties?.Roles as Json[]).some(isRole))
        .map(([id, p]) => ({ name: id, document: resolver.resolve(p.Properties!.PolicyDocument) as PolicyDocument })),
      awsManagedPolicies: list(role.Properties?.ManagedPolicyArns as Json[]).map((a) => resolver.resolve(a) as string),
      eventSourceQueues: byType('AWS::Lambda::EventSourceMapping')
        .filter(([, m]) => isFn(m.Properties?.FunctionName))
        .map(([, m]) => resolver.resolve(m.Properties!.EventSourceArn) as string),
      asyncDestinations: byType('AWS::Lambda::EventInvokeConfig')
        .filter(([, c]) => isFn(c.Properties?.FunctionName))
        .flatMap(([, c]) => {
          const d = c.Properties?.DestinationConfig as { OnFailure?: { Destination: Json }; OnSuccess?: { Destination: Json } } | undefined;
          return [d?.OnFailure?.Destination, d?.OnSuccess?.Destination].filter((x) => x !== undefined).map((x) => resolver.resolve(x) as string);
        }),
    };
  }
  const operatorId = stack.getLogicalId(stack.operatorPolicy.policy.node.defaultChild as never);
  principals.admin = {
    caller: 'admin',
    arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/sesame-operator`,
    policies: [{ name: operatorId, document: resolver.resolve(template.Resources[operatorId]!.Properties!.PolicyDocument) as PolicyDocument }],
    awsManagedPolicies: [],
    eventSourceQueues: [],
    asyncDestinations: [],
  };

  return {
    principals,
    environment,
    resources: {
      stackName: stack.stackName,
      sesTenantPrefix: stack.sesTenantPrefix,
      tableArn: arnOf(stack.table.table.tableArn),
      queues: {
        SESAME_WEBHOOK_QUEUE_URL: arnOf(stack.webhooks.queue.queueArn),
        SESAME_WEBHOOK_DLQ_URL: arnOf(stack.webhooks.deadLetterQueue.queue.queueArn),
        SESAME_EVENTS_DLQ_URL: arnOf(stack.events.subscriptionDeadLetterQueue.queue.queueArn),
        SESAME_INGEST_FAILURE_DLQ_URL: arnOf(stack.events.ingestFailureQueue.queue.queueArn),
        SESAME_INBOUND_DLQ_URL: arnOf(stack.receiving!.failureQueue.queue.queueArn),
        SESAME_DISPATCH_DLQ_URL: arnOf(stack.scheduler.deadLetterQueue.queue.queueArn),
      },
      dispatchQueueArn: arnOf(stack.scheduler.queue.queueArn),
      scheduleGroup: stack.scheduler.group.scheduleGroupName,
      schedulerRoleArn: arnOf(stack.scheduler.role.roleArn),
      secretArn: arnOf(stack.secretsKey.secret.secretArn),
      eventsTopicArn: arnOf(stack.events.topic.topicArn),
      contentBucketArn: arnOf(stack.content.bucket.bucketArn),
    },
  };
}
