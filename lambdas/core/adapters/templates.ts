/**
 * Templates in DynamoDB (layout: lambdas/core/table.ts).
 *
 * - The template item (`TPL#<id>`/`TEMPLATE`) holds the name, the alias, the draft and published
 *   version ids and a `revision` that every change increments: each change is one UpdateItem
 *   conditioned on the revision it read, so concurrent edits cannot lose one another.
 * - A version (`TPL#<id>`/`V#<version id>`) is written once and never changed: subject, html, text,
 *   from, reply_to and variables, gzipped. An edit writes a new version and moves the draft to it;
 *   a publish makes the draft the published version. A version that neither pointer names any more
 *   is deleted (best effort); a send that finds its version just deleted reads the template again.
 * - An alias is held by `TA#<tenant>#<alias>`, put if absent before the template item names it.
 *   The alias belongs to a template only if both agree; a marker whose template does not name it
 *   (a create or rename that crashed half-way) is taken over once ALIAS_CLAIM_GRACE_MS has passed.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { keys } from '../table';
import { isId, newId } from '../domain/ids';
import { isAlias, type TemplateContent, type TemplateVariable } from '../domain/template';
import { type Db, isConditionFailure, queryItems } from './dynamo';

/**
 * Largest gzipped version item content. DynamoDB items are at most 400 KB; HTML compresses well,
 * so this holds several megabytes of a real template's html.
 */
export const MAX_VERSION_BYTES = 350_000;

/** A create or rename in flight writes its template item well within this of claiming the alias. */
export const ALIAS_CLAIM_GRACE_MS = 60_000;

/** How many times a send re-reads a template whose published version was replaced under it. */
const PUBLISHED_READ_ATTEMPTS = 3;

export interface TemplateHead {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly alias?: string;
  readonly draftVersion: string;
  readonly publishedVersion?: string;
  readonly publishedAt?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revision: number;
}

export interface StoredVersion {
  readonly id: string;
  readonly createdAt: string;
  readonly content: TemplateContent;
}

export interface PublishedTemplate {
  readonly templateId: string;
  readonly versionId: string;
  readonly content: TemplateContent;
}

export interface TemplatePatch {
  readonly name?: string;
  /** null removes the alias. */
  readonly alias?: string | null;
  readonly content?: TemplateContent;
}

export interface TemplatePage {
  readonly data: TemplateHead[];
  readonly hasMore: boolean;
}

export class AliasTakenError extends Error {
  constructor(alias: string) {
    super(`The alias \`${alias}\` is already used by another template.`);
  }
}
export class TemplateTooLargeError extends Error {
  constructor() {
    super(`The template is too large to store: its content, compressed, must be at most ${MAX_VERSION_BYTES} bytes.`);
  }
}
/** Another change was applied between this one's read and its write. */
export class TemplateConflictError extends Error {}
export class InvalidTemplateCursorError extends Error {}

function toHead(i: Record<string, unknown>): TemplateHead {
  return {
    id: i.template_id as string,
    tenantId: i.tenant_id as string,
    name: i.name as string,
    ...(i.alias !== undefined ? { alias: i.alias as string } : {}),
    draftVersion: i.draft_version as string,
    ...(i.published_version !== undefined ? { publishedVersion: i.published_version as string, publishedAt: i.published_at as string } : {}),
    createdAt: i.created_at as string,
    updatedAt: i.updated_at as string,
    revision: i.revision as number,
  };
}

interface StoredContent {
  subject?: string;
  html: string;
  text?: string;
  from?: string;
  reply_to: string[];
  variables: { key: string; type: TemplateVariable['type']; fallback?: string | number }[];
}

function encode(content: TemplateContent): Buffer {
  const stored: StoredContent = {
    ...(content.subject !== undefined ? { subject: content.subject } : {}),
    html: content.html,
    ...(content.text !== undefined ? { text: content.text } : {}),
    ...(content.from !== undefined ? { from: content.from } : {}),
    reply_to: [...content.replyTo],
    variables: content.variables.map((v) => ({ ...v })),
  };
  const body = gzipSync(JSON.stringify(stored));
  if (body.length > MAX_VERSION_BYTES) throw new TemplateTooLargeError();
  return body;
}

function decode(body: Uint8Array): TemplateContent {
  const s = JSON.parse(gunzipSync(Buffer.from(body)).toString('utf8')) as StoredContent;
  return {
    ...(s.subject !== undefined ? { subject: s.subject } : {}),
    html: s.html,
    ...(s.text !== undefined ? { text: s.text } : {}),
    ...(s.from !== undefined ? { from: s.from } : {}),
    replyTo: s.reply_to,
    variables: s.variables,
  };
}

export class TemplateStore {
  constructor(private readonly db: Db) {}

  private iso(): string {
    return new Date(this.db.now()).toISOString();
  }

