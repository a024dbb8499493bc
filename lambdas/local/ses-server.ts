/**
 * An embedded SES v2 endpoint for local mode and tests: a small HTTP server on 127.0.0.1 that
 * speaks SES v2's REST-JSON protocol well enough that the real `@aws-sdk/client-sesv2` client,
 * pointed at it with `endpoint` (or AWS_ENDPOINT_URL_SESV2), serializes and parses every call it
 * answers, errors included. It is a stand-in for an AWS service: no Sesame logic lives here.
 *
 * Operations (method and path as the SDK sends them):
 *   SendEmail                                   POST   /v2/email/outbound-emails
 *   CreateEmailIdentity                         POST   /v2/email/identities
 *   GetEmailIdentity                            GET    /v2/email/identities/{EmailIdentity}
 *   DeleteEmailIdentity                         DELETE /v2/email/identities/{EmailIdentity}
 *   PutEmailIdentityMailFromAttributes          PUT    /v2/email/identities/{EmailIdentity}/mail-from
 *   PutEmailIdentityFeedbackAttributes          PUT    /v2/email/identities/{EmailIdentity}/feedback
 *   PutEmailIdentityConfigurationSetAttributes  PUT    /v2/email/identities/{EmailIdentity}/configuration-set
 *   ListEmailIdentities                         POST   /v2/email/list-identities (current SDK), and
 *                                               GET    /v2/email/identities (older SDKs, query NextToken/PageSize)
 *   GetAccount                                  GET    /v2/email/account (production access unless `account` says otherwise)
 *   GetConfigurationSet                         GET    /v2/email/configuration-sets/{ConfigurationSetName}
 *   GetConfigurationSetEventDestinations        GET    /v2/email/configuration-sets/{ConfigurationSetName}/event-destinations
 *   the tenant and suppression-list operations of lambdas/local/ses-tenants.ts (tenants.json in dataDir)
 * Anything else answers 404 UnknownOperationException, which the SDK reports by that name.
 *
 * Errors use SES's wire format: the status, an `x-amzn-ErrorType` header and a JSON `{"message"}`
 * body, so the SDK raises its own exception classes (NotFoundException, AlreadyExistsException,
 * MessageRejected, TooManyRequestsException, ...). `failNext` injects any of them.
 *
 * SendEmail behaves as SES does where it matters to a caller: it refuses malformed addresses and
 * bad tag characters (BadRequestException), a sender whose address, domain or parent domain has no
 * identity verified for sending (MessageRejected), a custom MAIL FROM that is not verified when the
 * identity says REJECT_MESSAGE (MailFromDomainNotVerifiedException), and templates, which it does not
 * have (NotFoundException). It does not check configuration set names (any name is accepted and
 * stored), the sandbox, quotas or SigV4 signatures. It
 * returns a MessageId in SES's shape (`0100` + the time in hex, a UUID, `-000000`), keeps the
 * message for the mailbox, and then calls the onSend listeners. Listeners run after the response
 * is written, as SES publishes events after it answers. A `journal` (local mode's event outbox) is
 * the durable seam: its prepare() runs before the mailbox is written and its commit() after, both
 * before SendEmail answers, so that what SES accepted is on disk when the caller learns it.
 *
 * LOCAL SIMULATION RULE for identities. An identity is created PENDING (DKIM PENDING, not verified
 * for sending), as in SES. The first GetEmailIdentity after that finds it verified, as if the DNS
 * records had been published and SES had just checked them: DKIM SUCCESS, VerificationStatus
 * SUCCESS, VerifiedForSendingStatus true, and a custom MAIL FROM domain SUCCESS. A MAIL FROM
 * domain set later is PENDING until the next GetEmailIdentity in the same way. With
 * `verifyDelaySeconds`, a read verifies only once that long has passed since the identity was
 * created (as if its records took that long to be published and seen): reads before then find
 * it PENDING. Identities seeded
 * with `verified: true` are verified from the start; `dnsPublished: false` keeps a seeded identity
 * PENDING whatever is read (records never published). Email-address identities follow the same
 * rule (as if the verification link had been followed).
 *
 * The mailbox: GET / (HTML, newest first), GET /messages/{MessageId}, GET /store (JSON, like
 * aws-ses-v2-local's; `?since=<epoch seconds>`), DELETE /store (empties it). With a dataDir,
 * identities (identities.json) and the mailbox (one file per message under mailbox/) are saved
 * atomically and loaded at start.
 *
 * Configuration sets are read-only: the server answers for those `configurationSets` names (local
 * mode passes Sesame's, publishing to its topic), and NotFoundException for any other.
 *
 * Requests whose Host is not 127.0.0.1 or localhost are refused, so that a web page cannot read
 * the mailbox through DNS rebinding. Nothing here logs addresses or message content.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SendEmailRequest } from '@aws-sdk/client-sesv2';
import { z } from 'zod';
import { writeJsonAtomic, readJson, SnapshotWriter } from './json-files';
import { MAILBOX_HEADERS, renderMailbox, renderMessage } from './ses-mailbox';
import { createLocalTenants, TENANT_OPERATIONS } from './ses-tenants';
import {
  envelopeOf,
  isBareAddress,
  isDomainName,
  parseAddress,
  parseSendEmail,
  storedEmailFromJson,
  storedEmailToJson,
  type SendEvent,
  type StoredEmail,
} from './ses-message';
import { closeServer, listenOnLoopback } from './listen';

export type { Envelope, SendEvent, StoredEmail } from './ses-message';

export const SES_OPERATIONS = [
  'SendEmail',
  'CreateEmailIdentity',
  'GetEmailIdentity',
  'DeleteEmailIdentity',
  'PutEmailIdentityMailFromAttributes',
  'PutEmailIdentityFeedbackAttributes',
  'PutEmailIdentityConfigurationSetAttributes',
  'ListEmailIdentities',
  'GetAccount',
  'GetConfigurationSet',
  'GetConfigurationSetEventDestinations',
  ...TENANT_OPERATIONS,
] as const;
export type SesOperation = (typeof SES_OPERATIONS)[number];

export interface StartSesServerOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Folder for identities and the mailbox; in memory when absent. */
  readonly dataDir?: string;
  /** The region SES's messages name (default us-east-1). */
  readonly region?: string;
  /**
   * Seconds after its creation before a read finds an identity verified (local mode's
   * SESAME_LOCAL_VERIFY_DELAY_SECONDS). Absent or 0: the first read does.
   */
  readonly verifyDelaySeconds?: number;
  /** The account of the ARNs of identities, configuration sets and tenants (default 000000000000). */
  readonly accountId?: string;
  /** The configuration sets that GetConfigurationSet and GetConfigurationSetEventDestinations know (default none). */
  readonly configurationSets?: readonly LocalConfigurationSet[];
  /**
   * What GetAccount answers, in SES's wire shape, over the default: production access, sending
   * enabled, 50,000 emails a day at 14 a second, BOUNCE and COMPLAINT suppressed. SentLast24Hours is
   * counted from the mailbox unless given. E.g. a sandbox account (test/fixtures/sesv2/get-account.sandbox.json).
   */
  readonly account?: LocalAccount;
  /** Where failures no client sees are reported: a failing onSend listener, an internal error (default: one line on stderr, without addresses). */
  readonly onError?: (error: unknown) => void;
  /** Told of every accepted email before SendEmail answers (see AcceptJournal). */
  readonly journal?: AcceptJournal;
}

