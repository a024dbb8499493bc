/**
 * The inbound function, invoked asynchronously by the receipt rule's Lambda action after its S3
 * action stored the raw message (lib/inbound-receiving.ts): stores each message for the tenants whose
 * domains receive, and fires `email.received` (docs/inbound.md). A failure throws: Lambda retries,
 * then parks the event in the inbound DLQ.
 */
import middy from '@middy/core';
import { lambdaContext } from '../core/log';
import { publishMetrics } from '../core/metrics';
import { createInboundHandler } from './core';
import { inboundDeps } from './deps';

export const handler = middy(createInboundHandler(inboundDeps())).use(lambdaContext()).use(publishMetrics());