  /** Creates a template whose first version is its draft; never published. */
  async create(tenantId: string, input: { name: string; alias?: string; content: TemplateContent }): Promise<TemplateHead> {
    const id = newId();
    const now = this.iso();
    const version = await this.putVersion(tenantId, id, input.content, now);
    if (input.alias !== undefined) {
      try {
        await this.claimAlias(tenantId, input.alias, id);
      } catch (error) {
        await this.deleteVersion(id, version);
        throw error;
      }
    }
    const head: TemplateHead = {
      id, tenantId, name: input.name, ...(input.alias !== undefined ? { alias: input.alias } : {}),
      draftVersion: version, createdAt: now, updatedAt: now, revision: 1,
    };
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: {
        ...keys.template(id), kind: 'template',
        template_id: id, tenant_id: tenantId, name: head.name, ...(head.alias !== undefined ? { alias: head.alias } : {}),
        draft_version: version, created_at: now, updated_at: now, revision: 1,
        gsi1pk: keys.tenantTemplates(tenantId), gsi1sk: `${now}#${id}`,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
    return head;
  }

  /** The tenant's template named by id or alias, or undefined (absent, or another tenant's). */
  async find(tenantId: string, idOrAlias: string): Promise<TemplateHead | undefined> {
    if (isId(idOrAlias)) {
      const head = await this.head(idOrAlias);
      return head && head.tenantId === tenantId ? head : undefined;
    }
    // Anything else that is not an alias names nothing (and never reaches DynamoDB's key size limit).
    if (!isAlias(idOrAlias)) return undefined;
    const { Item: marker } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.templateAlias(tenantId, idOrAlias), ConsistentRead: true,
    }));
    if (!marker) return undefined;
    const head = await this.head(marker.template_id as string);
    return head && head.tenantId === tenantId && head.alias === idOrAlias ? head : undefined;
  }

  async version(templateId: string, versionId: string): Promise<StoredVersion | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({
      TableName: this.db.table, Key: keys.templateVersion(templateId, versionId), ConsistentRead: true,
    }));
    if (!Item) return undefined;
    return { id: versionId, createdAt: Item.created_at as string, content: decode(Item.content as Uint8Array) };
  }

  /**
   * What a send renders: the published version of the tenant's template. `unpublished` when the
   * template has never been published; undefined when there is no such template.
   */
  async published(tenantId: string, idOrAlias: string): Promise<PublishedTemplate | 'unpublished' | undefined> {
    for (let attempt = 0; attempt < PUBLISHED_READ_ATTEMPTS; attempt++) {
      const head = await this.find(tenantId, idOrAlias);
      if (!head) return undefined;
      if (head.publishedVersion === undefined) return 'unpublished';
      const version = await this.version(head.id, head.publishedVersion);
      // Undefined: a publish replaced this version between the two reads; read the template again.
      if (version) return { templateId: head.id, versionId: version.id, content: version.content };
    }
    throw new Error('The template changed on every read');
  }

  /**
   * Applies a change read at `head.revision`: a new draft version when the content changes, a new
   * name or alias. Throws TemplateConflictError when another change came first (nothing applied).
   */
  async update(head: TemplateHead, patch: TemplatePatch): Promise<TemplateHead> {
    const now = this.iso();
    const draft = patch.content ? await this.putVersion(head.tenantId, head.id, patch.content, now) : head.draftVersion;
    const alias = patch.alias === undefined ? head.alias : (patch.alias ?? undefined);
    const newAlias = alias !== undefined && alias !== head.alias ? alias : undefined;
    const undo = async () => {
      if (draft !== head.draftVersion) await this.deleteVersion(head.id, draft);
      if (newAlias !== undefined) await this.releaseAlias(head.tenantId, newAlias, head.id);
    };
    try {
      if (newAlias !== undefined) await this.claimAlias(head.tenantId, newAlias, head.id);
    } catch (error) {
      await undo();
      throw error;
    }
    const name = patch.name ?? head.name;
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.template(head.id),
        UpdateExpression: `SET #n = :n, draft_version = :d, updated_at = :u, revision = :r1${alias !== undefined ? ', alias = :a' : ' REMOVE alias'}`,
        ConditionExpression: 'tenant_id = :t AND revision = :r',
        ExpressionAttributeNames: { '#n': 'name' },
        ExpressionAttributeValues: {
          ':n': name, ':d': draft, ':u': now, ':r': head.revision, ':r1': head.revision + 1, ':t': head.tenantId,
          ...(alias !== undefined ? { ':a': alias } : {}),
        },
      }));
    } catch (error) {
      await undo();
      if (isConditionFailure(error)) throw new TemplateConflictError('The template was changed concurrently.');
      throw error;
    }
    if (draft !== head.draftVersion && head.draftVersion !== head.publishedVersion) await this.deleteVersion(head.id, head.draftVersion);
    if (head.alias !== undefined && head.alias !== alias) await this.releaseAlias(head.tenantId, head.alias, head.id);
    const { alias: _previous, ...rest } = head;
    return { ...rest, name, ...(alias !== undefined ? { alias } : {}), draftVersion: draft, updatedAt: now, revision: head.revision + 1 };
  }

  /** Makes the draft the published version (a no-op when it already is). */
  async publish(head: TemplateHead): Promise<TemplateHead> {
    if (head.publishedVersion === head.draftVersion) return head;
    const now = this.iso();
    try {
      await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.template(head.id),
        UpdateExpression: 'SET published_version = :d, published_at = :p, updated_at = :p, revision = :r1',
        ConditionExpression: 'tenant_id = :t AND revision = :r',
        ExpressionAttributeValues: { ':d': head.draftVersion, ':p': now, ':r': head.revision, ':r1': head.revision + 1, ':t': head.tenantId },
      }));
    } catch (error) {
      if (isConditionFailure(error)) throw new TemplateConflictError('The template was changed concurrently.');
      throw error;
    }
    if (head.publishedVersion !== undefined) await this.deleteVersion(head.id, head.publishedVersion);
    return { ...head, publishedVersion: head.draftVersion, publishedAt: now, updatedAt: now, revision: head.revision + 1 };
  }

  /** Deletes the tenant's template, its alias and its versions; false when there is none. */
  async remove(head: TemplateHead): Promise<boolean> {
    try {
      await this.db.doc.send(new DeleteCommand({
        TableName: this.db.table,
        Key: keys.template(head.id),
        ConditionExpression: 'tenant_id = :t',
        ExpressionAttributeValues: { ':t': head.tenantId },
      }));
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    if (head.alias !== undefined) await this.releaseAlias(head.tenantId, head.alias, head.id);
    const versions = await queryItems(this.db, {
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':pk': keys.template(head.id).pk, ':v': 'V#' },
      ProjectionExpression: 'pk, sk',
    });
    for (const v of versions) await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: { pk: v.pk, sk: v.sk } }));
    return true;
  }

  /** A tenant's templates, newest first, by cursor (`after`: older than that template; `before`: newer). */
  async list(tenantId: string, options: { limit: number; after?: string; before?: string }): Promise<TemplatePage> {
    const cursorId = options.after ?? options.before;
    let cursor: string | undefined;
    if (cursorId !== undefined) {
      const head = isId(cursorId) ? await this.head(cursorId) : undefined;
      if (!head || head.tenantId !== tenantId) throw new InvalidTemplateCursorError(`No template with id ${cursorId.slice(0, 64)} to page from.`);
      cursor = `${head.createdAt}#${head.id}`;
    }
    const newer = options.before !== undefined;
    const res = await this.db.doc.send(new QueryCommand({
      TableName: this.db.table,
      IndexName: 'gsi1',
      KeyConditionExpression: `gsi1pk = :pk${cursor === undefined ? '' : newer ? ' AND gsi1sk > :c' : ' AND gsi1sk < :c'}`,
      ExpressionAttributeValues: { ':pk': keys.tenantTemplates(tenantId), ...(cursor !== undefined ? { ':c': cursor } : {}) },
      ScanIndexForward: newer,
      Limit: options.limit + 1,
    }));
    const items = (res.Items ?? []).map(toHead);
    const hasMore = items.length > options.limit;
    const page = items.slice(0, options.limit);
    if (newer) page.reverse();
    return { data: page, hasMore };
  }

  private async head(id: string): Promise<TemplateHead | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.template(id), ConsistentRead: true }));
    return Item ? toHead(Item) : undefined;
  }

  private async putVersion(tenantId: string, templateId: string, content: TemplateContent, createdAt: string): Promise<string> {
    const id = newId();
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: { ...keys.templateVersion(templateId, id), kind: 'template_version', tenant_id: tenantId, created_at: createdAt, content: encode(content) },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
    return id;
  }

  private async deleteVersion(templateId: string, versionId: string): Promise<void> {
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: keys.templateVersion(templateId, versionId) }));
  }

  /** Takes `alias` for the template, or throws AliasTakenError. */
  private async claimAlias(tenantId: string, alias: string, templateId: string): Promise<void> {
    const key = keys.templateAlias(tenantId, alias);
    const put = (condition: string, values?: Record<string, unknown>) => this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: { ...key, kind: 'template_alias', tenant_id: tenantId, template_id: templateId, claimed_at: this.db.now() },
      ConditionExpression: condition,
      ...(values ? { ExpressionAttributeValues: values } : {}),
    }));
    try {
      await put('attribute_not_exists(pk)');
      return;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const { Item: marker } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: key, ConsistentRead: true }));
    if (!marker) throw new AliasTakenError(alias);
    if (marker.template_id === templateId) return;
    const holder = await this.head(marker.template_id as string);
    const held = holder !== undefined && holder.alias === alias;
    if (held || this.db.now() - (marker.claimed_at as number) < ALIAS_CLAIM_GRACE_MS) throw new AliasTakenError(alias);
    try {
      await put('template_id = :old', { ':old': marker.template_id });
    } catch (error) {
      if (isConditionFailure(error)) throw new AliasTakenError(alias);
      throw error;
    }
  }

  private async releaseAlias(tenantId: string, alias: string, templateId: string): Promise<void> {
    try {
      await this.db.doc.send(new DeleteCommand({
        TableName: this.db.table,
        Key: keys.templateAlias(tenantId, alias),
        ConditionExpression: 'template_id = :id',
        ExpressionAttributeValues: { ':id': templateId },
      }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}
