import * as path from 'node:path';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type LambdaBundling, lambdaBundling } from './bundling';
import { iam4ManagedPolicyFinding, iam5ResourceFinding } from './nag-findings';

/** Folder that holds one sub-folder per function (`lambdas/<name>/handler.ts`). */
export const LAMBDAS_DIR = path.join(__dirname, '..', 'lambdas');

/** The SES actions the domains function needs on identities it creates at run time. */
export const IDENTITY_MANAGEMENT_ACTIONS = [
  'ses:CreateEmailIdentity',
  'ses:GetEmailIdentity',
  'ses:DeleteEmailIdentity',
  'ses:PutEmailIdentityMailFromAttributes',
  'ses:PutEmailIdentityFeedbackAttributes',
  'ses:PutEmailIdentityDkimSigningAttributes',
  'ses:PutEmailIdentityConfigurationSetAttributes',
] as const;

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
  /** Extra environment variables (Sesame's own names, see the README's Configuration table). @default - none */
  readonly environment?: Readonly<Record<string, string>>;
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
      // JSON logs: the handlers already write one JSON object a line; Lambda's platform lines only
      // at WARN (timeouts, crashes) unless asked for.
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: props.platformLogs ? SystemLogLevel.INFO : SystemLogLevel.WARN,
      // SDK v3 reuses connections by itself; the old variable is noise (so it is not set).
      awsSdkConnectionReuse: false,
      environment: { ...props.environment },
      bundling: cdkBundling(lambdaBundling({ bundleAwsSdk: props.bundleAwsSdk ?? true })),
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

  /** Grants read or read-write access to the table (and its indexes) and sets SESAME_TABLE_NAME. */
  bindTable(table: ITable, access: 'read' | 'readWrite'): this {
    if (access === 'read') table.grantReadData(this.fn);
    else table.grantReadWriteData(this.fn);
    this.acknowledge(
      iam5ResourceFinding(this, `${table.tableArn}/index/*`),
      "The table grant covers the table's own global secondary indexes (<table>/index/*: gsi1, gsi2 of lambdas/core/table.ts), which the function queries; no other table is included.",
    );
    return this.setEnv('SESAME_TABLE_NAME', table.tableName);
  }

  /**
   * `send`: grants SendMessage and sets SESAME_WEBHOOK_QUEUE_URL.
   * `consume`: grants receive, delete and ChangeMessageVisibility (retries are carried by visibility
   * timeouts); the event source mapping itself is added by the queue's construct.
   */
  bindWebhookQueue(queue: IQueue, access: 'send' | 'consume'): this {
    if (access === 'consume') {
      queue.grantConsumeMessages(this.fn);
      return this;
    }
    queue.grantSendMessages(this.fn);
    return this.setEnv('SESAME_WEBHOOK_QUEUE_URL', queue.queueUrl);
  }

  /** Sets SESAME_EVENTS_TOPIC_ARN: the only topic whose events the function accepts. No permission needed. */
  bindEventsTopic(topic: ITopic): this {
    return this.setEnv('SESAME_EVENTS_TOPIC_ARN', topic.topicArn);
  }

  /** Grants read of the key that encrypts webhook signing secrets and sets SESAME_SECRETS_KEY_ARN. */
  bindSecretsKey(secret: ISecret): this {
    secret.grantRead(this.fn);
    return this.setEnv('SESAME_SECRETS_KEY_ARN', secret.secretArn);
  }

  /**
   * Allows sending through the given configuration sets and sets SESAME_CONFIGURATION_SET to their prefix.
   * ses:SendEmail is authorised against both the sending identity and the configuration set
   * (aws/aws-cdk issue 34402), so the statement names both. Identities are created at run time by the
   * domains API, hence `identity/*`; the handler checks that the tenant owns the domain.
   */
  bindSending(sending: { readonly configurationSetPrefix: string; readonly configurationSetArns: readonly string[] }): this {
    this.fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [identityArn(this), ...sending.configurationSetArns],
      }),
    );
    this.acknowledge(iam5ResourceFinding(this, identityArn(this)), IDENTITY_WILDCARD_REASON);
    return this.setEnv('SESAME_CONFIGURATION_SET', sending.configurationSetPrefix);
  }

  /** Allows creating, reading, configuring and deleting SES identities (the domains API). */
  bindIdentityManagement(configurationSetPrefix: string): this {
    this.fn.addToRolePolicy(new PolicyStatement({ actions: [...IDENTITY_MANAGEMENT_ACTIONS], resources: [identityArn(this)] }));
    this.acknowledge(iam5ResourceFinding(this, identityArn(this)), IDENTITY_WILDCARD_REASON);
    return this.setEnv('SESAME_CONFIGURATION_SET', configurationSetPrefix);
  }

  /** Acknowledges one cdk-nag finding on this function's role and policy, with its reason. */
  private acknowledge(id: string, reason: string): void {
    Validations.of(this.fn.role ?? this).acknowledge({ id, reason });
  }
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
  };
}

const IDENTITY_WILDCARD_REASON =
  "SES identities are the customers' domains, created at run time by the domains API, so their ARNs are unknown at deploy time: identity/* of this account and region only. The handlers check that the tenant owns the domain. ses:SendEmail is authorised against both the identity and the configuration set, which are named explicitly.";

/** `arn:<partition>:ses:<region>:<account>:identity/*` of the stack's account and region. */
export function identityArn(scope: Construct): string {
  return Stack.of(scope).formatArn({ service: 'ses', resource: 'identity', resourceName: '*' });
}
