/**
 * SES v2 domain identities: create one with Easy DKIM, give it a custom MAIL FROM domain, read its
 * verification state, delete it. SES's errors become Resend's here (identityError).
 *
 * Identity settings, and why:
 * - Easy DKIM with 2048-bit keys (DkimSigningAttributes.NextSigningKeyLength RSA_2048_BIT): SES
 *   makes the keys and signs; the customer publishes three CNAMEs.
 * - Custom MAIL FROM `<custom_return_path>.<domain>` with BehaviorOnMxFailure USE_DEFAULT_VALUE:
 *   when SES cannot find the MX record it keeps sending with its default MAIL FROM
 *   (amazonses.com) instead of refusing every email (REJECT_MESSAGE), so a domain whose DKIM is
 *   verified sends while the MAIL FROM records propagate or if they are removed later; DMARC
 *   still passes through DKIM alignment.
 * - Email feedback forwarding off (PutEmailIdentityFeedbackAttributes EmailForwardingEnabled
 *   false): bounces and complaints reach Sesame as events through the configuration set, and
 *   from there the customer's webhooks; SES would otherwise also mail them to the sender's
 *   Return-Path, which is a Sesame-managed subdomain nobody reads.
 * - No default configuration set on the identity: every send names its own (by tracking choice),
 *   and mail sent outside Sesame carries no Sesame tags, so its events would match no email.
 * - Tagged with the tenant (TAG_TENANT_KEY), so that a create retried after a crash can recognise
 *   the identity it made itself, and with the stack's name (TAG_STACK_KEY): the domains function's
 *   role may change or delete only identities whose sesame_stack tag names its own stack, never one
 *   an operator made by hand nor one of another Sesame stack in the same account (lib/sesame-function.ts).
 */
import {
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  PutEmailIdentityFeedbackAttributesCommand,
  PutEmailIdentityMailFromAttributesCommand,
  type DkimAttributes,
  type MailFromAttributes,
  type SESv2Client,
  type Tag,
} from '@aws-sdk/client-sesv2';
import { HttpError, serviceUnavailable } from '../errors';
import type { IdentitySnapshot } from '../domain/dns';
import { TAG_STACK_KEY, TAG_TENANT_KEY } from '../domain/identity-tags';

export { TAG_STACK_KEY, TAG_TENANT_KEY };

export interface IdentityService {
  /** CreateEmailIdentity with Easy DKIM (2048-bit). Undefined when SES already has the identity. */
  create(domain: string, tenantId: string): Promise<IdentitySnapshot | undefined>;
  /** Sets the custom MAIL FROM domain (USE_DEFAULT_VALUE on MX failure) and turns feedback forwarding off. */
  configure(domain: string, mailFromDomain: string): Promise<void>;
  /** GetEmailIdentity. Undefined when SES has no such identity. */
  get(domain: string): Promise<IdentitySnapshot | undefined>;
  /** DeleteEmailIdentity. False when SES had no such identity. */
  delete(domain: string): Promise<boolean>;
}

const errorName = (error: unknown): string | undefined => (error as { name?: string } | undefined)?.name;

function snapshot(
  verifiedForSending: boolean | undefined,
  dkim: DkimAttributes | undefined,
  mailFrom: MailFromAttributes | undefined,
  tags: readonly Tag[] | undefined,
): IdentitySnapshot {
  return {
    verifiedForSending: verifiedForSending === true,
    dkim: {
      ...(dkim?.Status ? { status: dkim.Status } : {}),
      tokens: dkim?.Tokens ?? [],
      ...(dkim?.SigningHostedZone ? { signingHostedZone: dkim.SigningHostedZone } : {}),
    },
    mailFrom: {
      ...(mailFrom?.MailFromDomain ? { domain: mailFrom.MailFromDomain } : {}),
      ...(mailFrom?.MailFromDomainStatus ? { status: mailFrom.MailFromDomainStatus } : {}),
      ...(mailFrom?.BehaviorOnMxFailure ? { behaviorOnMxFailure: mailFrom.BehaviorOnMxFailure } : {}),
    },
    tags: Object.fromEntries((tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? ''])),
  };
}