/**
 * Records what an accepted email will produce, durably, inside SendEmail: prepare() before the
 * mailbox is written, commit() once it is. If either throws, SendEmail answers 500.
 */
export interface AcceptJournal {
  prepare(email: SendEvent): Promise<void>;
  commit(email: SendEvent): Promise<void>;
}

/** A configuration set as the server answers for it. */
export interface LocalConfigurationSet {
  readonly name: string;
  /** SendingOptions.SendingEnabled (default true). */
  readonly sendingEnabled?: boolean;
  /** DeliveryOptions.TlsPolicy (default OPTIONAL, as SES answers for a set made without delivery options). */
  readonly tlsPolicy?: 'REQUIRE' | 'OPTIONAL';
  /** SuppressionOptions.SuppressedReasons; absent: the set has no suppression options (the tenant's or the account's apply). */
  readonly suppressedReasons?: readonly string[];
  /** SuppressionOptions.SuppressionScope (ACCOUNT or TENANT): overrides the scope of the send's tenant. */
  readonly suppressionScope?: 'ACCOUNT' | 'TENANT';
  readonly eventDestinations: readonly LocalEventDestination[];
}

/** An event destination to an SNS topic. */
export interface LocalEventDestination {
  readonly name: string;
  readonly enabled: boolean;
  /** SES v2's event type names (SEND, BOUNCE, ...). */
  readonly matchingEventTypes: readonly string[];
  readonly snsTopicArn: string;
}

/** GetAccount's fields that can be set, as SES sends them. */
export interface LocalAccount {
  readonly ProductionAccessEnabled?: boolean;
  readonly SendingEnabled?: boolean;
  readonly EnforcementStatus?: string;
  readonly SendQuota?: { readonly Max24HourSend?: number; readonly MaxSendRate?: number; readonly SentLast24Hours?: number };
  readonly SuppressionAttributes?: { readonly SuppressedReasons?: readonly string[] };
}

export interface SeedIdentityOptions {
  /** Verified for sending from the start, with the custom MAIL FROM domain it has at the time. */
  readonly verified: boolean;
  /** When false, the identity stays PENDING on every read (default true: the simulation rule applies). */
  readonly dnsPublished?: boolean;
}

export type SendListener = (email: SendEvent) => void | Promise<void>;

