/**
 * Sending through SES v2 SendEmail with Simple content (which carries headers and attachments
 * itself), and the mapping of SES's errors to Resend's.
 */
import { SendEmailCommand, type SendEmailCommandInput, type SESv2Client } from '@aws-sdk/client-sesv2';
import { HttpError } from '../errors';
import { type EmailDraft, TAG_EMAIL_ID, TAG_TENANT_ID, attachmentDisposition, formatEmailTag, formatMailbox, headerRebuild, toSesMailbox } from '../domain/email';

export { sendingClient } from './ses-client';

export interface OutgoingEmail {
  readonly emailId: string;
  readonly tenantId: string;
  /** The SES tenant the email is sent through (see sesTenantName). */
  readonly tenantName: string;
  readonly draft: EmailDraft;
  readonly configurationSet: string;
  /** When the email was created (ms): carried in Sesame's tag, so events need not read the email. */
  readonly createdMs: number;
}

/**
 * SES answered, or failed in a way that does not prove it refused the email (a timeout, a dropped
 * connection, a 5xx): SES may have accepted it. The email stays `sending`; never retried here.
 */
export class SendUnconfirmedError extends Error {
  constructor(cause: unknown) {
    super('SES did not confirm the send', { cause });
    this.name = 'SendUnconfirmedError';
  }
}

export interface EmailSender {
  /**
   * Returns SES's MessageId. Throws HttpError when, and only when, SES refused the email (a 4xx
   * answer: rejected, throttled, invalid, sending paused): the email is then freed. Anything else
   * (SendUnconfirmedError, a crash) leaves it `sending`.
   */
  send(email: OutgoingEmail): Promise<string>;
}

export function toSendEmailInput({ emailId, tenantId, tenantName, draft, configurationSet, createdMs }: OutgoingEmail): SendEmailCommandInput {
  const rebuild = headerRebuild(draft);
  const utf8 = (Data: string) => ({ Data, Charset: 'UTF-8' });
  return {
    FromEmailAddress: formatMailbox(draft.from),
    Destination: {
      ToAddresses: draft.to.map(toSesMailbox),
      CcAddresses: draft.cc.map(toSesMailbox),
      BccAddresses: draft.bcc.map(toSesMailbox),
    },
    ...(draft.replyTo.length ? { ReplyToAddresses: draft.replyTo.map(formatMailbox) } : {}),
    Content: {
      Simple: {
        Subject: utf8(draft.subject),
        Body: {
          ...(draft.text !== undefined ? { Text: utf8(draft.text) } : {}),
          ...(draft.html !== undefined ? { Html: utf8(draft.html) } : {}),
        },
        ...(Object.keys(draft.headers).length ? { Headers: Object.entries(draft.headers).map(([Name, Value]) => ({ Name, Value })) } : {}),
        ...(draft.attachments.length
          ? {
              Attachments: draft.attachments.map((a) => ({
                FileName: a.filename,
                RawContent: a.content,
                ContentType: a.contentType,
                ContentTransferEncoding: 'BASE64' as const,
                ContentDisposition: attachmentDisposition(a) === 'inline' ? ('INLINE' as const) : ('ATTACHMENT' as const),
                ...(a.contentId ? { ContentId: a.contentId } : {}),
              })),
            }
          : {}),
      },
    },
    EmailTags: [
      ...draft.tags.map((t) => ({ Name: t.name, Value: t.value })),
      { Name: TAG_EMAIL_ID, Value: formatEmailTag({ emailId, ...(rebuild ? { createdMs, testAddresses: rebuild.testAddresses } : {}) }) },
      { Name: TAG_TENANT_ID, Value: tenantId },
    ],
    ConfigurationSetName: configurationSet,
    TenantName: tenantName,
  };
}

export class SesSender implements EmailSender {
  constructor(private readonly client: SESv2Client) {}

  async send(email: OutgoingEmail): Promise<string> {
    let messageId: string | undefined;
    try {
      messageId = (await this.client.send(new SendEmailCommand(toSendEmailInput(email)))).MessageId;
    } catch (error) {
      if (!provesRefusal(error)) throw new SendUnconfirmedError(error);
      const mapped = sesError(error);
      if (mapped instanceof HttpError) throw mapped;
      // A refusal Resend has no name for (a missing configuration set, a denied permission): the
      // operator's to fix; the client gets no internals, the log gets the cause.
      throw Object.assign(new HttpError(502, 'application_error', 'Amazon SES refused the request. Please retry later.'), { cause: error });
    }
    if (!messageId) throw new SendUnconfirmedError(new Error('SES returned no MessageId'));
    return messageId;
  }
}

/**
 * Whether an SES error proves that SES did not accept the email: SES answered with a client error
 * (MessageRejected, throttling, validation, a paused account or tenant, ...). A 5xx, a timeout or a
 * connection lost does not: SES may have accepted the email before the answer was lost.
 */
export function provesRefusal(error: unknown): boolean {
  const e = error as { $fault?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  return e?.$fault === 'client' && typeof status === 'number' && status >= 400 && status < 500;
}

/** Whether SES asked us to slow down: the caller answers 429 and stores nothing. */
export const isThrottle = (error: unknown): boolean => error instanceof HttpError && error.statusCode === 429;

/** SES's errors in Resend's names. Client errors keep SES's message; anything else is generic. */
export function sesError(error: unknown): Error {
  if (error instanceof HttpError) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const message = typeof e?.message === 'string' ? e.message.slice(0, 500) : '';
  switch (e?.name) {
    case 'TooManyRequestsException':
    case 'ThrottlingException':
    case 'Throttling':
      return new HttpError(429, 'rate_limit_exceeded', 'SES is throttling sends. Please retry later.', { 'retry-after': '1' });
    case 'LimitExceededException':
      return /daily/i.test(message)
        ? new HttpError(429, 'daily_quota_exceeded', 'The SES daily sending quota is exhausted.', { 'retry-after': '3600' })
        : new HttpError(429, 'rate_limit_exceeded', 'The SES sending rate is exceeded. Please retry later.', { 'retry-after': '1' });
    case 'MessageRejected':
      // A sender SES no longer has verified (a domain removed or unverified since the send path's
      // domain cache read it) is refused as the sending gate refuses it.
      return /not verified/i.test(message)
        ? new HttpError(403, 'validation_error', `The sending domain is not verified for sending: ${message}`)
        : new HttpError(422, 'validation_error', `SES rejected the email: ${message}`);
    case 'MailFromDomainNotVerifiedException':
      return new HttpError(403, 'validation_error', `The custom MAIL FROM domain is not verified: ${message}`);
    case 'SendingPausedException':
      // SES pauses a tenant under its reputation policy (or its operator does); the others keep sending.
      return /tenant/i.test(message)
        ? new HttpError(403, 'validation_error', `Sending is paused for this account: SES has paused its tenant, under its reputation policy (a bounce or complaint rate too high) or by the operator. SES said: ${message}`)
        : new HttpError(403, 'validation_error', `Sending is paused for this AWS account or configuration set. SES said: ${message}`);
    case 'AccountSuspendedException':
      return new HttpError(403, 'validation_error', 'Sending is paused for this AWS account or configuration set.');
    case 'BadRequestException':
      return new HttpError(422, 'validation_error', `SES refused the request: ${message}`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}
