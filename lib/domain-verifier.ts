import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import type { SesameFunction } from './sesame-function';

export interface DomainVerifierProps {
  /** The function that checks due domains (lambdas/verify-domains); bound to the table, SES reads and the webhook queue by the stack. */
  readonly verifier: SesameFunction;
  /** How often it runs, between 1 and 5 minutes. @default Duration.minutes(1) */
  readonly rate?: Duration;
}

/**
 * The schedule of automatic domain verification: an EventBridge rule that invokes the verifier
 * every minute. The verifier itself decides which domains are due (each on its own backing-off
 * schedule), so a run that finds none costs one Query. A failed run is not retried: the next one
 * finds the same domains still due.
 */
export class DomainVerifier extends Construct {
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: DomainVerifierProps) {
    super(scope, id);
    const rate = props.rate ?? Duration.minutes(1);
    if (rate.toSeconds() < 60 || rate.toSeconds() > 300) throw new Error(`rate must be between 1 and 5 minutes, got ${rate.toSeconds()} seconds`);
    this.rule = new Rule(this, 'Schedule', { schedule: Schedule.rate(rate), description: 'Sesame: checks pending domains with SES' });
    this.rule.addTarget(new LambdaFunction(props.verifier.fn, { retryAttempts: 0, maxEventAge: Duration.seconds(rate.toSeconds()) }));
  }
}
