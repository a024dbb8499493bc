/** The deliver function: webhook queue (SQS, partial batch failures) -> customer endpoints. */
import { readDeliverConfig } from '../core/config';
import { documentClient, sqsClient } from '../core/clients';
import middy from '@middy/core';
import { lambdaContext, logger } from '../core/log';
import { publishMetrics } from '../core/metrics';
import { createDb } from '../core/adapters/dynamo';
import { HttpDelivery } from '../core/adapters/http-delivery';
import { keyProviderFromConfig, SecretBox } from '../core/adapters/secrets';
import { DeliveryStore } from '../core/adapters/deliveries';
import { EndpointCache, WebhookStore } from '../core/adapters/endpoints';
import { createDeliverHandler, SqsVisibility } from './core';

const config = readDeliverConfig();
const db = createDb(documentClient(), config.tableName);

export const handler = middy(createDeliverHandler({
  webhooks: new EndpointCache(new WebhookStore(db, new SecretBox(keyProviderFromConfig(config)))),
  deliveries: new DeliveryStore(db, config.retentionDays),
  poster: new HttpDelivery({ allowLoopback: config.allowLoopbackWebhooks }),
  visibility: new SqsVisibility(sqsClient(), config.webhookQueueUrl),
  retrySchedule: config.retrySchedule,
  log: logger,
})).use(lambdaContext()).use(publishMetrics());