export interface LocalSes {
  /** `http://127.0.0.1:<port>`, for the SDK's `endpoint` or AWS_ENDPOINT_URL_SESV2. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server and waits for pending writes. */
  close(): Promise<void>;
  /** Calls `listener` after each accepted SendEmail; returns a function that removes it. */
  onSend(listener: SendListener): () => void;
  /** Every email accepted, oldest first. */
  sent(): StoredEmail[];
  /** Creates (or updates) an identity, a domain or an email address, without the API. */
  seedIdentity(name: string, options: SeedIdentityOptions): Promise<void>;
  /** The next `count` calls of `operation` fail with `errorType` (e.g. TooManyRequestsException). */
  failNext(operation: SesOperation, errorType: string, count?: number): void;
  /** Pauses an SES tenant as SES does under its reputation policy (sends get SendingPausedException); `resumeTenant` reinstates it. */
  pauseTenant(name: string, cause?: string): Promise<void>;
  resumeTenant(name: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Errors in SES's wire format

/** SES v2's errors, their status and a message as SES words it (see test/fixtures/sesv2/errors). */
const ERRORS: Record<string, { status: number; message: string }> = {
  AccountSuspendedException: { status: 400, message: "The message can't be sent because the account's ability to send email has been permanently restricted." },
  AlreadyExistsException: { status: 400, message: 'The resource specified in your request already exists.' },
  BadRequestException: { status: 400, message: 'The input you provided is invalid.' },
  ConcurrentModificationException: { status: 500, message: 'The resource is being modified by another operation or thread.' },
  ConflictException: { status: 409, message: 'There are conflicting operations in progress.' },
  InternalServiceErrorException: { status: 500, message: 'The request couldn\'t be processed because an error occurred with the Amazon SES API v2.' },
  InvalidNextTokenException: { status: 400, message: 'The specified request includes an invalid or expired token.' },
  LimitExceededException: { status: 400, message: 'There are too many instances of the specified resource type.' },
  MailFromDomainNotVerifiedException: { status: 400, message: "The message can't be sent because the sending domain isn't verified." },
  MessageRejected: { status: 400, message: 'The message can\'t be sent because it contains invalid content.' },
  NotFoundException: { status: 404, message: 'The resource you attempted to access doesn\'t exist.' },
  SendingPausedException: { status: 400, message: "The message can't be sent because the account's ability to send email is currently paused." },
  TooManyRequestsException: { status: 429, message: 'Maximum sending rate exceeded.' },
};

export class SesError extends Error {
  readonly status: number;
  constructor(
    readonly errorType: string,
    message?: string,
    status?: number,
  ) {
    super(message ?? ERRORS[errorType]?.message ?? errorType);
    this.name = errorType;
    this.status = status ?? ERRORS[errorType]?.status ?? 400;
  }
}

// ---------------------------------------------------------------------------------------------
// Identities

type VerificationStatus = 'PENDING' | 'SUCCESS';
type KeyLength = 'RSA_1024_BIT' | 'RSA_2048_BIT';
type MxFailureBehavior = 'USE_DEFAULT_VALUE' | 'REJECT_MESSAGE';

/** An identity as the server keeps it (and as identities.json holds it). Times in epoch ms. */
interface IdentityRecord {
  name: string;
  type: 'DOMAIN' | 'EMAIL_ADDRESS';
  status: VerificationStatus;
  /** Local simulation: whether the next GetEmailIdentity verifies what is pending. */
  dnsPublished: boolean;
  createdAt: number;
  lastCheckedAt?: number;
  lastSuccessAt?: number;
  dkim: { origin: 'AWS_SES' | 'EXTERNAL'; tokens: string[]; keyLength?: KeyLength; keyGeneratedAt?: number };
  mailFrom?: { domain: string; status: VerificationStatus };
  behaviorOnMxFailure: MxFailureBehavior;
  feedbackForwarding: boolean;
  configurationSetName?: string;
  tags: { Key: string; Value: string }[];
}

const identityRecord = z.object({
  name: z.string(),
  type: z.enum(['DOMAIN', 'EMAIL_ADDRESS']),
  status: z.enum(['PENDING', 'SUCCESS']),
  dnsPublished: z.boolean(),
  createdAt: z.number(),
  lastCheckedAt: z.number().optional(),
  lastSuccessAt: z.number().optional(),
  dkim: z.object({
    origin: z.enum(['AWS_SES', 'EXTERNAL']),
    tokens: z.array(z.string()),
    keyLength: z.enum(['RSA_1024_BIT', 'RSA_2048_BIT']).optional(),
    keyGeneratedAt: z.number().optional(),
  }),
  mailFrom: z.object({ domain: z.string(), status: z.enum(['PENDING', 'SUCCESS']) }).optional(),
  behaviorOnMxFailure: z.enum(['USE_DEFAULT_VALUE', 'REJECT_MESSAGE']),
  feedbackForwarding: z.boolean(),
  configurationSetName: z.string().optional(),
  tags: z.array(z.object({ Key: z.string(), Value: z.string() })),
});
const identitiesFile = z.object({ identities: z.array(identityRecord) });

const MAX_IDENTITIES = 10_000;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** An Easy DKIM token as SES makes them: 32 characters of lower-case base32 (160 random bits). */
function dkimToken(): string {
  const bytes = randomBytes(20);
  let bits = 0;
  let value = 0;
  let token = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      token += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return token;
}

/** SES's MessageId shape: `0100` and the time in ms as 12 hex digits, a UUID, `-000000`. */
export function sesMessageId(now = Date.now()): string {
  return `0100${now.toString(16).padStart(12, '0')}-${randomUUID()}-000000`;
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function dkimAttributes(identity: IdentityRecord) {
  if (identity.type === 'EMAIL_ADDRESS') {
    return { SigningEnabled: false, Status: 'NOT_STARTED', SigningAttributesOrigin: 'AWS_SES', NextSigningKeyLength: 'RSA_1024_BIT' };
  }
  const { dkim } = identity;
  if (dkim.origin === 'EXTERNAL') {
    return { SigningAttributesOrigin: 'EXTERNAL', SigningEnabled: true, Status: identity.status, Tokens: [] };
  }
  return {
    SigningEnabled: true,
    Status: identity.status,
    Tokens: dkim.tokens,
    SigningAttributesOrigin: 'AWS_SES',
    NextSigningKeyLength: dkim.keyLength,
    CurrentSigningKeyLength: dkim.keyLength,
    LastKeyGenerationTimestamp: seconds(dkim.keyGeneratedAt),
  };
}

function getIdentityResponse(identity: IdentityRecord) {
  const verified = identity.status === 'SUCCESS';
  const verificationInfo =
    identity.type === 'EMAIL_ADDRESS'
      ? {}
      : verified
        ? { LastCheckedTimestamp: seconds(identity.lastCheckedAt), LastSuccessTimestamp: seconds(identity.lastSuccessAt) }
        : { LastCheckedTimestamp: seconds(identity.lastCheckedAt), ErrorType: 'HOST_NOT_FOUND' };
  return {
    IdentityType: identity.type,
    FeedbackForwardingStatus: identity.feedbackForwarding,
    VerifiedForSendingStatus: verified,
    DkimAttributes: dkimAttributes(identity),
    MailFromAttributes: {
      MailFromDomain: identity.mailFrom?.domain,
      MailFromDomainStatus: identity.mailFrom?.status,
      BehaviorOnMxFailure: identity.behaviorOnMxFailure,
    },
    Policies: {},
    Tags: identity.tags,
    ConfigurationSetName: identity.configurationSetName,
    VerificationStatus: identity.status,
    VerificationInfo: verificationInfo,
  };
}

function domainOf(identity: IdentityRecord): string {
  return identity.type === 'DOMAIN' ? identity.name : identity.name.slice(identity.name.lastIndexOf('@') + 1);
}

// ---------------------------------------------------------------------------------------------
// Request bodies

const createIdentityBody = z.object({
  EmailIdentity: z.string(),
  Tags: z.array(z.object({ Key: z.string(), Value: z.string() })).optional(),
  DkimSigningAttributes: z
    .object({
      DomainSigningSelector: z.string().optional(),
      DomainSigningPrivateKey: z.string().optional(),
      NextSigningKeyLength: z.enum(['RSA_1024_BIT', 'RSA_2048_BIT']).optional(),
      DomainSigningAttributesOrigin: z.string().optional(),
    })
    .optional(),
  ConfigurationSetName: z.string().optional(),
});
const mailFromBody = z.object({
  MailFromDomain: z.string().optional(),
  BehaviorOnMxFailure: z.enum(['USE_DEFAULT_VALUE', 'REJECT_MESSAGE']).optional(),
});
const feedbackBody = z.object({ EmailForwardingEnabled: z.boolean().optional() });
const configurationSetBody = z.object({ ConfigurationSetName: z.string().optional() });
const listBody = z.object({
  Filter: z.record(z.string(), z.string()).optional(),
  NextToken: z.string().optional(),
  PageSize: z.number().int().min(0).max(1000).optional(),
});

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new SesError('BadRequestException', `1 validation error detected: Value at '${issue.path.join('.')}' failed to satisfy constraint: ${issue.message}`);
}

// ---------------------------------------------------------------------------------------------
// The server

interface ApiRequest {
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: unknown;
}

interface ApiResult {
  readonly body: unknown;
  /** Runs once the response is written. */
  readonly afterResponse?: () => void;
}

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly operation: SesOperation;
  readonly handle: (request: ApiRequest) => Promise<ApiResult> | ApiResult;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024; // SES takes messages up to 40 MB; base64 adds a third.
const IDENTITY = '/v2/email/identities/([^/?]+)';
const CONFIGURATION_SET = '/v2/email/configuration-sets/([^/?]+)';

export async function startSesServer(options: StartSesServerOptions = {}): Promise<LocalSes> {
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const dataDir = options.dataDir ? path.resolve(options.dataDir) : undefined;
  const identities = new Map<string, IdentityRecord>();
  let mailbox: StoredEmail[] = [];
  const listeners = new Set<SendListener>();
  const failures = new Map<SesOperation, { errorType: string; remaining: number }[]>();
  const pendingWrites = new Set<Promise<unknown>>();
  const reportError =
    options.onError ??
    ((error: unknown) => process.stderr.write(`local SES: ${error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error'}\n`));

  const identitiesWriter = dataDir
    ? new SnapshotWriter(path.join(dataDir, 'identities.json'), () => ({ identities: [...identities.values()] }))
    : undefined;
  const mailboxDir = dataDir ? path.join(dataDir, 'mailbox') : undefined;

  if (dataDir) {
    const saved = await readJson(path.join(dataDir, 'identities.json'));
    if (saved !== undefined) for (const identity of identitiesFile.parse(saved).identities) identities.set(identity.name, identity);
    mailbox = await loadMailbox(mailboxDir!);
  }
  const tenants = await createLocalTenants({ region, accountId, ...(dataDir ? { dataDir } : {}), error: (type, message) => new SesError(type, message) });
  const sesArn = (resource: string) => `arn:aws:ses:${region}:${accountId}:${resource}`;

  const track = <T>(promise: Promise<T>): Promise<T> => {
    pendingWrites.add(promise);
    return promise.finally(() => pendingWrites.delete(promise));
  };
  const saveIdentities = async () => {
    if (identitiesWriter) await track(identitiesWriter.save());
  };

  const findIdentity = (name: string): IdentityRecord => {
    const identity = identities.get(name.toLowerCase());
    if (!identity) throw new SesError('NotFoundException', `Email identity ${name} does not exist.`);
    return identity;
  };

  const newIdentity = (name: string, now: number): IdentityRecord => {
    const type = name.includes('@') ? 'EMAIL_ADDRESS' : 'DOMAIN';
    if (type === 'DOMAIN' ? !isDomainName(name) : !isBareAddress(name)) {
      throw new SesError('BadRequestException', `Invalid email identity: ${name}`);
    }
    return {
      name: name.toLowerCase(),
      type,
      status: 'PENDING',
      dnsPublished: true,
      createdAt: now,
      dkim: type === 'DOMAIN' ? { origin: 'AWS_SES', tokens: [dkimToken(), dkimToken(), dkimToken()], keyLength: 'RSA_2048_BIT', keyGeneratedAt: now } : { origin: 'AWS_SES', tokens: [] },
      behaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      feedbackForwarding: true,
      tags: [],
    };
  };

  /** The simulation rule: a read finds whatever is pending verified, once its records are "published". */
  const checkDns = (identity: IdentityRecord, now: number): boolean => {
    if (!identity.dnsPublished) {
      identity.lastCheckedAt = now;
      return true;
    }
    const pending = identity.status === 'PENDING' || identity.mailFrom?.status === 'PENDING';
    if (!pending) return false;
    if (now - identity.createdAt < (options.verifyDelaySeconds ?? 0) * 1000) return false;
    identity.status = 'SUCCESS';
    if (identity.mailFrom) identity.mailFrom.status = 'SUCCESS';
    identity.lastCheckedAt = now;
    identity.lastSuccessAt = now;
    return true;
  };

  /** SES's check: the address, its domain or a parent domain is verified for sending. */
  const sendingIdentity = (address: string, domain: string): IdentityRecord | undefined => {
    const candidates = [address.toLowerCase()];
    const labels = domain.split('.');
    for (let i = 0; i < labels.length - 1; i++) candidates.push(labels.slice(i).join('.'));
    return candidates.map((name) => identities.get(name)).find((identity) => identity?.status === 'SUCCESS');
  };

  const sendEmail = async ({ body }: ApiRequest): Promise<ApiResult> => {
    const request = parseSendEmailBody(body);
    const content = request.Content!;
    const kinds = [content.Simple, content.Raw, content.Template].filter((c) => c !== undefined).length;
    if (kinds !== 1) throw new SesError('BadRequestException', 'Exactly one of Simple, Raw or Template content is required.');
    if (content.Template) throw new SesError('NotFoundException', `Template ${content.Template.TemplateName ?? ''} does not exist.`);
    for (const tag of request.EmailTags ?? []) {
      for (const [what, value] of [['name', tag.Name], ['value', tag.Value]] as const) {
        if (!value || value.length > 256 || !/^[A-Za-z0-9_-]+$/.test(value)) {
          throw new SesError('BadRequestException', `Illegal tag ${what}: only ASCII letters, digits, '_' and '-' are allowed, up to 256 characters.`);
        }
      }
    }
    for (const header of content.Simple?.Headers ?? []) {
      if (!header.Name || header.Name.length > 126 || !/^[\x21-\x39\x3b-\x7e]+$/.test(header.Name) || (header.Value ?? '').length > 870) {
        throw new SesError('BadRequestException', 'Illegal header: names are printable ASCII without a colon (up to 126 characters), values up to 870 characters.');
      }
    }
    const envelope = envelopeOf(request);
    if (!envelope.from) throw new SesError('BadRequestException', "Missing required header 'From'.");
    const from = parseAddress(envelope.from);
    if (!from) throw new SesError('BadRequestException', 'Illegal address: the sender address is malformed.');
    const recipients = [...envelope.to, ...envelope.cc, ...envelope.bcc];
    if (recipients.length === 0) throw new SesError('BadRequestException', 'Missing final recipients: To, Cc or Bcc is required.');
    if (recipients.length > 50) throw new SesError('BadRequestException', 'Recipient count exceeds 50.');
    for (const address of [...recipients, ...envelope.replyTo]) {
      if (!parseAddress(address)) throw new SesError('BadRequestException', 'Illegal address: a recipient or reply-to address is malformed.');
    }
    const identity = sendingIdentity(from.address, from.domain);
    if (!identity) {
      throw new SesError(
        'MessageRejected',
        `Email address is not verified. The following identities failed the check in region ${region.toUpperCase()}: ${from.address}`,
      );
    }
    if (identity.mailFrom && identity.mailFrom.status !== 'SUCCESS' && identity.behaviorOnMxFailure === 'REJECT_MESSAGE') {
      throw new SesError('MailFromDomainNotVerifiedException');
    }

    const suppressed = tenants.checkSend({
      ...(request.TenantName ? { tenantName: request.TenantName } : {}),
      identityArn: sesArn(`identity/${identity.name}`),
      ...(request.ConfigurationSetName ? { configurationSetArn: sesArn(`configuration-set/${request.ConfigurationSetName}`) } : {}),
      ...(request.ConfigurationSetName && configurationSets.get(request.ConfigurationSetName)?.suppressedReasons
        ? { configurationSetScope: configurationSets.get(request.ConfigurationSetName)!.suppressionScope ?? 'ACCOUNT' }
        : {}),
      recipients,
    });

    const now = Date.now();
    const email: StoredEmail = { messageId: sesMessageId(now), timestamp: new Date(now).toISOString(), request, envelope, ...(suppressed.length ? { suppressed } : {}) };
    await options.journal?.prepare(email);
    if (mailboxDir) await track(writeJsonAtomic(path.join(mailboxDir, `${email.messageId}.json`), storedEmailToJson(email)));
    mailbox.push(email);
    await options.journal?.commit(email);
    return { body: { MessageId: email.messageId }, afterResponse: () => emit(email) };
  };

  const emit = (email: StoredEmail) => {
    for (const listener of listeners) {
      try {
        Promise.resolve(listener(email)).catch(reportError);
      } catch (error) {
        reportError(error);
      }
    }
  };

  const createEmailIdentity = async ({ body }: ApiRequest): Promise<ApiResult> => {
    const input = parseBody(createIdentityBody, body);
    if (identities.has(input.EmailIdentity.toLowerCase())) {
      throw new SesError('AlreadyExistsException', `Email identity ${input.EmailIdentity} already exist.`);
    }
    if (identities.size >= MAX_IDENTITIES) throw new SesError('LimitExceededException');
    const identity = newIdentity(input.EmailIdentity, Date.now());
    const signing = input.DkimSigningAttributes;
    if (identity.type === 'DOMAIN' && signing?.DomainSigningPrivateKey !== undefined) {
      identity.dkim = { origin: 'EXTERNAL', tokens: [] };
    } else if (identity.type === 'DOMAIN' && signing?.NextSigningKeyLength) {
      identity.dkim.keyLength = signing.NextSigningKeyLength;
    }
    identity.tags = input.Tags ?? [];
    identity.configurationSetName = input.ConfigurationSetName;
    identities.set(identity.name, identity);
    await saveIdentities();
    return { body: { IdentityType: identity.type, VerifiedForSendingStatus: false, DkimAttributes: dkimAttributes(identity) } };
  };

  const getEmailIdentity = async ({ params }: ApiRequest): Promise<ApiResult> => {
    const identity = findIdentity(params[0]!);
    if (checkDns(identity, Date.now())) await saveIdentities();
    return { body: getIdentityResponse(identity) };
  };

  const deleteEmailIdentity = async ({ params }: ApiRequest): Promise<ApiResult> => {
    identities.delete(findIdentity(params[0]!).name);
    await saveIdentities();
    return { body: {} };
  };

  const putMailFrom = async ({ params, body }: ApiRequest): Promise<ApiResult> => {
    const identity = findIdentity(params[0]!);
    const input = parseBody(mailFromBody, body);
    const domain = input.MailFromDomain?.trim().toLowerCase();
    if (domain) {
      if (!isDomainName(domain) || !domain.endsWith(`.${domainOf(identity)}`)) {
        throw new SesError('BadRequestException', `Invalid MAIL FROM domain ${domain}: it must be a subdomain of ${domainOf(identity)}.`);
      }
      identity.mailFrom = { domain, status: 'PENDING' };
    } else {
      delete identity.mailFrom;
    }
    identity.behaviorOnMxFailure = input.BehaviorOnMxFailure ?? 'USE_DEFAULT_VALUE';
    await saveIdentities();
    return { body: {} };
  };

  const putFeedback = async ({ params, body }: ApiRequest): Promise<ApiResult> => {
    const identity = findIdentity(params[0]!);
    identity.feedbackForwarding = parseBody(feedbackBody, body).EmailForwardingEnabled ?? false;
    await saveIdentities();
    return { body: {} };
  };

  const putConfigurationSet = async ({ params, body }: ApiRequest): Promise<ApiResult> => {
    const identity = findIdentity(params[0]!);
    const name = parseBody(configurationSetBody, body).ConfigurationSetName;
    if (name) identity.configurationSetName = name;
    else delete identity.configurationSetName;
    await saveIdentities();
    return { body: {} };
  };

  const listEmailIdentities = ({ body, query }: ApiRequest): ApiResult => {
    const input =
      body === undefined
        ? parseBody(listBody, { NextToken: query.get('NextToken') ?? undefined, PageSize: query.has('PageSize') ? Number(query.get('PageSize')) : undefined })
        : parseBody(listBody, body);
    const filter = input.Filter ?? {};
    const matching = [...identities.values()]
      .filter((i) => !filter.IDENTITY_NAME_CONTAINS || i.name.includes(filter.IDENTITY_NAME_CONTAINS.toLowerCase()))
      .filter((i) => !filter.IDENTITY_TYPE || i.type === filter.IDENTITY_TYPE)
      .filter((i) => !filter.VERIFICATION_STATUS || i.status === filter.VERIFICATION_STATUS)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    let start = 0;
    if (input.NextToken) {
      const after = Buffer.from(input.NextToken, 'base64url').toString('utf8');
      start = matching.findIndex((i) => i.name > after);
      if (start === -1) start = matching.length;
    }
    const size = input.PageSize || 100;
    const page = matching.slice(start, start + size);
    const more = start + size < matching.length;
    return {
      body: {
        EmailIdentities: page.map((i) => ({ IdentityType: i.type, IdentityName: i.name, SendingEnabled: true, VerificationStatus: i.status })),
        NextToken: more ? Buffer.from(page[page.length - 1]!.name).toString('base64url') : undefined,
      },
    };
  };

  const getAccount = (): ApiResult => {
    const since = Date.now() - 24 * 3600 * 1000;
    const sentLast24Hours = mailbox.filter((e) => Date.parse(e.timestamp) >= since).length;
    const account = options.account ?? {};
    return {
      body: {
        DedicatedIpAutoWarmupEnabled: false,
        EnforcementStatus: account.EnforcementStatus ?? 'HEALTHY',
        ProductionAccessEnabled: account.ProductionAccessEnabled ?? true,
        SendQuota: { Max24HourSend: 50000, MaxSendRate: 14, SentLast24Hours: sentLast24Hours, ...account.SendQuota },
        SendingEnabled: account.SendingEnabled ?? true,
        SuppressionAttributes: account.SuppressionAttributes ?? { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
      },
    };
  };

  const configurationSets = new Map((options.configurationSets ?? []).map((set) => [set.name, set]));
  const findConfigurationSet = (name: string): LocalConfigurationSet => {
    const set = configurationSets.get(name);
    if (!set) throw new SesError('NotFoundException', `Configuration set ${name} does not exist.`);
    return set;
  };

  const getConfigurationSet = ({ params }: ApiRequest): ApiResult => {
    const set = findConfigurationSet(params[0]!);
    return {
      body: {
        ConfigurationSetName: set.name,
        DeliveryOptions: { TlsPolicy: set.tlsPolicy ?? 'OPTIONAL' },
        ReputationOptions: { ReputationMetricsEnabled: true },
        SendingOptions: { SendingEnabled: set.sendingEnabled ?? true },
        ...(set.suppressedReasons ? { SuppressionOptions: { SuppressedReasons: set.suppressedReasons, ...(set.suppressionScope ? { SuppressionScope: set.suppressionScope } : {}) } } : {}),
        Tags: [],
      },
    };
  };

  const getEventDestinations = ({ params }: ApiRequest): ApiResult => ({
    body: {
      EventDestinations: findConfigurationSet(params[0]!).eventDestinations.map((d) => ({
        Name: d.name,
        Enabled: d.enabled,
        MatchingEventTypes: d.matchingEventTypes,
        SnsDestination: { TopicArn: d.snsTopicArn },
      })),
    },
  });

  const routes: Route[] = [
    { method: 'POST', pattern: /^\/v2\/email\/outbound-emails$/, operation: 'SendEmail', handle: sendEmail },
    { method: 'POST', pattern: /^\/v2\/email\/identities$/, operation: 'CreateEmailIdentity', handle: createEmailIdentity },
    { method: 'GET', pattern: /^\/v2\/email\/identities$/, operation: 'ListEmailIdentities', handle: listEmailIdentities },
    { method: 'POST', pattern: /^\/v2\/email\/list-identities$/, operation: 'ListEmailIdentities', handle: listEmailIdentities },
    { method: 'GET', pattern: new RegExp(`^${IDENTITY}$`), operation: 'GetEmailIdentity', handle: getEmailIdentity },
    { method: 'DELETE', pattern: new RegExp(`^${IDENTITY}$`), operation: 'DeleteEmailIdentity', handle: deleteEmailIdentity },
    { method: 'PUT', pattern: new RegExp(`^${IDENTITY}/mail-from$`), operation: 'PutEmailIdentityMailFromAttributes', handle: putMailFrom },
    { method: 'PUT', pattern: new RegExp(`^${IDENTITY}/feedback$`), operation: 'PutEmailIdentityFeedbackAttributes', handle: putFeedback },
    { method: 'PUT', pattern: new RegExp(`^${IDENTITY}/configuration-set$`), operation: 'PutEmailIdentityConfigurationSetAttributes', handle: putConfigurationSet },
    { method: 'GET', pattern: /^\/v2\/email\/account$/, operation: 'GetAccount', handle: getAccount },
    { method: 'GET', pattern: new RegExp(`^${CONFIGURATION_SET}$`), operation: 'GetConfigurationSet', handle: getConfigurationSet },
    { method: 'GET', pattern: new RegExp(`^${CONFIGURATION_SET}/event-destinations$`), operation: 'GetConfigurationSetEventDestinations', handle: getEventDestinations },
    ...tenants.routes,
  ];

  const takeFailure = (operation: SesOperation): SesError | undefined => {
    const queue = failures.get(operation);
    const next = queue?.[0];
    if (!next) return undefined;
    if (--next.remaining <= 0) queue.shift();
    if (next.errorType === 'AccessDeniedException') {
      // What IAM answers a role without the permission: the action and the resource, in its words.
      const message = `User: arn:aws:sts::000000000000:assumed-role/sesame-local/local is not authorized to perform: ses:${operation} on resource: arn:aws:ses:${region}:000000000000:identity/* because no identity-based policy allows the ses:${operation} action`;
      return new SesError(next.errorType, message, 403);
    }
    return new SesError(next.errorType);
  };

  const handleApi = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const match = routes
      .map((route) => ({ route, m: route.method === req.method ? route.pattern.exec(url.pathname) : null }))
      .find((r) => r.m !== null);
    if (!match) {
      throw new SesError('UnknownOperationException', `The local SES server does not implement ${req.method} ${url.pathname}.`, 404);
    }
    const injected = takeFailure(match.route.operation);
    if (injected) throw injected;
    const raw = await readBody(req);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new SesError('BadRequestException', 'The request body is not valid JSON.');
      }
    }
    const params = match.m!.slice(1).map((p) => decodeURIComponent(p));
    const result = await match.route.handle({ params, query: url.searchParams, body });
    sendJson(res, 200, result.body);
    if (result.afterResponse) res.once('finish', result.afterResponse);
  };

