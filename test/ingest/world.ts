/** A table on the embedded store with an email in it, and the ingest core wired to it. */
import { randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDb, type Db } from '../../lambdas/core/adapters/dynamo';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { EventStore } from '../../lambdas/core/adapters/events';
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
  /** Written with markSent (STATUS `sent` and the `M#` item) when given. */
  readonly sesMessageId?: string;
  readonly createdAt?: string;
}

export interface World {
  readonly table: string;
  readonly db: Db;
  readonly emails: EmailStore;
  readonly events: EventStore;
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
  const fanned: AppliedEvent[] = [];
  const { log, entries: logs } = memoryLogger();
  const deps: IngestDeps = {
    events,
    fanOut: options.fanOut ?? { fanOut: async (e) => void fanned.push(e) },
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
    table, db, emails, events, deps, fanned, logs,
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
      if (email.sesMessageId) await emails.markSent(id, tenantId, email.sesMessageId, Date.parse(createdAt), createdAt);
      return { id, tenantId };
    },
    items,
    async itemsOf(emailId, prefix) {
      return (await items(emailId)).filter((i) => (i.sk as string).startsWith(prefix));
    },
  };
}
