/**
 * The domains use cases' adapters, from the configuration: one place, shared by the domains
 * function and the domain verifier, so that both change domains and queue their events alike.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { Route53Publisher } from '../core/adapters/route53';
import type { DomainsConfig } from '../core/config';
import { createDb } from '../core/adapters/dynamo';
import { DomainStore } from '../core/adapters/domains';
import { SesIdentities } from '../core/adapters/ses-identities';
import { createWebhookFanOut } from '../core/adapters/fan-out';
import type { DomainsDeps } from './core';

export function domainsDeps(
  config: DomainsConfig,
  doc: DynamoDBDocumentClient,
  ses: SESv2Client,
  sqs: Pick<SQSClient, 'send'>,
  route53: () => Pick<Route53Client, 'send'>,
): DomainsDeps {
  const db = createDb(doc, config.tableName);
  return {
    domains: new DomainStore(db),
    identities: new SesIdentities(ses, config.stackName),
    events: createWebhookFanOut(db, sqs, config),
    region: config.region,
    now: Date.now,
    checkBaseMs: config.checkBaseSeconds * 1000,
    // The client is built only for a stack given zones.
    ...(config.route53Zones.length > 0 ? { dns: new Route53Publisher(route53(), config.route53Zones) } : {}),
  };
}
