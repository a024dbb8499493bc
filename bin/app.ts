#!/usr/bin/env node
/**
 * The CDK app. Settings come from context (cdk.json or `-c name=value`), read once here:
 *   retentionDays, sendRetryWindowMinutes, configurationSetPrefix, alarmEmail, snsCertHost, webhookBatchingWindowSeconds,
 *   stackName, logLevel, webhookMaxConcurrency, metricsTenants (comma-separated tenant ids),
 *   route53Zones (`<zone id>:<zone name>` entries: a list in cdk.json, or comma-separated with -c).
 *   requestLogRetentionDays, requestLogs (`false` or `0` turns request logging off),
 *   receiving (`true` or `1`: SES receiving, docs/inbound.md), receiptRuleSetName.
 */
import { App, Validations } from 'aws-cdk-lib';
import { ApplicationLogLevel } from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SesameStack, type SesameStackProps } from '../lib/sesame-stack';
import { type HostedZone, parseZones } from '../lambdas/core/domain/route53-records';

const app = new App();

function optionalString(name: string): string | undefined {
  const value: unknown = app.node.tryGetContext(name);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`Context ${name} must be a string`);
  return value;
}

function optionalPositiveInteger(name: string): number | undefined {
  const raw: unknown = app.node.tryGetContext(name);
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`Context ${name} must be a positive integer, got "${String(raw)}"`);
  return value;
}

function optionalSeconds(name: string): number | undefined {
  const raw: unknown = app.node.tryGetContext(name);
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 300) throw new Error(`Context ${name} must be an integer from 0 to 300, got "${String(raw)}"`);
  return value;
}

function optionalLogLevel(name: string): ApplicationLogLevel | undefined {
  const value = optionalString(name)?.toUpperCase();
  if (value === undefined) return undefined;
  const levels = Object.values(ApplicationLogLevel) as string[];
  if (!levels.includes(value)) throw new Error(`Context ${name} must be one of ${levels.join(', ')}, got "${value}"`);
  return value as ApplicationLogLevel;
}

function zones(name: string): HostedZone[] {
  const raw: unknown = app.node.tryGetContext(name);
  if (raw === undefined || raw === null || raw === '') return [];
  if (typeof raw === 'string') return parseZones(raw);
  if (Array.isArray(raw) && raw.every((z) => typeof z === 'string')) return parseZones(raw.join(','));
  throw new Error(`Context ${name} must be a list of "<zone id>:<zone name>" strings`);
}

const props: SesameStackProps = {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  retentionDays: optionalPositiveInteger('retentionDays'),
  sendRetryWindowMinutes: optionalPositiveInteger('sendRetryWindowMinutes'),
  configurationSetPrefix: optionalString('configurationSetPrefix'),
  alarmEmail: optionalString('alarmEmail'),
  snsCertHost: optionalString('snsCertHost'),
  webhookBatchingWindowSeconds: optionalSeconds('webhookBatchingWindowSeconds'),
  logLevel: optionalLogLevel('logLevel'),
  webhookMaxConcurrency: optionalPositiveInteger('webhookMaxConcurrency'),
  metricsTenants: optionalString('metricsTenants')?.split(','),
  route53Zones: zones('route53Zones'),
  requestLogRetentionDays: optionalPositiveInteger('requestLogRetentionDays'),
  requestLogs: !['false', '0', false, 0].includes(app.node.tryGetContext('requestLogs') as string | number | boolean),
  receiving: ['true', '1', true, 1].includes(app.node.tryGetContext('receiving') as string | number | boolean),
  receiptRuleSetName: optionalString('receiptRuleSetName'),
};

new SesameStack(app, optionalString('stackName') ?? 'Sesame', props);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
