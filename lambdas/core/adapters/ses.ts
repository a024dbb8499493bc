/**
 * Sending through SES v2 SendEmail with Simple content (which carries headers and attachments
 * itself), and the mapping of SES's errors to Resend's.
 */
import { SendEmailCommand, type SendEmailCommandInput, type SESv2Client } from '@aws-sdk/client-sesv2';
import { HttpError } from '../errors';
import { type EmailDraft, TAG_EMAIL_ID, TAG_TENANT_ID, formatMailbox, toSesMailbox } from '../domain/email';

export interface OutgoingEmail {
  readonly emailId: string;
  readonly tenantId: string;
  readonly draft: EmailDraft;
  readonly configurationSet: string;
}

export interface EmailSender {
  /** Returns SES's MessageId. Throws HttpError for SES's refusals. */
  send(email: OutgoingEmail): Promise<string>;
}

export function toSendEmailInput({ emailId, tenantId, draft, configurationSet }: OutgoingEmail): SendEmailCommandInput {
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
                ContentDisposition: a.contentId ? ('INLINE' as const) : ('ATTACHMENT' as const),
                ...(a.contentId ? { ContentId: a.contentId } : {}),
              })),
            }
          : {}),
      },
    },
    EmailTags: [
      ...draft.tags.map((t) => ({ Name: t.name, Value: t.value })),
      { Name: TAG_EMAIL_ID, Value: emailId },
      { Name: TAG_TENANT_ID, Value: tenantId },
    ],
    ConfigurationSetName: configurationSet,
  };
}

export class SesSender implements EmailSender {
  constructor(private readonly client: SESv2Client) {}

  async send(email: OutgoingEmail): Promise<string> {
    try {
      const res = await this.client.send(new SendEmailCommand(toSendEmailInput(email)));
      if (!res.MessageId) throw new Error('SES returned no MessageId');
      return res.MessageId;
    } catch (error) {
      throw sesError(error);
    }
  }
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
    case 'AccountSuspendedException':
    case 'SendingPausedException':
      return new HttpError(403, 'validation_error', 'Sending is paused for this AWS account or configuration set.');
    case 'BadRequestException':
      return new HttpError(422, 'validation_error', `SES refused the request: ${message}`);
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}
