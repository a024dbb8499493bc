/**
 * The domains use cases' adapters, from the configuration: one place, shared by the domains
 * function and the domain verifier, so that both change domains and queue their events alike.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DnsPublisher } from '../core/adapters/route53';
import type { HostedZone } from '../core/domain/route53-records';
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
  /**
   * Publishes a new domain's records in the stack's Route 53 zones, if it has any: given by the
   * domains function only. The verifier only reads identities, so it carries no Route 53 client.
   */
  dns?: (zones: readonly HostedZone[]) => DnsPublisher,
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
    ...(config.route53Zones.length > 0 && dns ? { dns: dns(config.route53Zones) } : {}),
  };
}
