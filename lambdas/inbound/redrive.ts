/**
 * `npx sesame dlq redrive`, the inbound DLQ (SESAME_INBOUND_DLQ_URL, receiving on): the inbound
 * function's on-failure destination holds invocation records whose `requestPayload` is the SES
 * receipt event that failed every attempt. Each goes back through the inbound core with the same
 * adapters as the function (inbound/deps.ts), as the ingest DLQs go back through ingestion
 * (ingest/redrive.ts): the admin tool needs no Lambda client, only the inbound function's
 * configuration (SESAME_TABLE_NAME, SESAME_CONTENT_BUCKET, SESAME_WEBHOOK_QUEUE_URL) and credentials
 * that may do what it does (read and delete the raw message, write the received content and the
 * email item, queue `email.received`). The inbound core makes a repetition a no-op, so a message
 * that was half processed before it was parked is stored once. A message is deleted once every
 * notice of its event was processed; one that fails again (the raw message gone, S3 or DynamoDB
 * down) stays, as does one that is not a receipt event at all.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { dlqBodyObject, type DrainOptions, type ReprocessResult, reprocessQueue } from '../core/adapters/dlq';
import { type ReceiptNotice, parseReceiptEvent } from '../core/domain/inbound';
import { type InboundDeps, receiveNotice } from './core';

/**
 * The notices a DLQ message stands for: an invocation record of the Lambda on-failure destination
 * (its `requestPayload`), or a receipt event itself; undefined for anything else.
 */
export function receiptNoticesFromDlqBody(body: string): ReceiptNotice[] | undefined {
  const value = dlqBodyObject(body);
  if (value === undefined) return undefined;
  const event = 'requestPayload' in value ? value.requestPayload : value;
  try {
    return parseReceiptEvent(event);
  } catch {
    return undefined;
  }
}

export type InboundRedriveResult = ReprocessResult;

/** Processes every message of the inbound DLQ again; deletes those the inbound core is done with. */
export function redriveInboundQueue(client: SQSClient, queueUrl: string, deps: InboundDeps, options: DrainOptions = {}): Promise<InboundRedriveResult> {
  return reprocessQueue(client, queueUrl, {
    read: receiptNoticesFromDlqBody,
    process: async (notices) => { for (const notice of notices) await receiveNotice(deps, notice); },
    log: deps.log,
    unreadableMessage: 'inbound DLQ message kept: not a receipt event nor an invocation record of one',
    failedMessage: 'inbound DLQ message kept: processing failed again',
  }, options);
}
