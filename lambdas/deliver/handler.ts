/** The deliver function: webhook queue (SQS, partial batch failures) -> customer endpoints. */
import { readDeliverConfig } from '../shared/config';
import { documentClient, sqsClient } from '../shared/clients';
import { logger } from '../shared/log';
import { createDb } from '../shared/adapters/dynamo';
import { HttpDelivery } from '../shared/adapters/http-delivery';
import { keyProviderFromConfig, SecretBox } from '../shared/adapters/secrets';
import { DeliveryStore, WebhookStore } from '../shared/adapters/webhooks';
import { createDeliverHandler, SqsVisibility } from './core';

const config = readDeliverConfig();
const db = createDb(documentClient(), config.tableName);

export const handler = createDeliverHandler({
  webhooks: new WebhookStore(db, new SecretBox(keyProviderFromConfig(config))),
  deliveries: new DeliveryStore(db, config.retentionDays),
  poster: new HttpDelivery({ allowLoopback: config.allowLoopbackWebhooks }),
  visibility: new SqsVisibility(sqsClient(), config.webhookQueueUrl),
  retrySchedule: config.retrySchedule,
  log: logger.child({ fn: 'deliver' }),
});
