/**
 * The domain verifier function, invoked by its EventBridge schedule (lib/domain-verifier.ts). It
 * answers nothing: a run that fails leaves its domains due, and the next run takes them.
 */
import type { Context } from 'aws-lambda';
import { readDomainsConfig } from '../core/config';
import { documentClient, sesClient, sqsClient } from '../core/clients';
import { logger } from '../core/log';
import { domainsDeps } from '../domains/deps';
import { runDomainChecks } from './core';
import { attributed } from '../core/aws-calls';

/** Left for the writes under way when the run stops taking new domains. */
const MARGIN_MS = 10_000;

const deps = domainsDeps(readDomainsConfig(), documentClient(), sesClient(), sqsClient());

export const handler = attributed('verifyDomains', async (_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<void> => {
  await runDomainChecks(deps, logger, { budgetMs: Math.max(0, (context?.getRemainingTimeInMillis() ?? 50_000) - MARGIN_MS) });
});
