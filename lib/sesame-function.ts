import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IRole, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, type ICommandHooks, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type LambdaBundling, lambdaBundling } from './bundling';
import { TAG_STACK_KEY, TAG_TENANT_KEY } from '../lambdas/core/domain/identity-tags';
import type { HostedZone } from '../lambdas/core/domain/route53-records';
import { sesTenantPrefixOf } from '../lambdas/core/domain/ses-tenants';
import { iam4ManagedPolicyFinding, iam5ResourceFinding } from './nag-findings';
import { contentObjectPattern } from './content-bucket';
import type { ContentStage } from '../lambdas/core/content';

/** Folder that holds one sub-folder per function (`lambdas/<name>/handler.ts`). */
export const LAMBDAS_DIR = path.join(__dirname, '..', 'lambdas');

/**
 * The table actions Sesame uses: single-item reads and conditional writes, queries, batched reads.
 * Never Scan, BatchWriteItem, ConditionCheckItem, DescribeTable or the stream reads, which
 * grantReadWriteData would bring.
 */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

/** What a function does with the table; the offline IAM evaluation (test/iam) shows each is used. */
export interface TableAccess {
  /** Actions on the table's items (a Query here is a query of the table itself). */
  readonly items: readonly TableAction[];
  /** Whether it queries the table's global secondary indexes. @default false */
  readonly queryIndexes?: boolean;
}

/** What the domains function does to the identities it created: configure them and delete them. */
export const IDENTITY_MUTATING_ACTIONS = [
  'ses:DeleteEmailIdentity',
  'ses:PutEmailIdentityMailFromAttributes',
  'ses:PutEmailIdentityFeedbackAttributes',
] as const;

/** The tag keys Sesame puts on an identity, and only those (aws:TagKeys). */
export const IDENTITY_TAG_KEYS = [TAG_TENANT_KEY, TAG_STACK_KEY] as const;

export interface SesameFunctionProps {
  /** Folder under `lambdas/` whose `handler.ts` exports `handler`, e.g. `send`. */
  readonly entryDir: string;
  /** Function description shown in the console. @default - none */
  readonly description?: string;
  /** Memory in MiB. @default 256 */
  readonly memorySize?: number;
  /** Timeout. @default 10 seconds */
  readonly timeout?: Duration;
  /** Turn on active X-Ray tracing. Off by default: it would cost more per email than the rest together. @default false */
  readonly tracing?: boolean;
  /** Retention of the function's log group. @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * Keep Lambda's own START/END/REPORT lines in the log group. Off by default: they are about 300
   * bytes per invocation, which `npm run bench` prices at about $0.70 per million emails, and the
   * same durations are in CloudWatch's Lambda metrics. @default false
   */
  readonly platformLogs?: boolean;
  /**
   * Bundle the AWS SDK v3 into the function (`externalModules: []`) instead of using the runtime's copy.
   * Bundling pins the SDK version the tests ran with; `npm run bench` measured start-up within a few
   * milliseconds either way of the same code loading the SDK unbundled (README, "Benchmark"). @default true
   */
  readonly bundleAwsSdk?: boolean;
  /**
   * The least level of the function's own lines that reaches its log group: Lambda's application log
   * level, which Lambda filters JSON lines by and which Powertools Logger reads (AWS_LAMBDA_LOG_LEVEL).
   * The one log-level setting. @default ApplicationLogLevel.INFO
   */
  readonly logLevel?: ApplicationLogLevel;
  /** Extra environment variables (Sesame's own names, see the README's Configuration table). @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Shell commands run after esbuild, given the bundle's output folder (files the handler reads
   * beside itself, such as the console's built assets). Called only when the stack is bundled. @default - none
   */
  readonly afterBundling?: (outputDir: string) => string[];
}

/**
 * The house Lambda function: Node.js 24 on arm64, bundled and minified by esbuild as CommonJS,
 * an explicit log group with a retention, tracing off unless asked. Resources are attached with
 * the `bind*` methods, which grant the least access and set the matching environment variable,
 * so a function's permissions and its configuration cannot drift apart.
 */
