/**
 * Domains as DNS sees them: the records a customer publishes for an SES identity (Easy DKIM,
 * custom MAIL FROM), the DMARC record Sesame advises, and SES's verification states in Resend's words.
 * Pure code: no AWS imports. The SES adapter (adapters/ses-identities.ts) produces an
 * IdentitySnapshot; everything here works from that.
 */
import { isValidDomain } from './email';

/** Resend's status values, for a domain and for each of its records. */
export type DomainStatus = 'not_started' | 'pending' | 'verified' | 'partially_verified' | 'failed' | 'temporary_failure';

/**
 * Resend's `records[].record` values. Sesame publishes `DKIM` and `SPF` (the MAIL FROM MX and TXT,
 * as Resend labels them); the others are for receiving and custom tracking domains.
 */
export const RECORD_KINDS = ['SPF', 'DKIM', 'Receiving', 'Tracking', 'TrackingCAA'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];
const RECORD_KIND_SET = new Set<string>(RECORD_KINDS);
export const isRecordKind = (value: unknown): value is RecordKind => typeof value === 'string' && RECORD_KIND_SET.has(value);

/**
 * A domain's status as Resend answers it. Resend's domain statuses have no `temporary_failure` (a
 * record's status does): a domain whose DNS lookup failed for a while is `pending`, as it is
 * while SES keeps checking.
 */
export const resendDomainStatus = (status: DomainStatus): Exclude<DomainStatus, 'temporary_failure'> => (status === 'temporary_failure' ? 'pending' : status);

/** A DNS record in Resend's fields. Names are absolute (`<token>._domainkey.example.com`). */
export interface DnsRecord {
  /** What the record is for, in Resend's words. */
  readonly record: RecordKind;
  readonly name: string;
  readonly type: string;
  readonly ttl: string;
  readonly status: DomainStatus;
  readonly value: string;
  readonly priority?: number;
}

/** SES's verification states: DkimAttributes.Status and MailFromAttributes.MailFromDomainStatus. */
export type SesVerificationStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE' | 'NOT_STARTED';

/** What Sesame reads of an SES email identity (CreateEmailIdentity or GetEmailIdentity). */
export interface IdentitySnapshot {
  /** SES's VerifiedForSendingStatus. */
  readonly verifiedForSending: boolean;
  readonly dkim: {
    readonly status?: string;
    readonly tokens: readonly string[];
    /** DkimAttributes.SigningHostedZone: where the DKIM CNAMEs point (`dkim.amazonses.com` in most regions). */
    readonly signingHostedZone?: string;
  };
  readonly mailFrom: {
    /** Absent when the identity has no custom MAIL FROM domain. */
    readonly domain?: string;
    readonly status?: string;
    readonly behaviorOnMxFailure?: string;
  };
  /** The identity's tags, by key. */
  readonly tags: Readonly<Record<string, string>>;
}

/** The MAIL FROM subdomain when a create does not name one (Resend's default). */
export const DEFAULT_RETURN_PATH = 'send';
/** Resend shows `Auto`: the customer's DNS provider picks the TTL. */
export const RECORD_TTL = 'Auto';
export const DEFAULT_DKIM_ZONE = 'dkim.amazonses.com';
export const SPF_VALUE = '"v=spf1 include:amazonses.com ~all"';
/** SES's developer guide example; start with `p=none` while reports come in (docs/domains.md). */
export const dmarcValue = (domain: string): string => `"v=DMARC1;p=quarantine;pct=25;rua=mailto:dmarcreports@${domain}"`;

/**
 * The DMARC record Sesame advises. Not one of the records to verify: SES does not check DMARC,
 * and Resend's `records[].record` has no value for it, so it is its own field of the domain object.
 */
export interface DmarcAdvice {
  readonly name: string;
  readonly type: 'TXT';
  readonly ttl: string;
  readonly value: string;
}

export const dmarcAdvice = (domain: string): DmarcAdvice => ({ name: `_dmarc.${domain}`, type: 'TXT', ttl: RECORD_TTL, value: dmarcValue(domain) });

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** One DNS label (a custom return path such as `send`), already lower-cased. */
export const isDnsLabel = (value: string): boolean => LABEL.test(value);

/** A domain name the API accepts: lower-case, a real name (no scheme, path, port or trailing dot). */
export const isDomainName = (value: string): boolean => value === value.toLowerCase() && isValidDomain(value);

/** Parent domains of `name` that could be registered (two labels or more), nearest first. */
export function parentDomains(name: string): string[] {
  const labels = name.split('.');
  const out: string[] = [];
  for (let i = 1; i <= labels.length - 2; i++) out.push(labels.slice(i).join('.'));
  return out;
}

/** SES's state in Resend's words. An unknown or absent state is `not_started`. */
export function recordStatus(ses: string | undefined): DomainStatus {
  switch (ses) {
    case 'PENDING':
      return 'pending';
    case 'SUCCESS':
      return 'verified';
    case 'FAILED':
      return 'failed';
    case 'TEMPORARY_FAILURE':
      return 'temporary_failure';
    default:
      return 'not_started';
  }
}

