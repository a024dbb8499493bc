/**
 * An in-memory HTTP handler for the SDK clients: canned answers in AWS's wire formats (DynamoDB's
 * JSON protocol with typed attribute values, SES v2's REST-JSON, SQS's JSON protocol), so that the
 * SDK still builds, signs, serialises and parses every request, and only the network is missing.
 * The CPU benchmark (bench/cpu.ts) plugs it in through configureClients (lambdas/core/clients.ts).
 */
import { createHash, randomUUID } from 'node:crypto';

/** The request as the SDK hands it to its HTTP handler (the fields used here). */
interface SdkRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

interface SdkResponse {
  readonly response: { readonly statusCode: number; readonly headers: Record<string, string>; readonly body: Uint8Array };
}

/** A DynamoDB item as plain values (strings, numbers, booleans, lists, maps). */
export type PlainItem = Readonly<Record<string, unknown>>;

/** Plain values to DynamoDB's typed JSON (`{ S: 'x' }`, `{ N: '1' }`, ...). */
export function toAttribute(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (value instanceof Uint8Array) return { B: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return { L: value.map(toAttribute) };
  if (typeof value === 'object') return { M: toAttributes(value as PlainItem) };
  throw new Error(`Cannot marshall ${typeof value}`);
}

export const toAttributes = (item: PlainItem): Record<string, unknown> =>
  Object.fromEntries(Object.entries(item).filter(([, v]) => v !== undefined).map(([k, v]) => [k, toAttribute(v)]));

export interface CannedWorld {
  /** Items GetItem returns, by `pk`; a request for another sort key of that partition finds nothing. */
  readonly items: ReadonlyMap<string, PlainItem>;
  /** Items a Query returns (the fan-out's endpoint lookup). */
  readonly queryItems: readonly PlainItem[];
}

const json = (statusCode: number, body: unknown, contentType: string): SdkResponse => ({
  response: { statusCode, headers: { 'content-type': contentType, 'x-amzn-requestid': 'bench' }, body: Buffer.from(JSON.stringify(body)) },
});

const AMZ_JSON = 'application/x-amz-json-1.0';

function bodyText(body: unknown): string {
  if (typeof body === 'string') return body;
  // The SDK's JSON bodies are Uint8Array subclasses that also act as strings; read the bytes as bytes.
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
  return '';
}

export class CannedResponder {
  /** What the SDK asks of its handler besides handle(). */
  readonly metadata = { handlerProtocol: 'http/1.1' };
  /** Requests answered, by `service:Operation`. */
  readonly answered = new Map<string, number>();

  constructor(private readonly world: CannedWorld) {}

  async handle(request: SdkRequest): Promise<SdkResponse> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
    const target = headers['x-amz-target'];
    const body = bodyText(request.body);
    if (target?.startsWith('DynamoDB_')) return this.dynamodb(target.slice(target.indexOf('.') + 1), body);
    if (target?.startsWith('AmazonSQS.')) return this.sqs(target.slice('AmazonSQS.'.length), body);
    if (request.method === 'POST' && request.path === '/v2/email/outbound-emails') {
      this.count('sesv2:SendEmail');
      return json(200, { MessageId: `0100${Date.now().toString(16)}-${randomUUID()}-000000` }, 'application/json');
    }
    throw new Error(`The canned responder has no answer for ${request.method} ${request.path} ${target ?? ''}`);
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, unknown> {
    return {};
  }

  destroy(): void {}

  private count(key: string): void {
    this.answered.set(key, (this.answered.get(key) ?? 0) + 1);
  }

  private dynamodb(operation: string, body: string): SdkResponse {
    this.count(`dynamodb:${operation}`);
    const input = JSON.parse(body) as { Key?: { pk?: { S?: string }; sk?: { S?: string } } };
    switch (operation) {
      case 'GetItem': {
        const found = this.world.items.get(input.Key?.pk?.S ?? '');
        // Same partition, other sort key (an email's event beside its META): not this item.
        const item = found && (found.sk === undefined || found.sk === input.Key?.sk?.S) ? found : undefined;
        return json(200, item ? { Item: toAttributes(item) } : {}, AMZ_JSON);
      }
      case 'Query':
        return json(200, { Items: this.world.queryItems.map(toAttributes), Count: this.world.queryItems.length, ScannedCount: this.world.queryItems.length }, AMZ_JSON);
      case 'PutItem':
      case 'UpdateItem':
      case 'DeleteItem':
        return json(200, {}, AMZ_JSON);
      default:
        throw new Error(`The canned responder has no answer for DynamoDB ${operation}`);
    }
  }

  private sqs(operation: string, body: string): SdkResponse {
    this.count(`sqs:${operation}`);
    switch (operation) {
      case 'SendMessageBatch': {
        const input = JSON.parse(body) as { Entries: { Id: string; MessageBody: string }[] };
        // The SDK checks each body's MD5 against SQS's answer, as it does in AWS.
        const Successful = input.Entries.map((e) => ({
          Id: e.Id, MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(e.MessageBody, 'utf8').digest('hex'),
        }));
        return json(200, { Successful, Failed: [] }, AMZ_JSON);
      }
      case 'ChangeMessageVisibility':
        return json(200, {}, AMZ_JSON);
      default:
        throw new Error(`The canned responder has no answer for SQS ${operation}`);
    }
  }
}
