/** TemplateStore against dynalite: versions, the draft and published pointers, alias markers, tenants. */
import { randomBytes } from 'node:crypto';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDb, type Db } from '../../lambdas/core/adapters/dynamo';
import {
  ALIAS_CLAIM_GRACE_MS,
  AliasTakenError,
  TemplateConflictError,
  TemplateStore,
  TemplateTooLargeError,
} from '../../lambdas/core/adapters/templates';
import type { TemplateContent } from '../../lambdas/core/domain/template';
import { newId } from '../../lambdas/core/domain/ids';
import { keys } from '../../lambdas/core/table';
import { startTestDynamo, type TestDynamo } from '../support/services';

let dynamo: TestDynamo;
let db: Db;
let store: TemplateStore;
let clock = Date.parse('2026-11-29T10:00:00.000Z');

const content = (html: string, over: Partial<TemplateContent> = {}): TemplateContent => ({
  html, subject: 'Hello {{{NAME}}}', replyTo: ['help@acme.com'], variables: [{ key: 'NAME', type: 'string', fallback: 'you' }], ...over,
});

/** Every item of a template (tests only: the code never scans). */
async function itemsOf(templateId: string): Promise<string[]> {
  const res = await dynamo.doc.send(new ScanCommand({ TableName: db.table }));
  return (res.Items ?? []).filter((i) => i.pk === `TPL#${templateId}`).map((i) => i.sk as string).sort();
}

async function aliasMarker(tenantId: string, alias: string): Promise<Record<string, unknown> | undefined> {
  const res = await dynamo.doc.send(new ScanCommand({ TableName: db.table }));
  return res.Items?.find((i) => i.pk === keys.templateAlias(tenantId, alias).pk);
}

beforeAll(async () => {
  dynamo = await startTestDynamo();
  db = createDb(dynamo.doc, await dynamo.freshTable(), () => clock);
  store = new TemplateStore(db);
});
afterAll(() => dynamo.close());
beforeEach(() => {
  clock += 1000;
});

