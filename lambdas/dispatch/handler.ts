/** The dispatch function: the dispatch queue (SQS, partial batch failures) -> scheduled emails sent. */
import middy from '@middy/core';
import { readDispatchConfig } from '../core/config';
import { documentClient, s3Client, sesSendClient, sqsClient } from '../core/clients';
import { lambdaContext, logger } from '../core/log';
import { publishMetrics } from '../core/metrics';
import { createEventCounter, MetricCounters } from '../core/adapters/metric-counters';
import { createDb } from '../core/adapters/dynamo';
import { EmailStore } from '../core/adapters/emails';
import { EmailStatusStore } from '../core/adapters/email-status';
import { DomainStore } from '../core/adapters/domains';
import { SendableDomainCache } from '../core/adapters/domain-cache';
import { SesSender } from '../core/adapters/ses';
import { createWebhookFanOut } from '../core/adapters/fan-out';
import { SqsVisibility } from '../deliver/core';
import { ContentStore } from '../core/adapters/content';
import { createDispatchHandler } from './core';

const config = readDispatchConfig();
const db = createDb(documentClient(), config.tableName);

export const handler = middy(createDispatchHandler({
  emails: new EmailStore(db, config.retentionDays),
  status: new EmailStatusStore(db),
  counters: createEventCounter(new MetricCounters(db), logger),
  retentionDays: config.retentionDays,
  domains: new SendableDomainCache(new DomainStore(db)),
  sender: new SesSender(sesSendClient()),
  content: new ContentStore(s3Client, config.contentBucket),
  configurationSet: config.configurationSet,
  sesTenantPrefix: config.sesTenantPrefix,
  fanOut: createWebhookFanOut(db, sqsClient(), config),
  visibility: new SqsVisibility(sqsClient(), config.dispatchQueueUrl),
  now: Date.now,
  log: logger,
})).use(lambdaContext()).use(publishMetrics());