export class SesameFunction extends Construct {
  /** The underlying function. */
  readonly fn: NodejsFunction;
  /** The function's log group. */
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SesameFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention ?? RetentionDays.ONE_MONTH });
    this.fn = new NodejsFunction(this, 'Function', {
      entry: path.join(LAMBDAS_DIR, props.entryDir, 'handler.ts'),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: props.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      logGroup: this.logGroup,
      // JSON logs: Powertools Logger writes one JSON object a line with the `level` and `timestamp`
      // keys Lambda filters by; Lambda's platform lines only at WARN (timeouts, crashes) unless asked for.
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: props.logLevel ?? ApplicationLogLevel.INFO,
      systemLogLevelV2: props.platformLogs ? SystemLogLevel.INFO : SystemLogLevel.WARN,
      // SDK v3 reuses connections by itself; the old variable is noise (so it is not set).
      awsSdkConnectionReuse: false,
      // The `service` of every log line and metric: the function's folder (send, ingest, ...).
      environment: { POWERTOOLS_SERVICE_NAME: props.entryDir, ...props.environment },
      bundling: {
        ...cdkBundling(lambdaBundling({ bundleAwsSdk: props.bundleAwsSdk ?? true })),
        ...(props.afterBundling ? { commandHooks: afterBundlingHooks(props.afterBundling) } : {}),
      },
    });
    this.acknowledge(
      iam4ManagedPolicyFinding(this, ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole').managedPolicyArn),
      'AWSLambdaBasicExecutionRole only allows writing logs (logs:CreateLogGroup, CreateLogStream, PutLogEvents); the log group is created by the stack with a retention. It is the role CDK gives every function; a hand-written copy would grant the same.',
    );
  }

  /** Sets one environment variable. */
  setEnv(name: string, value: string): this {
    this.fn.addEnvironment(name, value);
    return this;
  }

  /**
   * Grants the named table actions, and Query on the indexes when asked, and sets SESAME_TABLE_NAME.
   * DynamoDB authorizes a query of an index on the index's ARN (`<table>/index/<name>`), so that is
   * the only action granted there.
   */
  bindTable(table: ITable, access: TableAccess): this {
    if (access.items.length === 0) throw new Error('bindTable: no table action given');
    Grant.addToPrincipal({ grantee: this.fn, actions: access.items.map((a) => `dynamodb:${a}`), resourceArns: [table.tableArn] });
    if (!access.queryIndexes) return this.setEnv('SESAME_TABLE_NAME', table.tableName);
    Grant.addToPrincipal({ grantee: this.fn, actions: ['dynamodb:Query'], resourceArns: [`${table.tableArn}/index/*`] });
    this.acknowledge(
      iam5ResourceFinding(this, `${table.tableArn}/index/*`),
      "The table grant covers the table's own global secondary indexes (<table>/index/*: gsi1, gsi2 of lambdas/core/table.ts), which the function queries; no other table is included.",
    );
    return this.setEnv('SESAME_TABLE_NAME', table.tableName);
  }

  /**
   * `send`: grants SendMessage (SendMessageBatch is authorized as SendMessage) and sets
   * SESAME_WEBHOOK_QUEUE_URL; not grantSendMessages, whose GetQueueAttributes and GetQueueUrl nothing calls.
   * `consume`: grants receive, delete and ChangeMessageVisibility (retries are carried by visibility
   * timeouts); the event source mapping itself is added by the queue's construct.
   */
  bindWebhookQueue(queue: IQueue, access: 'send' | 'consume'): this {
    if (access === 'consume') {
      queue.grantConsumeMessages(this.fn);
      return this;
    }
    Grant.addToPrincipal({ grantee: this.fn, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
    return this.setEnv('SESAME_WEBHOOK_QUEUE_URL', queue.queueUrl);
  }

  /**
   * Grants access to the content bucket's objects and sets SESAME_CONTENT_BUCKET. `r`: GetObject
   * (what a presigned download URL is authorised with); `w`: PutObject and DeleteObject; `rw`: both.
   * Only these actions, on the objects under the prefixes of the given stages (the sent emails' by
   * default; scheduled sending adds its own): the L2 grants would add bucket reads, listings,
   * tagging, ACL, retention and legal-hold actions that nothing here calls.
   */
  bindContent(bucket: IBucket, access: 'r' | 'w' | 'rw', stages: readonly ContentStage[] = ['sent']): this {
    const actions = [...(access.includes('r') ? ['s3:GetObject'] : []), ...(access.includes('w') ? ['s3:PutObject', 's3:DeleteObject'] : [])];
    const objects = stages.map((stage) => bucket.arnForObjects(contentObjectPattern(stage)));
    this.fn.addToRolePolicy(new PolicyStatement({ actions, resources: objects }));
    for (const arn of objects) {
      this.acknowledge(
        iam5ResourceFinding(this, arn),
        "Objects are keyed by tenant, email and attachment ids made at run time, so the grant names a key prefix of the bucket (emails/* or scheduled/*: lambdas/core/content.ts), not single objects; the handlers check the tenant before making any key.",
      );
    }
    return this.setEnv('SESAME_CONTENT_BUCKET', bucket.bucketName);
  }

  /** Sets SESAME_EVENTS_TOPIC_ARN: the only topic whose events the function accepts. No permission needed. */
  /**
   * The inbound function's access to the content bucket: read and delete the raw messages SES
   * stored under `inbound/`, write received emails' attachments and bodies under `received/`.
   */
  bindInboundContent(bucket: IBucket): this {
    const raw = bucket.arnForObjects(contentObjectPattern('inbound'));
    const received = bucket.arnForObjects(contentObjectPattern('received'));
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:GetObject', 's3:DeleteObject'], resources: [raw] }));
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [received] }));
    for (const arn of [raw, received]) {
      this.acknowledge(
        iam5ResourceFinding(this, arn),
        'Raw messages are keyed by the SES message id, received content by tenant and email ids made at run time, so the grant names a key prefix of the bucket (inbound/* or received/*: lambdas/core/content.ts), not single objects.',
      );
    }
    return this.setEnv('SESAME_CONTENT_BUCKET', bucket.bucketName);
  }

  bindEventsTopic(topic: ITopic): this {
    return this.setEnv('SESAME_EVENTS_TOPIC_ARN', topic.topicArn);
  }

  /**
   * Grants GetSecretValue on the key that encrypts webhook signing secrets and sets
   * SESAME_SECRETS_KEY_ARN. Only GetSecretValue: grantRead would add DescribeSecret, which nothing calls.
   */
  bindSecretsKey(secret: ISecret): this {
    Grant.addToPrincipal({ grantee: this.fn, actions: ['secretsmanager:GetSecretValue'], resourceArns: [secret.secretArn] });
    return this.setEnv('SESAME_SECRETS_KEY_ARN', secret.secretArn);
  }

  /**
   * Allows sending through the given configuration sets and sets SESAME_CONFIGURATION_SET to their prefix.
   * ses:SendEmail is authorised against both the sending identity and the configuration set
   * (aws/aws-cdk issue 34402), so the statement names both. Identities are created at run time by the
   * domains API, hence `identity/*`; the handler checks that the tenant owns the domain. Not
   * ses:SendRawEmail: SES v2 SendEmail is authorised as ses:SendEmail whatever its content type.
   */
  bindSending(sending: { readonly configurationSetPrefix: string; readonly configurationSetArns: readonly string[] }): this {
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identityArn(this), ...sending.configurationSetArns],
      }),
    );
    this.acknowledge(iam5ResourceFinding(this, identityArn(this)), IDENTITY_WILDCARD_REASON);
    return this.setEnv('SESAME_CONFIGURATION_SET', sending.configurationSetPrefix);
  }

  /**
   * Allows creating, reading, configuring and deleting SES identities (the domains API), and sets
   * SESAME_STACK_NAME, the value of the sesame_stack tag every identity it creates carries.
   * - Create: only with Sesame's two tags, sesame_stack naming this stack (aws:RequestTag,
   *   aws:TagKeys). ses:TagResource is granted beside ses:CreateEmailIdentity under the same
   *   conditions: SES may authorise tags passed on create as a TagResource (tag-on-create), and its
   *   service authorization reference lists no dependent action either way, so the narrow extra
   *   grant keeps the first real POST /domains from failing.
   * - Change or delete: only identities whose sesame_stack tag is this stack's name
   *   (aws:ResourceTag), never one made by hand nor one of another Sesame stack in the account.
   * - Read: any identity, so that a domain registered outside this stack is answered as taken
   *   (403) rather than as an access error.
   */
  bindIdentityManagement(configurationSetPrefix: string): this {
    const stackName = Stack.of(this).stackName;
    const identities = identityArn(this);
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['ses:GetEmailIdentity'], resources: [identities] }));
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:CreateEmailIdentity', 'ses:TagResource'],
        resources: [identities],
        conditions: {
          StringEquals: { [`aws:RequestTag/${TAG_STACK_KEY}`]: stackName },
          'ForAllValues:StringEquals': { 'aws:TagKeys': [...IDENTITY_TAG_KEYS] },
        },
      }),
    );
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: [...IDENTITY_MUTATING_ACTIONS],
        resources: [identities],
        conditions: { StringEquals: { [`aws:ResourceTag/${TAG_STACK_KEY}`]: stackName } },
      }),
    );
    this.acknowledge(iam5ResourceFinding(this, identities), IDENTITY_WILDCARD_REASON);
    this.setEnv('SESAME_STACK_NAME', stackName);
    return this.setEnv('SESAME_CONFIGURATION_SET', configurationSetPrefix);
  }

  /**
   * Allows reading SES identities (GetEmailIdentity: the domain verifier), nothing else of SES, and
   * sets SESAME_STACK_NAME (the domains adapters it shares with the domains function read it).
   */
  bindIdentityReads(): this {
    this.fn.addToRolePolicy(new PolicyStatement({ actions: ['ses:GetEmailIdentity'], resources: [identityArn(this)] }));
    this.acknowledge(iam5ResourceFinding(this, identityArn(this)), IDENTITY_WILDCARD_REASON);
    return this.setEnv('SESAME_STACK_NAME', Stack.of(this).stackName);
  }

  /**
   * Allows writing domain records into these Route 53 zones only, and sets SESAME_ROUTE53_ZONES.
   * One statement per zone, limited by Route 53's condition keys to what Sesame writes: names below
   * the zone's apex (never the apex itself: its NS, SOA, MX and SPF stay out of reach), the CNAME,
   * MX and TXT types, and CREATE, UPSERT and DELETE.
   */
  bindRoute53Zones(zones: readonly HostedZone[]): this {
    for (const zone of zones) {
      this.fn.addToRolePolicy(new PolicyStatement({
        actions: ['route53:ChangeResourceRecordSets'],
        resources: [Stack.of(this).formatArn({ service: 'route53', region: '', account: '', resource: 'hostedzone', resourceName: zone.id })],
        conditions: {
          'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': [`*.${zone.name}`] },
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME', 'MX', 'TXT'],
            'route53:ChangeResourceRecordSetsActions': ['CREATE', 'UPSERT', 'DELETE'],
          },
        },
      }));
    }
    // Turning receiving on looks for MX records the domain has already (another provider's mail).
    this.fn.addToRolePolicy(new PolicyStatement({
      actions: ['route53:ListResourceRecordSets'],
      resources: zones.map((zone) => Stack.of(this).formatArn({ service: 'route53', region: '', account: '', resource: 'hostedzone', resourceName: zone.id })),
    }));
    return this.setEnv('SESAME_ROUTE53_ZONES', zones.map((z) => `${z.id}:${z.name}`).join(','));
  }

  /**
   * Allows creating, updating, reading and deleting the schedules of the stack's schedule group
   * (nothing else of EventBridge Scheduler), and passing its role to the scheduler only; sets
   * SESAME_SCHEDULE_GROUP, SESAME_DISPATCH_QUEUE_ARN and SESAME_SCHEDULER_ROLE_ARN.
   */
  bindScheduler(scheduler: { readonly group: IScheduleGroup; readonly queue: IQueue; readonly role: IRole }): this {
    // Not the group's grantWriteSchedules/grantReadSchedules: they bring GetSchedule and
    // ListSchedules, which Sesame never calls.
    const schedules = Stack.of(this).formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${scheduler.group.scheduleGroupName}/*` });
    this.fn.addToRolePolicy(new PolicyStatement({
      actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
      resources: [schedules],
    }));
    this.fn.addToRolePolicy(new PolicyStatement({
      actions: ['iam:PassRole'], resources: [scheduler.role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
    }));
    this.acknowledge(
      iam5ResourceFinding(this, schedules),
      "Schedules are made at run time, one per scheduled email and named after it: schedule/<this stack's group>/* only, no other group's.",
    );
    return this.setEnv('SESAME_SCHEDULE_GROUP', scheduler.group.scheduleGroupName)
      .setEnv('SESAME_DISPATCH_QUEUE_ARN', scheduler.queue.queueArn)
      .setEnv('SESAME_SCHEDULER_ROLE_ARN', scheduler.role.roleArn);
  }

  /**
   * Sets SESAME_STACK_NAME (SES tenants are `<prefix>-<tenant id>`, the prefix derived from the
   * stack's name: sesTenantPrefixOf) and grants what the function does with them, on this stack's
   * tenants only (`tenant/<prefix>-*`: SES appends an id it generates to a tenant's ARN):
   * `send`: nothing more (SendEmail names the tenant; bindSending grants it);
   * `suppressions`: add and remove entries of a tenant's suppression list;
   * `associate`: read a tenant and associate an identity with it (a new domain).
   */
  bindSesTenants(access: 'send' | 'suppressions' | 'associate'): this {
    const stackName = Stack.of(this).stackName;
    const tenants = tenantArn(this, sesTenantPrefixOf(stackName));
    if (access === 'suppressions') {
      this.fn.addToRolePolicy(new PolicyStatement({ actions: ['ses:PutSuppressedDestination', 'ses:DeleteSuppressedDestination'], resources: [tenants] }));
      this.acknowledge(iam5ResourceFinding(this, tenants), TENANT_WILDCARD_REASON);
    } else if (access === 'associate') {
      this.fn.addToRolePolicy(new PolicyStatement({ actions: ['ses:GetTenant'], resources: [tenants] }));
      this.fn.addToRolePolicy(new PolicyStatement({ actions: ['ses:CreateTenantResourceAssociation'], resources: [tenants, identityArn(this)] }));
      this.acknowledge(iam5ResourceFinding(this, tenants), TENANT_WILDCARD_REASON);
      this.acknowledge(iam5ResourceFinding(this, identityArn(this)), IDENTITY_WILDCARD_REASON);
    }
    return this.setEnv('SESAME_STACK_NAME', stackName);
  }

  /** Acknowledges one cdk-nag finding on this function's role and policy, with its reason. */
  private acknowledge(id: string, reason: string): void {
    Validations.of(this.fn.role ?? this).acknowledge({ id, reason });
  }
}