export class SesIdentities implements IdentityService {
  /**
   * `stackName`: the value of the sesame_stack tag of every identity it creates (SESAME_STACK_NAME);
   * only `create` needs it (the admin tool's doctor only reads identities).
   */
  constructor(private readonly client: SESv2Client, private readonly stackName?: string) {}

  async create(domain: string, tenantId: string): Promise<IdentitySnapshot | undefined> {
    if (!this.stackName) throw new Error('SesIdentities.create needs the stack name (SESAME_STACK_NAME)');
    const tags = [{ Key: TAG_TENANT_KEY, Value: tenantId }, { Key: TAG_STACK_KEY, Value: this.stackName }];
    try {
      const res = await this.client.send(new CreateEmailIdentityCommand({
        EmailIdentity: domain,
        DkimSigningAttributes: { NextSigningKeyLength: 'RSA_2048_BIT' },
        Tags: tags,
      }));
      return snapshot(res.VerifiedForSendingStatus, res.DkimAttributes, undefined, tags);
    } catch (error) {
      if (errorName(error) === 'AlreadyExistsException') return undefined;
      throw identityError(error);
    }
  }

  async configure(domain: string, mailFromDomain: string): Promise<void> {
    // One after the other: SES answers ConcurrentModificationException to concurrent changes of one identity.
    try {
      await this.client.send(new PutEmailIdentityMailFromAttributesCommand({
        EmailIdentity: domain,
        MailFromDomain: mailFromDomain,
        BehaviorOnMxFailure: 'USE_DEFAULT_VALUE',
      }));
      await this.client.send(new PutEmailIdentityFeedbackAttributesCommand({ EmailIdentity: domain, EmailForwardingEnabled: false }));
    } catch (error) {
      throw identityError(error);
    }
  }

  async get(domain: string): Promise<IdentitySnapshot | undefined> {
    try {
      const res = await this.client.send(new GetEmailIdentityCommand({ EmailIdentity: domain }));
      return snapshot(res.VerifiedForSendingStatus, res.DkimAttributes, res.MailFromAttributes, res.Tags);
    } catch (error) {
      if (errorName(error) === 'NotFoundException') return undefined;
      throw identityError(error);
    }
  }

  async delete(domain: string): Promise<boolean> {
    try {
      await this.client.send(new DeleteEmailIdentityCommand({ EmailIdentity: domain }));
      return true;
    } catch (error) {
      if (errorName(error) === 'NotFoundException') return false;
      throw identityError(error);
    }
  }
}

/**
 * SES's identity errors in Resend's names. Client errors say what to do; SES's own message is
 * kept only for BadRequestException (it names the invalid input). Anything else stays an
 * internal error, which the API answers with a generic 500.
 */
export function identityError(error: unknown): Error {
  if (error instanceof HttpError) return error;
  const e = error as { name?: string; message?: unknown } | undefined;
  switch (e?.name) {
    case 'AlreadyExistsException':
      return new HttpError(403, 'validation_error', 'This domain has been registered already.');
    case 'NotFoundException':
      return new HttpError(404, 'not_found', 'The SES identity of this domain does not exist.');
    case 'TooManyRequestsException':
    case 'ThrottlingException':
    case 'Throttling':
      return new HttpError(429, 'rate_limit_exceeded', 'SES is throttling requests. Please retry later.', { 'retry-after': '1' });
    case 'LimitExceededException':
      return new HttpError(429, 'rate_limit_exceeded', 'The SES limit on email identities for this AWS account and region is reached.');
    case 'BadRequestException':
      return new HttpError(422, 'validation_error', `SES refused the request: ${typeof e.message === 'string' ? e.message.slice(0, 300) : 'invalid input'}`);
    case 'ConcurrentModificationException':
    case 'ConflictException':
      return serviceUnavailable();
    default:
      return error instanceof Error ? error : new Error(String(error));
  }
}