  const handleMailbox = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    if (req.method === 'GET' && url.pathname === '/') {
      send(res, 200, MAILBOX_HEADERS, renderMailbox(mailbox));
      return true;
    }
    if (url.pathname === '/store') {
      if (req.method === 'GET') {
        const since = Number(url.searchParams.get('since') ?? 0) * 1000;
        sendJson(res, 200, { emails: mailbox.filter((e) => Date.parse(e.timestamp) >= since).map(storedEmailToJson) });
        return true;
      }
      if (req.method === 'DELETE') {
        mailbox = [];
        if (mailboxDir) await track(rm(mailboxDir, { recursive: true, force: true }));
        sendJson(res, 200, {});
        return true;
      }
    }
    const message = /^\/messages\/([^/]+)(?:\/attachments\/(\d+))?$/.exec(url.pathname);
    if (req.method === 'GET' && message) {
      const email = mailbox.find((e) => e.messageId === decodeURIComponent(message[1]!));
      const attachment = message[2] === undefined ? undefined : email?.request.Content?.Simple?.Attachments?.[Number(message[2])];
      if (!email || (message[2] !== undefined && !attachment)) {
        send(res, 404, MAILBOX_HEADERS, '<!doctype html><title>Not found</title><p>No such message. <a href="/">Mailbox</a></p>');
      } else if (attachment) {
        // Served as bytes to download, never rendered from this origin.
        send(
          res,
          200,
          {
            'content-type': 'application/octet-stream',
            'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(attachment.FileName ?? 'attachment')}`,
            'x-content-type-options': 'nosniff',
          },
          Buffer.from(attachment.RawContent ?? new Uint8Array()),
        );
      } else {
        send(res, 200, MAILBOX_HEADERS, renderMessage(email));
      }
      return true;
    }
    return false;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const handle = async () => {
      if (!allowedHost(req.headers.host)) throw new SesError('AccessDeniedException', 'Host not allowed: the local SES server answers 127.0.0.1 and localhost only.', 403);
      if (url.pathname.startsWith('/v2/')) return handleApi(req, res, url);
      if (!(await handleMailbox(req, res, url))) {
        throw new SesError('UnknownOperationException', `The local SES server does not implement ${req.method} ${url.pathname}.`, 404);
      }
    };
    handle().catch((error: unknown) => {
      const sesError =
        error instanceof SesError ? error : new SesError('InternalServiceErrorException', 'The local SES server failed to process the request.', 500);
      if (!(error instanceof SesError)) reportError(error);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Drain what the client still sends, so that it reads the error rather than a reset.
      req.resume();
      sendJson(res, sesError.status, { message: sesError.message }, { 'x-amzn-errortype': sesError.errorType });
    });
  });

  const port = await listenOnLoopback(server, options.port);
  let closing: Promise<void> | undefined;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      (closing ??= (async () => {
        await closeServer(server);
        await Promise.allSettled([...pendingWrites]);
        await identitiesWriter?.idle();
        await tenants.idle();
      })()),
    onSend: (listener) => {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    sent: () => [...mailbox],
    seedIdentity: async (name, seed) => {
      const now = Date.now();
      const identity = identities.get(name.toLowerCase()) ?? newIdentity(name, now);
      identity.dnsPublished = seed.dnsPublished ?? true;
      if (seed.verified) {
        identity.status = 'SUCCESS';
        if (identity.mailFrom) identity.mailFrom.status = 'SUCCESS';
        identity.lastCheckedAt = identity.lastSuccessAt = now;
      }
      identities.set(identity.name, identity);
      await saveIdentities();
    },
    pauseTenant: (name, cause) => tenants.pause(name, cause),
    resumeTenant: (name) => tenants.resume(name),
    failNext: (operation, errorType, count = 1) => {
      if (!SES_OPERATIONS.includes(operation)) throw new Error(`failNext: unknown operation ${operation}`);
      if (!Number.isInteger(count) || count < 1) throw new Error('failNext: count must be a positive integer');
      failures.set(operation, [...(failures.get(operation) ?? []), { errorType, remaining: count }]);
    },
  };
}

function parseSendEmailBody(body: unknown): SendEmailRequest {
  try {
    return parseSendEmail(body ?? {});
  } catch (error) {
    if (error instanceof z.ZodError) {
      const issue = error.issues[0]!;
      throw new SesError('BadRequestException', `1 validation error detected: Value at '${issue.path.join('.')}' failed to satisfy constraint: ${issue.message}`);
    }
    throw error;
  }
}

async function loadMailbox(dir: string): Promise<StoredEmail[]> {
  await mkdir(dir, { recursive: true });
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  const emails = await Promise.all(files.map(async (f) => storedEmailFromJson(await readJson(path.join(dir, f)))));
  return emails.sort((a, b) => (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0));
}

function allowedHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = host.replace(/:\d+$/, '').toLowerCase();
  return name === '127.0.0.1' || name === 'localhost' || name.endsWith('.localhost');
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new SesError('MessageRejected', 'The request is larger than the local SES server accepts (64 MB).', 413));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(res, status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers }, JSON.stringify(body));
}
