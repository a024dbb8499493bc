/**
 * Local mode runs many invocations at once in one process, where Lambda (by default) runs one per
 * execution environment. Powertools keeps an invocation's state (the Lambda context that gives each
 * log line its `function_request_id` and `cold_start`, temporary log keys, the metrics of an
 * invocation) process-wide, except where invocations really are concurrent: under Lambda Managed
 * Instances, whose runtime sets AWS_LAMBDA_MAX_CONCURRENCY and runs each invocation inside its own
 * InvokeStore context (AsyncLocalStorage); there Powertools keeps that state per invocation.
 *
 * Local mode does what that runtime does, so concurrent local invocations never mix their log
 * context: `concurrentInvocations()` once, before any handler runs, then every handler wrapped by
 * `ownInvocation()`. Handlers are unchanged; in AWS (one invocation at a time) nothing of this runs.
 */
import { randomUUID } from 'node:crypto';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';

/** What local mode tells the runtime libraries as AWS_LAMBDA_MAX_CONCURRENCY (any value turns the per-invocation state on). */
const LOCAL_MAX_CONCURRENCY = '1000';

let store: InvokeStoreBase | undefined;

/**
 * Turns on per-invocation state in this process: the InvokeStore (AsyncLocalStorage) first, then
 * AWS_LAMBDA_MAX_CONCURRENCY, which Powertools reads on every access (with the variable set and no
 * store, it would throw).
 */
export async function concurrentInvocations(): Promise<void> {
  if (!store) {
    const candidate = await InvokeStore.getInstanceAsync(true);
    // The store is made once per process: one made earlier for a single invocation at a time (an
    // AWS SDK request before this call, without the variable) keeps its context after a run.
    const isolated = await candidate.run({ local: true }, async () => {
      await null;
      return candidate.get('local') === true;
    });
    if (!isolated || candidate.hasContext()) throw new Error('The InvokeStore of this process was made for one invocation at a time: call concurrentInvocations() before any AWS SDK request');
    store = candidate;
  }
  process.env.AWS_LAMBDA_MAX_CONCURRENCY ??= LOCAL_MAX_CONCURRENCY;
}

/**
 * The handler, each of whose invocations runs in its own InvokeStore context, named by its
 * context's request id. Call concurrentInvocations() first.
 */
export function ownInvocation<A extends unknown[], R>(handler: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    if (!store) throw new Error('concurrentInvocations() must run before a local invocation');
    const requestId = (args[1] as { awsRequestId?: string } | undefined)?.awsRequestId ?? randomUUID();
    return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, () => handler(...args));
  };
}
