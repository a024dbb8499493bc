/**
 * The ingest core's adapters, from the environment: one place, shared by the ingest function, the
 * SNS-over-HTTPS function and `npx sesame dlq redrive`, so that all three apply events alike
 * (and fan out alike, once webhooks plug their EventFanOut in here).
 */
import { type IngestConfig, readIngestConfig } from '../shared/config';
import { documentClient } from '../shared/clients';
import { createDb } from '../shared/adapters/dynamo';
import { EventStore } from '../shared/adapters/events';
import { noFanOut } from '../shared/domain/applied-event';
import { logger } from '../shared/log';
import type { IngestDeps } from './core';

export function ingestDeps(config: IngestConfig = readIngestConfig()): IngestDeps {
  return {
    events: new EventStore(createDb(documentClient(), config.tableName)),
    // Until webhooks land: events are applied and logged, no webhook is queued.
    fanOut: noFanOut,
    topicArn: config.eventsTopicArn,
    retentionDays: config.retentionDays,
    now: Date.now,
    log: logger,
  };
}
