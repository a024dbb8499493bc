/**
 * Counts what the handlers' own SDK clients ask of AWS: one middleware per client, inside the
 * retry loop, so that every HTTP request is counted (retries too), keyed `service:Operation`.
 * For DynamoDB it also asks for ReturnConsumedCapacity, so that the request units are the store's
 * own figures by item size (dynalite computes them as DynamoDB does: a write per started KB of the
 * larger of the old and new item, a read per started 4 KB, half for eventually consistent), and it
 * keeps the keys written, so that index entries and storage can be read back afterwards.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';

type Stacked = Pick<DynamoDBDocumentClient | SESv2Client | SQSClient | S3Client, 'middlewareStack'>;

export interface WrittenKey {
  readonly pk: string;
  readonly sk: string;
}

export class AwsTally {
  /** `service:Operation` -> HTTP requests. */
  readonly requests = new Map<string, number>();
  /** `service:Operation` -> request body bytes of each request (SQS and SNS bill per 64 KB). */
  readonly bodyBytes = new Map<string, number[]>();
  writeUnits = 0;
  /** Write units by the kind of item written (its partition key's prefix: `E`, `RL`, `MC`, `WH`, ...). */
  readonly writeUnitsByKind = new Map<string, number>();
  readUnits = 0;
  /** Conditional writes whose condition failed: DynamoDB still bills them (dynalite reports nothing). */
  conditionFailures = 0;
  readonly written = new Map<string, WrittenKey>();
  enabled = true;

  reset(): void {
    this.requests.clear();
    this.bodyBytes.clear();
    this.writeUnits = 0;
    this.writeUnitsByKind.clear();
    this.readUnits = 0;
    this.conditionFailures = 0;
    this.written.clear();
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.requests.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

const operationOf = (commandName: unknown): string => String(commandName ?? 'Unknown').replace(/Command$/, '');

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  // The SDK's JSON bodies are Uint8Array subclasses that also act as strings; read the bytes as bytes.
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
}

/** `{ pk: { S: 'x' } }` -> 'x'. */
const str = (attr: unknown): string | undefined => (attr as { S?: string } | undefined)?.S;

/** Remembers the key written; returns the kind of item (its partition key's prefix), if any. */
function rememberKeys(tally: AwsTally, operation: string, body: string): string | undefined {
  if (!WRITES.has(operation) || operation === 'BatchWriteItem') return undefined;
  try {
    const input = JSON.parse(body) as { Key?: Record<string, unknown>; Item?: Record<string, unknown> };
    const source = input.Key ?? input.Item;
    const pk = str(source?.pk);
    const sk = str(source?.sk);
    if (pk !== undefined && sk !== undefined) tally.written.set(`${pk}\u0000${sk}`, { pk, sk });
    return pk?.slice(0, pk.indexOf('#'));
  } catch {
    return undefined; // Not JSON: nothing to remember.
  }
}

const addKind = (tally: AwsTally, kind: string | undefined, units: number) => {
  if (kind !== undefined) tally.writeUnitsByKind.set(kind, (tally.writeUnitsByKind.get(kind) ?? 0) + units);
};

/** Adds the counting middleware to a client (and, for DynamoDB, asks for consumed capacity). */
export function countRequests(client: Stacked, service: 'dynamodb' | 'sesv2' | 'sqs' | 's3', tally: AwsTally): void {
  // The stacks of the three clients have different type parameters; the middleware is the same.
  const stack = client.middlewareStack as unknown as Stacked['middlewareStack'] & {
    add: (mw: unknown, options: Record<string, unknown>) => void;
  };
  if (service === 'dynamodb') {
    stack.add(
      (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { commandName?: string }) =>
        (args: { input: Record<string, unknown> }) => {
          const operation = operationOf(context.commandName);
          if (!tally.enabled || (!READS.has(operation) && !WRITES.has(operation))) return next(args);
          return next({ ...args, input: { ...args.input, ReturnConsumedCapacity: 'TOTAL' } });
        },
      { step: 'initialize', name: 'benchConsumedCapacity', priority: 'low' },
    );
  }
  stack.add(
    (next: (args: { request: { body?: unknown } }) => Promise<{ output: Record<string, unknown> }>, context: { commandName?: string }) =>
      async (args: { request: { body?: unknown } }) => {
        if (!tally.enabled) return next(args);
        const operation = operationOf(context.commandName);
        const key = `${service}:${operation}`;
        const body = bodyText(args.request?.body);
        tally.requests.set(key, (tally.requests.get(key) ?? 0) + 1);
        // Bytes as sent: an S3 object's body is binary, so its length is taken as is, not as text.
        const bytes = args.request?.body instanceof Uint8Array ? args.request.body.byteLength : Buffer.byteLength(body, 'utf8');
        tally.bodyBytes.set(key, [...(tally.bodyBytes.get(key) ?? []), bytes]);
        const kind = service === 'dynamodb' ? rememberKeys(tally, operation, body) : undefined;
        try {
          const result = await next(args);
          if (service === 'dynamodb') {
            const consumed = result.output?.ConsumedCapacity as { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;
            const units = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
            if (READS.has(operation)) tally.readUnits += units;
            else if (WRITES.has(operation)) {
              tally.writeUnits += units;
              addKind(tally, kind, units);
            }
          }
          return result;
        } catch (error) {
          if (service === 'dynamodb' && (error as { name?: string }).name === 'ConditionalCheckFailedException') {
            tally.conditionFailures += 1;
            tally.writeUnits += 1;
            addKind(tally, kind, 1);
          }
          throw error;
        }
      },
    { step: 'finalizeRequest', name: 'benchCountRequests', priority: 'low' },
  );
}
