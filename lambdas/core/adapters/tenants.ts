/**
 * Tenants and API keys. A key is stored twice, both single-item writes: by its hash (what the
 * auth middleware reads) and by its id (listing, revocation). The plaintext key is never stored.
 */
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApiKeyRecord, KeyLookup, Permission } from '../http/auth';
import { hashApiKey, newApiKey, newId } from '../domain/ids';
import { keys } from '../table';
import { type Db, isConditionFailure, queryItems } from './dynamo';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  /** Its SES tenant and first key are made (`npx sesame tenants create`, `migrate`). */
  readonly complete?: boolean;
}

const tenantOf = (item: Record<string, unknown>): Tenant => ({
  id: item.tenant_id as string,
  name: item.name as string,
  createdAt: item.created_at as string,
  ...(item.setup === 'complete' ? { complete: true } : {}),
});

export interface ApiKeySummary {
  readonly id: string;
  readonly name: string;
  readonly permission: Permission;
  readonly domain?: string;
  readonly createdAt: string;
}

export interface CreatedKey extends ApiKeySummary {
  /** Shown once, at creation. */
  readonly token: string;
  readonly tenantId: string;
}

export interface NewKeyOptions {
  readonly name?: string;
  readonly permission?: Permission;
  readonly domain?: string;
  /** Use this plaintext key instead of generating one (local mode's SESAME_API_KEY). */
  readonly token?: string;
}

export class TenantStore implements KeyLookup {
  constructor(private readonly db: Db) {}

  async createTenant(name: string, id: string = newId()): Promise<Tenant> {
    const tenant = { id, name, createdAt: new Date(this.db.now()).toISOString() };
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: { ...keys.tenant(id), kind: 'tenant', tenant_id: id, name, created_at: tenant.createdAt, gsi1pk: keys.allTenants, gsi1sk: `${tenant.createdAt}#${id}` },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
    return tenant;
  }

