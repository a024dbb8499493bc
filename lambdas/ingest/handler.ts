/**
 * The ingest function, subscribed directly to the SES events topic (SNS → Lambda, asynchronous):
 * applies each SES event once. Its resource policy lets only that topic invoke it, and every record's
 * TopicArn is checked too. A failure a retry may fix throws: Lambda retries, then parks the event in
 * its on-failure destination.
 */
import middy from '@middy/core';
import { lambdaContext } from '../core/log';
import { publishMetrics } from '../core/metrics';
import { createIngestHandler } from './core';
import { ingestDeps } from './deps';

export const handler = middy(createIngestHandler(ingestDeps())).use(lambdaContext()).use(publishMetrics());
