/** The inbound core's adapters, from the environment (the function, and local mode's SMTP listener through it). */
import { type InboundConfig, readInboundConfig } from '../core/config';
import { documentClient, s3Client, sqsClient } from '../core/clients';
import { createDb } from '../core/adapters/dynamo';
import { ContentStore } from '../core/adapters/content';
import { DomainStore } from '../core/adapters/domains';
import { ReceivedEmailStore } from '../core/adapters/received-emails';
import { createWebhookFanOut } from '../core/adapters/fan-out';
import { logger } from '../core/log';
import { metrics } from '../core/metrics';
import type { InboundDeps } from './core';

export function inboundDeps(config: InboundConfig = readInboundConfig()): InboundDeps {
  const db = createDb(documentClient(), config.tableName);
  return {
    content: new ContentStore(s3Client, config.contentBucket),
    domains: new DomainStore(db),
    received: new ReceivedEmailStore(db, config.retentionDays),
    fanOut: createWebhookFanOut(db, sqsClient(), config),
    metrics,
    log: logger,
  };
}
