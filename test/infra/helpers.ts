/**
 * Helpers for infrastructure tests. `new App()` does not read cdk.json, so the context (feature
 * flags) is loaded from it here; bundling is skipped with `aws:cdk:bundling-stacks: []` (the one
 * real synth is synth.test.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SesameStack, type SesameFunctionName, type SesameStackProps } from '../../lib/sesame-stack';

export const REPO_ROOT = path.join(__dirname, '..', '..');

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
}

/** An empty stack in an app with cdk.json's context, for one construct's test. */
export function minimalStack(): Stack {
  return new Stack(testApp(), 'Test');
}

export function sesameStack(props: SesameStackProps = {}): { stack: SesameStack; template: Template } {
  const stack = new SesameStack(testApp(), 'Sesame', props);
  return { stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties?: Record<string, any>; [key: string]: unknown };

export function resources(template: Template, type: string): Record<string, Resource> {
  return template.findResources(type) as Record<string, Resource>;
}

export function logicalId(stack: Stack, construct: { node: { defaultChild?: unknown } } | { node: unknown }): string {
  const child = (construct as { node: { defaultChild?: unknown } }).node.defaultChild ?? construct;
  return stack.getLogicalId(child as never);
}

export function functionLogicalId(stack: SesameStack, name: SesameFunctionName): string {
  return logicalId(stack, stack.functions[name].fn);
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of the policies attached to a function's role. */
export function statementsOf(stack: SesameStack, template: Template, name: SesameFunctionName): Statement[] {
  const roleId = logicalId(stack, stack.functions[name].fn.role as never);
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties?.Roles as unknown[]).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId })))
    .flatMap((policy) => policy.Properties?.PolicyDocument.Statement as Statement[]);
}

export function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
}

export function resourcesOf(statement: Statement): unknown[] {
  return Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
}

/** The environment variables of a function. */
export function environmentOf(stack: SesameStack, template: Template, name: SesameFunctionName): Record<string, unknown> {
  const fn = resources(template, 'AWS::Lambda::Function')[functionLogicalId(stack, name)];
  return (fn.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
}