describe('TemplateStore', () => {
  it('creates a draft that is found by id and by alias, only by its tenant', async () => {
    const tenant = newId();
    const head = await store.create(tenant, { name: 'Welcome', alias: 'welcome', content: content('<p>{{{NAME}}}</p>') });
    expect(head).toMatchObject({ tenantId: tenant, name: 'Welcome', alias: 'welcome', revision: 1 });
    expect(head.publishedVersion).toBeUndefined();
    expect(await store.find(tenant, head.id)).toEqual(head);
    expect(await store.find(tenant, 'welcome')).toEqual(head);
    expect((await store.version(head.id, head.draftVersion))?.content).toEqual(content('<p>{{{NAME}}}</p>'));

    const other = newId();
    expect(await store.find(other, head.id)).toBeUndefined();
    expect(await store.find(other, 'welcome')).toBeUndefined();
    expect(await store.published(other, head.id)).toBeUndefined();
    expect(await store.published(tenant, 'welcome')).toBe('unpublished');
  });

  it('keeps an alias unique within a tenant, leaving nothing behind for the refused create', async () => {
    const tenant = newId();
    const first = await store.create(tenant, { name: 'A', alias: 'receipt', content: content('a') });
    await expect(store.create(tenant, { name: 'B', alias: 'receipt', content: content('b') })).rejects.toBeInstanceOf(AliasTakenError);
    const res = await dynamo.doc.send(new ScanCommand({ TableName: db.table }));
    const versions = (res.Items ?? []).filter((i) => i.kind === 'template_version' && i.tenant_id === tenant);
    expect(versions).toHaveLength(1);
    expect(await store.find(tenant, 'receipt')).toMatchObject({ id: first.id });
    // Another tenant has its own aliases.
    expect(await store.create(newId(), { name: 'C', alias: 'receipt', content: content('c') })).toMatchObject({ alias: 'receipt' });
  });

  it('edits make drafts; sends read the published version; publishing replaces it and drops the old one', async () => {
    const tenant = newId();
    let head = await store.create(tenant, { name: 'Order', content: content('v1') });
    const v1 = head.draftVersion;
    head = await store.publish(head);
    expect(head).toMatchObject({ publishedVersion: v1, publishedAt: new Date(clock).toISOString() });
    expect(await store.published(tenant, head.id)).toMatchObject({ versionId: v1, content: { html: 'v1' } });

    head = await store.update(head, { content: content('v2') });
    const v2 = head.draftVersion;
    expect(v2).not.toBe(v1);
    expect(await store.published(tenant, head.id)).toMatchObject({ versionId: v1, content: { html: 'v1' } });
    // A further edit replaces the unpublished draft; the published version stays.
    head = await store.update(head, { content: content('v3') });
    const v3 = head.draftVersion;
    expect(await itemsOf(head.id)).toEqual(['TEMPLATE', `V#${v1}`, `V#${v3}`].sort());
    expect(await store.find(tenant, head.id)).toEqual(head);

    head = await store.publish(head);
    expect(await store.published(tenant, head.id)).toMatchObject({ versionId: v3, content: { html: 'v3' } });
    expect(await itemsOf(head.id)).toEqual(['TEMPLATE', `V#${v3}`].sort());
    // Publishing what is already published changes nothing.
    expect(await store.publish(head)).toEqual(head);
  });

  it('reads the template again when a publish replaces the version a send was about to read', async () => {
    const tenant = newId();
    let head = await store.publish(await store.create(tenant, { name: 'Racing send', content: content('old') }));
    head = await store.update(head, { content: content('new') });
    const pending = head;
    let raced = false;
    // A client that lets a publish (which deletes the old published version) run just before the
    // send's first read of a version.
    const racing = new TemplateStore({
      ...db,
      doc: {
        send: async (command: { input: { Key?: { sk?: string } } }) => {
          if (!raced && command.input.Key?.sk?.startsWith('V#')) {
            raced = true;
            await store.publish(pending);
          }
          return db.doc.send(command as never);
        },
      } as unknown as Db['doc'],
    });
    const got = await racing.published(tenant, head.id);
    expect(raced).toBe(true);
    expect(got).toMatchObject({ versionId: pending.draftVersion, content: { html: 'new' } });
  });

  it('refuses a change made from a stale read, applying nothing of it', async () => {
    const tenant = newId();
    const head = await store.create(tenant, { name: 'Race', alias: 'race-a', content: content('a') });
    await store.update(head, { name: 'Race 2' });
    await expect(store.update(head, { alias: 'race-b', content: content('b') })).rejects.toBeInstanceOf(TemplateConflictError);
    await expect(store.publish(head)).rejects.toBeInstanceOf(TemplateConflictError);
    expect(await itemsOf(head.id)).toEqual(['TEMPLATE', `V#${head.draftVersion}`].sort());
    expect(await aliasMarker(tenant, 'race-b')).toBeUndefined();
    const now = await store.find(tenant, head.id);
    expect(now).toMatchObject({ name: 'Race 2', alias: 'race-a', draftVersion: head.draftVersion, revision: 2 });
    expect(now?.publishedVersion).toBeUndefined();
  });

  it('moves an alias: the new one is held, the old one is free for another template', async () => {
    const tenant = newId();
    const head = await store.create(tenant, { name: 'Move', alias: 'old-name', content: content('m') });
    const moved = await store.update(head, { alias: 'new-name' });
    expect(await store.find(tenant, 'new-name')).toMatchObject({ id: head.id });
    expect(await store.find(tenant, 'old-name')).toBeUndefined();
    expect(await store.create(tenant, { name: 'Other', alias: 'old-name', content: content('o') })).toMatchObject({ alias: 'old-name' });
    const cleared = await store.update(moved, { alias: null });
    expect(cleared.alias).toBeUndefined();
    expect(await aliasMarker(tenant, 'new-name')).toBeUndefined();
  });

  it('takes over an alias marker left by a crashed create once the grace period has passed', async () => {
    const tenant = newId();
    const put = (claimedAt: number) => dynamo.doc.send(new PutCommand({
      TableName: db.table,
      Item: { ...keys.templateAlias(tenant, 'orphan'), kind: 'template_alias', tenant_id: tenant, template_id: newId(), claimed_at: claimedAt },
    }));
    await put(clock - 1000);
    await expect(store.create(tenant, { name: 'Too soon', alias: 'orphan', content: content('x') })).rejects.toBeInstanceOf(AliasTakenError);
    await put(clock - ALIAS_CLAIM_GRACE_MS - 1);
    const head = await store.create(tenant, { name: 'Taken over', alias: 'orphan', content: content('x') });
    expect(await store.find(tenant, 'orphan')).toMatchObject({ id: head.id });
  });

  it('removes a template with its alias and versions, only for its tenant', async () => {
    const tenant = newId();
    let head = await store.create(tenant, { name: 'Gone', alias: 'gone', content: content('g') });
    head = await store.publish(head);
    head = await store.update(head, { content: content('g2') });
    expect(await store.remove({ ...head, tenantId: newId() })).toBe(false);
    expect(await store.remove(head)).toBe(true);
    expect(await itemsOf(head.id)).toEqual([]);
    expect(await aliasMarker(tenant, 'gone')).toBeUndefined();
    expect(await store.find(tenant, head.id)).toBeUndefined();
  });

  it('lists a tenant\'s templates newest first, by cursor both ways', async () => {
    const tenant = newId();
    const made = [];
    for (const name of ['one', 'two', 'three']) {
      made.push(await store.create(tenant, { name, content: content(name) }));
      clock += 1000;
    }
    await store.create(newId(), { name: 'elsewhere', content: content('e') });
    const first = await store.list(tenant, { limit: 2 });
    expect(first.data.map((t) => t.name)).toEqual(['three', 'two']);
    expect(first.hasMore).toBe(true);
    const next = await store.list(tenant, { limit: 2, after: first.data[1]!.id });
    expect(next).toEqual({ data: [expect.objectContaining({ name: 'one' })], hasMore: false });
    const back = await store.list(tenant, { limit: 1, before: made[0]!.id });
    expect(back).toEqual({ data: [expect.objectContaining({ name: 'two' })], hasMore: true });
  });

  it('refuses content too large for one item before writing anything', async () => {
    const tenant = newId();
    const noise = randomBytes(600_000).toString('base64');
    await expect(store.create(tenant, { name: 'Big', content: content(noise) })).rejects.toBeInstanceOf(TemplateTooLargeError);
    expect(await store.list(tenant, { limit: 10 })).toEqual({ data: [], hasMore: false });
  });
});
