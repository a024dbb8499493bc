/** A table on the embedded store with an email in it, and the ingest core wired to it. */
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDb, type Db } from '../../lambdas/core/adapters/dynamo';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { EventStore, type LoggedEvent } from '../../lambdas/core/adapters/events';
import { recipientStatus, shortEventId } from '../../lambdas/core/domain/email-state';
import { RANKS } from '../../lambdas/core/domain/status';
import { EmailStatusStore, statusMessageId } from '../../lambdas/core/adapters/email-status';
import { expiresAt } from '../../lambdas/core/adapters/dynamo';
import { sendResponseEvent } from '../../lambdas/send/core';
import { parseMailbox } from '../../lambdas/core/domain/email';
import { SuppressionStore } from '../../lambdas/core/adapters/suppressions';
import type { AppliedEvent, EventFanOut } from '../../lambdas/core/domain/applied-event';
import { memoryLogger } from '../support/logs';
import { createIngestHandler, type IngestDeps } from '../../lambdas/ingest/core';
import type { TestDynamo } from '../support/services';
import { FIXTURE_TOPIC, testEmailId } from './fixtures';

export interface NewTestEmail {
  readonly id?: string;
  readonly tenantId?: string;
  readonly to?: string[];
  readonly cc?: string[];
  readonly bcc?: string[];
  readonly tags?: { name: string; value: string }[];
  /** Recorded as the send records SendEmail's answer (STATUS: MessageId, `sent`, the Send event) when given. */
  readonly sesMessageId?: string;
  readonly createdAt?: string;
}

export interface World {
  readonly table: string;
  readonly db: Db;
  readonly emails: EmailStore;
  readonly events: EventStore;
  readonly status: EmailStatusStore;
  readonly deps: IngestDeps;
  readonly handler: ReturnType<typeof createIngestHandler>;
  /** What was fanned out, in order. */
  readonly fanned: AppliedEvent[];
  /** Log lines, parsed. */
  readonly logs: Record<string, unknown>[];
  createEmail(email?: NewTestEmail): Promise<{ id: string; tenantId: string }>;
  /** Every item of an email (META, STATUS, recipients, events), without META's body. */
  items(emailId: string): Promise<Record<string, unknown>[]>;
  /** The items of one kind: `EV#` events, `R#` recipients, `STATUS`. */
  itemsOf(emailId: string, prefix: string): Promise<Record<string, unknown>[]>;
  /** What the stored items mean, whatever the layout: status, recipients, the event log as listed. */
  view(emailId: string): Promise<EmailStateView>;
}

export interface EmailStateView {
  readonly lastEvent?: string;
  readonly messageId?: string;
  readonly tenantId?: string;
  /** Address -> [status, short event id], sorted by address. */
  readonly recipients: Record<string, [string, string]>;
  /** The event log, as GET /emails/{id}/events lists it. */
  readonly events: LoggedEvent[];
}

export async function makeWorld(
  dynamo: TestDynamo,
  options: { retentionDays?: number; topicArn?: string; fanOut?: EventFanOut; now?: () => number } = {},
): Promise<World> {
  const table = await dynamo.freshTable();
  const db = createDb(dynamo.doc, table);
  // Fixtures are from 2016-2022: a long retention keeps their emails live.
  const retentionDays = options.retentionDays ?? 36_500;
  const emails = new EmailStore(db, retentionDays);
  const events = new EventStore(db);
  const status = new EmailStatusStore(db);
  const fanned: AppliedEvent[] = [];
  const { log, entries: logs } = memoryLogger();
  const deps: IngestDeps = {
    events,
    status,
    fanOut: options.fanOut ?? { fanOut: async (e) => void fanned.push(e) },
    suppressions: new SuppressionStore(db),
    topicArn: options.topicArn ?? FIXTURE_TOPIC,
    retentionDays,
    now: options.now ?? Date.now,
    log,
  };
  const items = async (emailId: string) => {
    const out: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.doc.send(new QueryCommand({
        TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `E#${emailId}` }, ExclusiveStartKey: start, ConsistentRead: true,
      }));
      out.push(...(page.Items ?? []).map(({ body: _body, ...rest }) => rest));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  };
  return {
    table, db, emails, events, status, deps, fanned, logs,
    handler: createIngestHandler(deps),
    async createEmail(email = {}) {
      // An email with a MessageId gets the id the tagged fixtures name (testEmailId).
      const id = email.id ?? (email.sesMessageId ? testEmailId(email.sesMessageId) : randomUUID());
      const tenantId = email.tenantId ?? 'tenant-a';
      const createdAt = email.createdAt ?? '2016-01-01T00:00:00.000Z';
      await emails.create({
        id, tenantId, from: 'Sender <sender@example.com>', to: email.to ?? ['recipient@example.com'], cc: email.cc ?? [], bcc: email.bcc ?? [],
        replyTo: [], subject: 'Hello', text: 'hi', tags: email.tags ?? [{ name: 'category', value: 'welcome' }], createdAt,
      });
      if (email.sesMessageId) {
        const addresses = [...(email.to ?? ['recipient@example.com']), ...(email.cc ?? []), ...(email.bcc ?? [])].map((a) => parseMailbox(a)?.address ?? a);
        await status.apply(
          { emailId: id, tenantId, expiresAt: expiresAt(Date.parse(createdAt), retentionDays) },
          sendResponseEvent(email.sesMessageId, Date.parse(createdAt), addresses), 'message', { assumeAbsent: true },
        );
      }
      return { id, tenantId };
    },
    items,
    async itemsOf(emailId, prefix) {
      return (await items(emailId)).filter((i) => (i.sk as string).startsWith(prefix));
    },
    async view(emailId) {
      const all = await items(emailId);
      const item = all.find((i) => i.sk === 'STATUS');
      const tenantId = all.find((i) => i.sk === 'META')?.tenant_id as string | undefined;
      const stored = await status.read(emailId);
      const recipients: Record<string, [string, string]> = {};
      for (const [address, key] of Object.entries(stored.state.recipients)) recipients[address] = [recipientStatus(key, RANKS)!, key.slice(key.lastIndexOf('#') + 1)];
      for (const r of all.filter((i) => String(i.sk).startsWith('R#'))) recipients[r.address as string] = [r.status as string, shortEventId(r.event_id as string)];
      const sortedRecipients = Object.fromEntries(Object.entries(recipients).sort(([a], [b]) => a.localeCompare(b)));
      const page = tenantId ? await events.list(tenantId, emailId) : undefined;
      return {
        ...(item?.last_event !== undefined ? { lastEvent: item.last_event as string } : {}),
        ...(item !== undefined && statusMessageId(item) !== undefined ? { messageId: statusMessageId(item)! } : {}),
        ...(item?.tenant_id !== undefined ? { tenantId: item.tenant_id as string } : {}),
        recipients: sortedRecipients,
        events: page?.data ?? [],
      };
    },
  };
}