export interface IdentityState {
  /** The domain's status. */
  readonly status: DomainStatus;
  readonly dkim: DomainStatus;
  /** The custom MAIL FROM domain's status; `not_started` when SES has none for the identity. */
  readonly mailFrom: DomainStatus;
  /**
   * Whether SES will send from the identity: VerifiedForSendingStatus, except that a MAIL FROM
   * domain that is not verified while BehaviorOnMxFailure is REJECT_MESSAGE makes SES refuse
   * every send (MailFromDomainNotVerifiedException). What the send gate reads.
   */
  readonly verifiedForSending: boolean;
}

/**
 * The domain's status follows DKIM, which is what SES verifies a domain identity by:
 * failed, temporary_failure, pending and not_started as DKIM says. With DKIM verified, the domain
 * is `verified` when SES sends from it and its custom MAIL FROM is verified too, and
 * `partially_verified` when SES sends from it with its default MAIL FROM (the MX is missing or
 * not yet seen: BehaviorOnMxFailure USE_DEFAULT_VALUE). DKIM verified but SES not sending yet
 * is still `pending`. DMARC is advice (dmarcAdvice): SES does not check it, so it does not count.
 */
export function identityState(identity: IdentitySnapshot, mailFromDomain?: string): IdentityState {
  const dkim = recordStatus(identity.dkim.status);
  const ours = mailFromDomain === undefined || identity.mailFrom.domain === mailFromDomain;
  const mailFrom = identity.mailFrom.domain !== undefined && ours ? recordStatus(identity.mailFrom.status) : 'not_started';
  const rejectsWithoutMailFrom =
    identity.mailFrom.behaviorOnMxFailure === 'REJECT_MESSAGE' && identity.mailFrom.domain !== undefined && recordStatus(identity.mailFrom.status) !== 'verified';
  const verifiedForSending = identity.verifiedForSending && !rejectsWithoutMailFrom;
  let status: DomainStatus;
  if (dkim !== 'verified') status = dkim;
  else if (!verifiedForSending) status = 'pending';
  else status = mailFrom === 'verified' ? 'verified' : 'partially_verified';
  return { status, dkim, mailFrom, verifiedForSending };
}

export interface RecordInputs {
  readonly domain: string;
  /** The MAIL FROM subdomain's first label: the MAIL FROM domain is `<customReturnPath>.<domain>`. */
  readonly customReturnPath: string;
  /** The stack's region: the MAIL FROM MX points at its feedback endpoint. */
  readonly region: string;
  readonly dkimTokens: readonly string[];
  readonly signingHostedZone?: string;
}

export const mailFromDomainOf = (domain: string, customReturnPath: string): string => `${customReturnPath}.${domain}`;

/**
 * The records to publish, in the order of the SES guide: the three Easy DKIM CNAMEs, then the MAIL
 * FROM MX and SPF TXT. Statuses come from `state` (all `not_started` without one).
 */
export function dnsRecords(inputs: RecordInputs, state?: Pick<IdentityState, 'dkim' | 'mailFrom'>): DnsRecord[] {
  const dkim = state?.dkim ?? 'not_started';
  const mailFrom = state?.mailFrom ?? 'not_started';
  const zone = inputs.signingHostedZone ?? DEFAULT_DKIM_ZONE;
  const mailFromDomain = mailFromDomainOf(inputs.domain, inputs.customReturnPath);
  return [
    ...inputs.dkimTokens.map((token): DnsRecord => ({
      record: 'DKIM', name: `${token}._domainkey.${inputs.domain}`, type: 'CNAME', ttl: RECORD_TTL, status: dkim, value: `${token}.${zone}`,
    })),
    { record: 'SPF', name: mailFromDomain, type: 'MX', ttl: RECORD_TTL, status: mailFrom, value: `feedback-smtp.${inputs.region}.amazonses.com`, priority: 10 },
    { record: 'SPF', name: mailFromDomain, type: 'TXT', ttl: RECORD_TTL, status: mailFrom, value: SPF_VALUE },
  ];
}

/**
 * Regions where SES receives email (its "email receiving endpoints", `inbound-smtp.<region>.amazonaws.com`),
 * as AWS lists them at the time of writing; AWS adds regions, so its table is the authority. The CDK
 * stack warns when receiving is turned on elsewhere (docs/inbound.md).
 */
export const RECEIVING_REGIONS: readonly string[] = [
  'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'ca-central-1', 'sa-east-1',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1', 'eu-north-1', 'eu-south-1',
  'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3',
  'af-south-1', 'il-central-1',
];

/** SES's inbound SMTP endpoint of a region: the MX of a receiving domain. */
export const inboundSmtpHost = (region: string): string => `inbound-smtp.${region}.amazonaws.com`;

/**
 * Resend's `Receiving` record: the MX at the domain itself, priority 10. SES receives only for
 * identities it verified, so the record shares the domain's verification status (Sesame does not
 * look the MX up in DNS).
 */
export const receivingRecord = (domain: string, region: string, status: DomainStatus): DnsRecord => ({
  record: 'Receiving', name: domain, type: 'MX', ttl: RECORD_TTL, status, value: inboundSmtpHost(region), priority: 10,
});

/** A domain's records to publish: the stored sending records, and the Receiving MX while receiving is on. */
export function recordsOf(d: { readonly name: string; readonly region: string; readonly status: DomainStatus; readonly records: readonly DnsRecord[]; readonly receiving?: boolean }): DnsRecord[] {
  return d.receiving ? [...d.records, receivingRecord(d.name, d.region, d.status)] : [...d.records];
}