function afterBundlingHooks(after: (outputDir: string) => string[]): ICommandHooks {
  return { beforeBundling: () => [], beforeInstall: () => [], afterBundling: (_input, output) => after(output) };
}

/** The house settings (lib/bundling.ts) in NodejsFunction's terms. */
function cdkBundling(b: LambdaBundling): BundlingOptions {
  return {
    minify: b.minify,
    sourceMap: b.sourceMap,
    sourcesContent: b.sourcesContent,
    target: b.target,
    format: OutputFormat.CJS,
    externalModules: [...b.externalModules],
    mainFields: [...b.mainFields],
  };
}

const IDENTITY_WILDCARD_REASON =
  "SES identities are the customers' domains, created at run time by the domains API, so their ARNs are unknown at deploy time: identity/* of this account and region only. The handlers check that the tenant owns the domain. ses:SendEmail is authorised against both the identity and the configuration set, which are named explicitly.";

const TENANT_WILDCARD_REASON =
  "SES tenants are made by the admin tool, one per Sesame tenant, and SES appends an id it generates to a tenant's ARN (tenant/<name>/<id>): tenant/<stack prefix>-* covers this stack's tenants only, in this account and region. The handlers name the caller's own tenant.";

/** `arn:<partition>:ses:<region>:<account>:tenant/<prefix>-*`: this stack's SES tenants. */
export function tenantArn(scope: Construct, prefix: string): string {
  return Stack.of(scope).formatArn({ service: 'ses', resource: 'tenant', resourceName: `${prefix}-*` });
}

/** `arn:<partition>:ses:<region>:<account>:identity/*` of the stack's account and region. */
export function identityArn(scope: Construct): string {
  return Stack.of(scope).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' });
}
