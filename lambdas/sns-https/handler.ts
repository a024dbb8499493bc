/**
 * The SNS-over-HTTPS function: POST /webhooks/ses. Configuration: SESAME_EVENTS_TOPIC_ARN (the only
 * topic accepted), SESAME_SNS_CERT_HOST (pattern for the certificate host; AWS's by default), and
 * the ingest core's (SESAME_TABLE_NAME, SESAME_RETENTION_DAYS, AWS_REGION).
 */
import { readSnsHttpsConfig } from '../core/config';
import { logger } from '../core/log';
import { ingestSnsMessage } from '../ingest/core';
import { ingestDeps } from '../ingest/deps';
import { confirmByGet, createSnsHttpsHandler } from './core';
import { createSnsVerifier } from './verify';

const config = readSnsHttpsConfig();
const ingest = ingestDeps(config);

export const handler = createSnsHttpsHandler({
  verifier: createSnsVerifier({ certHost: config.snsCertHost }),
  topicArn: config.eventsTopicArn,
  ingest: (message) => ingestSnsMessage(ingest, message),
  confirmSubscription: confirmByGet,
  log: logger,
});