  /**
   * The tenant named `name`: claims the name for a new id (put if absent) and creates the tenant, or
   * finds the one an earlier call claimed it for, and creates it if that call stopped before.
   */
  async claimTenant(name: string): Promise<Tenant> {
    let id = newId();
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: { ...keys.tenantName(name), kind: 'tenant_name', tenant_id: id, name },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.tenantName(name), ConsistentRead: true }));
      id = Item!.tenant_id as string;
    }
    const existing = await this.getTenant(id);
    if (existing) return existing;
    try {
      return await this.createTenant(name, id);
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return (await this.getTenant(id))!;
    }
  }

  /** Marks the tenant's SES tenant and first key as made. */
  async markComplete(id: string): Promise<void> {
    await this.db.doc.send(new UpdateCommand({
      TableName: this.db.table,
      Key: keys.tenant(id),
      UpdateExpression: 'SET setup = :complete',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':complete': 'complete' },
    }));
  }

  /** Puts a tenant created before tenants were listed on the list (migration). */
  async listTenant(tenant: Tenant): Promise<void> {
    await this.db.doc.send(new UpdateCommand({
      TableName: this.db.table,
      Key: keys.tenant(tenant.id),
      UpdateExpression: 'SET gsi1pk = :pk, gsi1sk = :sk',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':pk': keys.allTenants, ':sk': `${tenant.createdAt}#${tenant.id}` },
    }));
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.tenant(id), ConsistentRead: true }));
    return Item ? tenantOf(Item) : undefined;
  }

  /** Every listed tenant, oldest first (the admin tool's `tenants list`). */
  async listTenants(): Promise<Tenant[]> {
    const items = await queryItems(this.db, { IndexName: 'gsi1', KeyConditionExpression: 'gsi1pk = :pk', ExpressionAttributeValues: { ':pk': keys.allTenants } });
    return items.map(tenantOf);
  }

  /**
   * Every tenant, listed or not: a Scan, for `npx sesame tenants migrate` only (tenants created
   * before they were listed). Never on a request path.
   */
  async everyTenant(): Promise<Tenant[]> {
    const out: Tenant[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.doc.send(new ScanCommand({
        TableName: this.db.table,
        FilterExpression: 'sk = :sk',
        ExpressionAttributeValues: { ':sk': 'TENANT' },
        ExclusiveStartKey: start,
      }));
      out.push(...(page.Items ?? []).map(tenantOf));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** Creates a key for an existing tenant. */
  async createKey(tenantId: string, options: NewKeyOptions = {}): Promise<CreatedKey> {
    if (!(await this.getTenant(tenantId))) throw new Error(`Tenant ${tenantId} does not exist`);
    const token = options.token ?? newApiKey();
    if (!/^re_[A-Za-z0-9_-]{8,200}$/.test(token)) throw new Error('An API key must start with re_ and have at least 8 more characters');
    const hash = hashApiKey(token);
    const id = newId();
    const createdAt = new Date(this.db.now()).toISOString();
    const permission = options.permission ?? 'full_access';
    const attrs = {
      key_id: id, tenant_id: tenantId, name: options.name ?? 'default', permission,
      ...(options.domain ? { domain: options.domain } : {}), created_at: createdAt,
    };
    // By id first: a key that exists by hash always has its id item, so it can always be revoked.
    await this.db.doc.send(new PutCommand({
      TableName: this.db.table,
      Item: { ...keys.keyById(id), kind: 'api_key', ...attrs, key_hash: hash, gsi1pk: keys.tenantKeys(tenantId), gsi1sk: `${createdAt}#${id}` },
      ConditionExpression: 'attribute_not_exists(pk)',
    }));
    try {
      await this.db.doc.send(new PutCommand({
        TableName: this.db.table,
        Item: { ...keys.keyByHash(hash), kind: 'api_key_hash', ...attrs },
        ConditionExpression: 'attribute_not_exists(pk)',
      }));
    } catch (error) {
      await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: keys.keyById(id) }));
      if (isConditionFailure(error)) throw new Error('This API key already exists');
      throw error;
    }
    return { id, token, tenantId, name: attrs.name, permission, ...(options.domain ? { domain: options.domain } : {}), createdAt };
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.keyByHash(hash), ConsistentRead: true }));
    if (!Item) return undefined;
    return {
      keyId: Item.key_id as string,
      ...(typeof Item.name === 'string' ? { keyName: Item.name } : {}),
      tenantId: Item.tenant_id as string,
      permission: Item.permission as Permission,
      ...(Item.domain ? { domain: Item.domain as string } : {}),
    };
  }

  /**
   * Revokes a key by id. With `tenantId`, only that tenant's key (404-like `false` otherwise).
   * The hash item goes first: from then on the key no longer authenticates (caches aside).
   */
  async revokeKey(keyId: string, tenantId?: string): Promise<boolean> {
    const { Item } = await this.db.doc.send(new GetCommand({ TableName: this.db.table, Key: keys.keyById(keyId), ConsistentRead: true }));
    if (!Item || (tenantId !== undefined && Item.tenant_id !== tenantId)) return false;
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: keys.keyByHash(Item.key_hash as string) }));
    await this.db.doc.send(new DeleteCommand({ TableName: this.db.table, Key: keys.keyById(keyId) }));
    return true;
  }

  /**
   * Renames a tenant's key: the item by id (what lists show), then the item by hash. `false` when
   * the tenant has no key with this id.
   */
  async renameKey(keyId: string, tenantId: string, name: string): Promise<boolean> {
    let hash: string;
    try {
      const { Attributes } = await this.db.doc.send(new UpdateCommand({
        TableName: this.db.table,
        Key: keys.keyById(keyId),
        UpdateExpression: 'SET #name = :name',
        ConditionExpression: 'tenant_id = :tenant',
        ExpressionAttributeNames: { '#name': 'name' },
        ExpressionAttributeValues: { ':name': name, ':tenant': tenantId },
        ReturnValues: 'ALL_NEW',
      }));
      hash = Attributes!.key_hash as string;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
    await this.db.doc.send(new UpdateCommand({
      TableName: this.db.table,
      Key: keys.keyByHash(hash),
      UpdateExpression: 'SET #name = :name',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#name': 'name' },
      ExpressionAttributeValues: { ':name': name },
    })).catch((error: unknown) => {
      // Revoked meanwhile: nothing left to rename.
      if (!isConditionFailure(error)) throw error;
    });
    return true;
  }

  async listKeys(tenantId: string): Promise<ApiKeySummary[]> {
    const items = await queryItems(this.db, {
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.tenantKeys(tenantId) },
      ScanIndexForward: false,
    });
    const out: ApiKeySummary[] = items.map((i) => ({
      id: i.key_id as string, name: i.name as string, permission: i.permission as Permission,
      ...(i.domain ? { domain: i.domain as string } : {}), createdAt: i.created_at as string,
    }));
    return out;
  }
}
