/**
 * SQS's JSON protocol as the local SQS server speaks it (the protocol of the current AWS SDKs):
 * the request bodies it accepts, its errors (a `__type` and the `x-amzn-query-error` header that
 * the SDK turns into its own exception classes), and the MD5 digests the SDK checks. Part of the
 * local stand-in for SQS (sqs-server.ts); no Sesame logic.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** SQS errors: the SDK's exception name, the query-protocol code it also reads, the status. */
const ERRORS = {
  BatchEntryIdsNotDistinct: ['AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 400],
  BatchRequestTooLong: ['AWS.SimpleQueueService.BatchRequestTooLong', 400],
  EmptyBatchRequest: ['AWS.SimpleQueueService.EmptyBatchRequest', 400],
  InvalidAttributeName: ['InvalidAttributeName', 400],
  InvalidAttributeValue: ['InvalidAttributeValue', 400],
  InvalidBatchEntryId: ['AWS.SimpleQueueService.InvalidBatchEntryId', 400],
  InvalidMessageContents: ['InvalidMessageContents', 400],
  InvalidParameterValue: ['InvalidParameterValue', 400],
  MessageNotInflight: ['AWS.SimpleQueueService.MessageNotInflight', 400],
  MissingParameter: ['MissingParameter', 400],
  QueueDoesNotExist: ['AWS.SimpleQueueService.NonExistentQueue', 400],
  QueueNameExists: ['QueueAlreadyExists', 400],
  ReceiptHandleIsInvalid: ['ReceiptHandleIsInvalid', 404],
  TooManyEntriesInBatchRequest: ['AWS.SimpleQueueService.TooManyEntriesInBatchRequest', 400],
  UnsupportedOperation: ['AWS.SimpleQueueService.UnsupportedOperation', 400],
  InternalError: ['InternalError', 500],
} as const;

export type SqsErrorName = keyof typeof ERRORS;

export class SqsError extends Error {
  constructor(
    readonly errorName: SqsErrorName,
    message: string,
  ) {
    super(message);
    this.name = errorName;
  }

  get status(): number {
    return ERRORS[this.errorName][1];
  }

  /** The response: JSON body and the headers the SDK reads the error from. */
  toWire(): { status: number; headers: Record<string, string>; body: unknown } {
    const [code, status] = ERRORS[this.errorName];
    return {
      status,
      headers: { 'x-amzn-query-error': `${code};${status >= 500 ? 'Receiver' : 'Sender'}` },
      body: { __type: `com.amazonaws.sqs#${this.errorName}`, message: this.message },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Request bodies, member names as in the SQS model

const attributeMap = z.record(z.string(), z.string());
const names = z.array(z.string());

const messageAttributeValue = z.object({
  DataType: z.string(),
  StringValue: z.string().optional(),
  BinaryValue: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64').optional(),
  StringListValues: z.array(z.string()).optional(),
  BinaryListValues: z.array(z.string()).optional(),
});
export type WireAttributeValue = { DataType: string; StringValue?: string; BinaryValue?: string };

const messageAttributes = z.record(z.string(), messageAttributeValue);

const sendFields = {
  MessageBody: z.string(),
  DelaySeconds: z.number().int().optional(),
  MessageAttributes: messageAttributes.optional(),
  MessageSystemAttributes: z.record(z.string(), z.unknown()).optional(),
  MessageDeduplicationId: z.string().optional(),
  MessageGroupId: z.string().optional(),
};

export const requests = {
  CreateQueue: z.object({ QueueName: z.string(), Attributes: attributeMap.optional(), tags: z.record(z.string(), z.string()).optional() }),
  GetQueueUrl: z.object({ QueueName: z.string(), QueueOwnerAWSAccountId: z.string().optional() }),
  GetQueueAttributes: z.object({ QueueUrl: z.string(), AttributeNames: names.optional() }),
  ListQueues: z.object({ QueueNamePrefix: z.string().optional(), MaxResults: z.number().int().optional(), NextToken: z.string().optional() }),
  SendMessage: z.object({ QueueUrl: z.string(), ...sendFields }),
  SendMessageBatch: z.object({ QueueUrl: z.string(), Entries: z.array(z.object({ Id: z.string(), ...sendFields })) }),
  ReceiveMessage: z.object({
    QueueUrl: z.string(),
    MaxNumberOfMessages: z.number().int().optional(),
    VisibilityTimeout: z.number().int().optional(),
    WaitTimeSeconds: z.number().int().optional(),
    AttributeNames: names.optional(),
    MessageSystemAttributeNames: names.optional(),
    MessageAttributeNames: names.optional(),
    ReceiveRequestAttemptId: z.string().optional(),
  }),
  DeleteMessage: z.object({ QueueUrl: z.string(), ReceiptHandle: z.string() }),
  DeleteMessageBatch: z.object({ QueueUrl: z.string(), Entries: z.array(z.object({ Id: z.string(), ReceiptHandle: z.string() })) }),
  ChangeMessageVisibility: z.object({ QueueUrl: z.string(), ReceiptHandle: z.string(), VisibilityTimeout: z.number().int() }),
  ChangeMessageVisibilityBatch: z.object({
    QueueUrl: z.string(),
    Entries: z.array(z.object({ Id: z.string(), ReceiptHandle: z.string(), VisibilityTimeout: z.number().int().optional() })),
  }),
  PurgeQueue: z.object({ QueueUrl: z.string() }),
} as const;

export type SqsOperation = keyof typeof requests;
export type SqsRequest<O extends SqsOperation> = z.infer<(typeof requests)[O]>;

export function parseRequest<O extends SqsOperation>(operation: O, body: unknown): SqsRequest<O> {
  const result = requests[operation].safeParse(body, { reportInput: true });
  if (result.success) return result.data as SqsRequest<O>;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.');
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    throw new SqsError('MissingParameter', `The request must contain the parameter ${field}.`);
  }
  throw new SqsError('InvalidParameterValue', `Value for parameter ${field} is invalid. Reason: ${issue.message}.`);
}

// ---------------------------------------------------------------------------------------------
// Digests the SDK checks, and the sizes SQS counts

export const md5Hex = (data: string | Uint8Array): string => createHash('md5').update(data).digest('hex');

/**
 * MD5OfMessageAttributes as SQS computes it: for each attribute by name (byte order), the name,
 * the data type, a transport byte (1 for String and Number, 2 for Binary) and the value, each
 * length-prefixed with 4 bytes (big-endian) except the transport byte.
 */
export function md5OfMessageAttributes(attributes: Readonly<Record<string, WireAttributeValue>>): string {
  const hash = createHash('md5');
  const field = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  const sorted = Object.keys(attributes).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const name of sorted) {
    const value = attributes[name]!;
    field(Buffer.from(name, 'utf8'));
    field(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      field(Buffer.from(value.BinaryValue, 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      field(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}

/** The bytes SQS counts against MaximumMessageSize: the body, and each attribute's name, type and value. */
export function messageSize(body: string, attributes: Readonly<Record<string, WireAttributeValue>> = {}): number {
  let size = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size += value.BinaryValue !== undefined ? Buffer.from(value.BinaryValue, 'base64').length : Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

/** Characters SQS accepts in a message: #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF. */
// eslint-disable-next-line no-control-regex
const INVALID_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
export const hasInvalidCharacters = (text: string): boolean => INVALID_CHARACTER.test(text);

const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)(?!(?:aws|amazon)\.)[A-Za-z0-9_.-]{1,256}$/i;
const DATA_TYPE = /^(String|Number|Binary)(\.[^\s]{1,255})?$/;

/** Checks message attributes as SendMessage does; returns them in their stored form. */
export function validateMessageAttributes(attributes: Readonly<Record<string, z.infer<typeof messageAttributeValue>>> | undefined): Record<string, WireAttributeValue> | undefined {
  if (attributes === undefined || Object.keys(attributes).length === 0) return undefined;
  const entries = Object.entries(attributes);
  if (entries.length > 10) throw new SqsError('InvalidParameterValue', `Number of message attributes [${entries.length}] exceeds the allowed maximum [10].`);
  const out: Record<string, WireAttributeValue> = {};
  for (const [name, value] of entries) {
    if (!ATTRIBUTE_NAME.test(name)) throw new SqsError('InvalidParameterValue', `Message attribute name '${name}' is invalid.`);
    const type = DATA_TYPE.exec(value.DataType);
    if (!type) throw new SqsError('InvalidParameterValue', `The message attribute '${name}' has an invalid message attribute type ${value.DataType}.`);
    if (value.StringListValues !== undefined || value.BinaryListValues !== undefined) {
      throw new SqsError('InvalidParameterValue', `The message attribute '${name}': list values are not supported.`);
    }
    if (type[1] === 'Binary') {
      if (value.BinaryValue === undefined || value.StringValue !== undefined) throw new SqsError('InvalidParameterValue', `The message attribute '${name}' with type 'Binary' must use field 'Binary'.`);
      out[name] = { DataType: value.DataType, BinaryValue: value.BinaryValue };
    } else {
      if (value.StringValue === undefined || value.BinaryValue !== undefined) throw new SqsError('InvalidParameterValue', `The message attribute '${name}' with type '${type[1]}' must use field 'String'.`);
      if (type[1] === 'Number' && !Number.isFinite(Number(value.StringValue))) throw new SqsError('InvalidParameterValue', `Can't cast the value of message (user) attribute '${name}' to a number.`);
      if (hasInvalidCharacters(value.StringValue)) throw new SqsError('InvalidParameterValue', `The message attribute '${name}' contains invalid characters.`);
      out[name] = { DataType: value.DataType, StringValue: value.StringValue };
    }
  }
  return out;
}
