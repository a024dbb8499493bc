/**
 * The ingest core's adapters, from the environment: one place, shared by the ingest function, the
 * SNS-over-HTTPS function and `npx sesame dlq redrive`, so that all three apply events alike
 * and fan out alike.
 */
import { type IngestConfig, readIngestConfig, readWebhookQueueConfig } from '../core/config';
import { documentClient, sqsClient } from '../core/clients';
import { createDb } from '../core/adapters/dynamo';
import { EventStore } from '../core/adapters/events';
import { EmailStatusStore } from '../core/adapters/email-status';
import { SuppressionStore } from '../core/adapters/suppressions';
import { createWebhookFanOut } from '../core/adapters/fan-out';
import { createEventCounter, MetricCounters } from '../core/adapters/metric-counters';
import { logger } from '../core/log';
import type { IngestDeps } from './core';

export function ingestDeps(config: IngestConfig = readIngestConfig()): IngestDeps {
  const db = createDb(documentClient(), config.tableName);
  return {
    events: new EventStore(db),
    status: new EmailStatusStore(db),
    suppressions: new SuppressionStore(db),
    // One SQS message per subscribed endpoint for each event applied once.
    fanOut: createWebhookFanOut(db, sqsClient(), readWebhookQueueConfig()),
    topicArn: config.eventsTopicArn,
    retentionDays: config.retentionDays,
    now: Date.now,
    log: logger,
    counters: createEventCounter(new MetricCounters(db), logger),
  };
}
