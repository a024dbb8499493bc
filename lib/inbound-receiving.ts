import { Stack } from 'aws-cdk-lib';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { LambdaInvocationType } from 'aws-cdk-lib/aws-ses-actions';
import {
  type IReceiptRuleAction,
  ReceiptRule,
  ReceiptRuleSet,
  type ReceiptRuleActionConfig,
  TlsPolicy,
} from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { CONTENT_PREFIXES } from '../lambdas/core/content';
import { RECEIPT_RULE_NAME } from '../lambdas/core/domain/inbound';
import { DeadLetterQueue } from './dead-letter-queue';
import type { SesameFunction } from './sesame-function';

export interface InboundReceivingProps {
  /** The content bucket: the raw messages go under its `inbound/` prefix. */
  readonly bucket: Bucket;
  /** The function that stores received emails and fires email.received. */
  readonly inbound: SesameFunction;
  /** Name of the receipt rule set. @default `<stack name>-inbound` */
  readonly ruleSetName?: string;
  /** Attempts Lambda makes again after a failed asynchronous invocation. @default 2 */
  readonly retryAttempts?: number;
}

export { RECEIPT_RULE_NAME } from '../lambdas/core/domain/inbound';

/**
 * SES receiving, opt-in (CDK context `receiving=true`): Sesame's own receipt rule set with one
 * catch-all rule (no recipients: every domain of the account SES receives for; the inbound function
 * keeps only mail for domains with receiving on). The rule has spam and virus scanning on, then:
 *
 * 1. an S3 action storing the raw message in the content bucket under `inbound/<message id>`; the
 *    bucket policy lets ses.amazonaws.com put there only for this account and this rule
 *    (aws:SourceAccount and aws:SourceArn);
 * 2. a Lambda action invoking the inbound function asynchronously (SES's `Event` invocation), its
 *    permission conditioned the same way. Lambda retries a failed invocation `retryAttempts` times,
 *    then sends it to the on-failure destination, a DLQ with an alarm.
 *
 * SES allows one ACTIVE rule set per account and region, and CloudFormation cannot activate one: the
 * stack never replaces an operator's active rule set. Activation is an explicit step
 * (`aws ses set-active-receipt-rule-set --rule-set-name <name>`, README and docs/inbound.md), and
 * `npx sesame doctor` reports which rule set is active and whether it is Sesame's.
 */
export class InboundReceiving extends Construct {
  readonly ruleSet: ReceiptRuleSet;
  readonly rule: ReceiptRule;
  readonly ruleSetName: string;
  /** Receipt events whose inbound invocations failed every attempt. */
  readonly failureQueue: DeadLetterQueue;

  constructor(scope: Construct, id: string, props: InboundReceivingProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.ruleSetName = props.ruleSetName ?? `${stack.stackName}-inbound`;
    const ruleArn = stack.formatArn({ service: 'ses', resource: 'receipt-rule-set', resourceName: `${this.ruleSetName}:receipt-rule/${RECEIPT_RULE_NAME}` });
    const ses = new ServicePrincipal('ses.amazonaws.com');
    const conditions = { StringEquals: { 'aws:SourceAccount': stack.account }, ArnLike: { 'aws:SourceArn': ruleArn } };

    // SES writes the raw message: only this account's rule, only under inbound/.
    props.bucket.addToResourcePolicy(new PolicyStatement({
      sid: 'SesReceiptRuleWritesRawMessages',
      actions: ['s3:PutObject'],
      principals: [ses],
      resources: [props.bucket.arnForObjects(`${CONTENT_PREFIXES.inbound}*`)],
      conditions,
    }));
    const permission = new CfnPermission(this, 'SesInvokesInbound', {
      action: 'lambda:InvokeFunction',
      functionName: props.inbound.fn.functionArn,
      principal: 'ses.amazonaws.com',
      sourceAccount: stack.account,
      sourceArn: ruleArn,
    });

    this.failureQueue = new DeadLetterQueue(this, 'Failures', {
      purpose: 'SES receipt events whose inbound invocations failed every attempt',
      targetOfServiceRedrive: true,
      // `npx sesame dlq redrive` processes them again through the inbound core (lambdas/inbound/redrive.ts).
      redriveVariable: 'SESAME_INBOUND_DLQ_URL',
    });
    props.inbound.fn.configureAsyncInvoke({ retryAttempts: props.retryAttempts ?? 2, onFailure: new SqsDestination(this.failureQueue.queue) });

    const store: IReceiptRuleAction = {
      bind: (): ReceiptRuleActionConfig => ({ s3Action: { bucketName: props.bucket.bucketName, objectKeyPrefix: CONTENT_PREFIXES.inbound } }),
    };
    const invoke: IReceiptRuleAction = {
      bind: (): ReceiptRuleActionConfig => ({ lambdaAction: { functionArn: props.inbound.fn.functionArn, invocationType: LambdaInvocationType.EVENT } }),
    };
    this.ruleSet = new ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: this.ruleSetName });
    this.rule = this.ruleSet.addRule('CatchAll', {
      receiptRuleName: RECEIPT_RULE_NAME,
      enabled: true,
      scanEnabled: true,
      tlsPolicy: TlsPolicy.OPTIONAL,
      actions: [store, invoke],
    });
    // SES checks, when the rule is made, that it may write to the bucket and invoke the function.
    const bucketPolicy = props.bucket.policy;
    if (bucketPolicy) this.rule.node.addDependency(bucketPolicy);
    this.rule.node.addDependency(permission);
  }
}
