/**
 * Pure DNS code: the records a customer publishes, SES's states in Resend's words, and the
 * name arithmetic behind the ownership check.
 */
import {
  type IdentitySnapshot,
  dmarcAdvice,
  dnsRecords,
  identityState,
  isDnsLabel,
  isDomainName,
  parentDomains,
  recordStatus,
} from '../../lambdas/core/domain/dns';
import { keys } from '../../lambdas/core/table';
import { fixture } from './support/ses-wire';

interface FixtureRecord {
  name: string;
  type: string;
  value: string;
  priority?: number;
}
const expected = fixture<{ easyDkim: FixtureRecord[]; customMailFrom: FixtureRecord[]; dmarc: FixtureRecord[] }>('dns-records.example.com.json');
const TOKENS = ['hirjd4exampled5477y22yd23ettobi', 'v3rnz522czcl46quexamplek3efo5o6x', 'y4examplexbhyhnsjcmtvzotfvqjmdqoj'];

/** A GetEmailIdentity fixture as the adapter reads it. */
function snapshotOf(file: string): IdentitySnapshot {
  const raw = fixture<{
    VerifiedForSendingStatus: boolean;
    DkimAttributes: { Status?: string; Tokens?: string[] };
    MailFromAttributes?: { MailFromDomain?: string; MailFromDomainStatus?: string; BehaviorOnMxFailure?: string };
  }>(file);
  return {
    verifiedForSending: raw.VerifiedForSendingStatus,
    dkim: { ...(raw.DkimAttributes.Status ? { status: raw.DkimAttributes.Status } : {}), tokens: raw.DkimAttributes.Tokens ?? [] },
    mailFrom: {
      ...(raw.MailFromAttributes?.MailFromDomain ? { domain: raw.MailFromAttributes.MailFromDomain } : {}),
      ...(raw.MailFromAttributes?.MailFromDomainStatus ? { status: raw.MailFromAttributes.MailFromDomainStatus } : {}),
      ...(raw.MailFromAttributes?.BehaviorOnMxFailure ? { behaviorOnMxFailure: raw.MailFromAttributes.BehaviorOnMxFailure } : {}),
    },
    tags: {},
  };
}

describe('dnsRecords', () => {
  it('gives exactly the records of the SES guide for example.com, and its DMARC example as separate advice', () => {
    // Act
    const records = dnsRecords({ domain: 'example.com', customReturnPath: 'mail', region: 'us-east-1', dkimTokens: TOKENS });
    const dmarc = dmarcAdvice('example.com');
    // Assess
    const fromFixture = [...expected.easyDkim, ...expected.customMailFrom];
    expect(records.map(({ name, type, value, priority }) => ({ name, type, value, ...(priority !== undefined ? { priority } : {}) }))).toEqual(fromFixture);
    expect([{ name: dmarc.name, type: dmarc.type, value: dmarc.value }]).toEqual(expected.dmarc);
    expect(dmarc.ttl).toBe('Auto');
  });

  it("labels them as Resend does, with Resend's fields", () => {
    const records = dnsRecords({ domain: 'example.com', customReturnPath: 'send', region: 'eu-west-1', dkimTokens: TOKENS });
    expect(records.map((r) => [r.record, r.type, r.name])).toEqual([
      ['DKIM', 'CNAME', `${TOKENS[0]}._domainkey.example.com`],
      ['DKIM', 'CNAME', `${TOKENS[1]}._domainkey.example.com`],
      ['DKIM', 'CNAME', `${TOKENS[2]}._domainkey.example.com`],
      ['SPF', 'MX', 'send.example.com'],
      ['SPF', 'TXT', 'send.example.com'],
    ]);
    for (const r of records) expect(Object.keys(r).sort()).toEqual(r.type === 'MX' ? ['name', 'priority', 'record', 'status', 'ttl', 'type', 'value'] : ['name', 'record', 'status', 'ttl', 'type', 'value']);
    expect(records.find((r) => r.type === 'MX')!.value).toBe('feedback-smtp.eu-west-1.amazonses.com');
    expect(records.every((r) => r.status === 'not_started' && r.ttl === 'Auto')).toBe(true);
  });

  it("points the DKIM CNAMEs at the identity's signing hosted zone when SES names one", () => {
    const records = dnsRecords({ domain: 'example.com', customReturnPath: 'send', region: 'af-south-1', dkimTokens: ['tok'], signingHostedZone: 'dkim.af-south-1.amazonses.com' });
    expect(records[0]!.value).toBe('tok.dkim.af-south-1.amazonses.com');
  });

  it('gives each record the status of what SES verifies it by', () => {
    const records = dnsRecords({ domain: 'example.com', customReturnPath: 'send', region: 'us-east-1', dkimTokens: TOKENS }, { dkim: 'verified', mailFrom: 'pending' });
    expect(records.map((r) => [r.record, r.type, r.status])).toEqual([
      ['DKIM', 'CNAME', 'verified'], ['DKIM', 'CNAME', 'verified'], ['DKIM', 'CNAME', 'verified'],
      ['SPF', 'MX', 'pending'], ['SPF', 'TXT', 'pending'],
    ]);
  });
});

describe('recordStatus', () => {
  it.each([
    ['PENDING', 'pending'],
    ['SUCCESS', 'verified'],
    ['FAILED', 'failed'],
    ['TEMPORARY_FAILURE', 'temporary_failure'],
    ['NOT_STARTED', 'not_started'],
    [undefined, 'not_started'],
  ])('maps %s to %s', (ses, resend) => {
    expect(recordStatus(ses)).toBe(resend);
  });
});

describe('identityState, for every identity state in the fixtures', () => {
  it.each([
    ['get-email-identity.domain-pending.json', 'mail.example.com', { status: 'pending', dkim: 'pending', mailFrom: 'not_started', verifiedForSending: false }],
    ['get-email-identity.domain-verified-mail-from-success.json', 'mail.example.com', { status: 'verified', dkim: 'verified', mailFrom: 'verified', verifiedForSending: true }],
    ['get-email-identity.domain-failed.json', 'mail.example.com', { status: 'failed', dkim: 'failed', mailFrom: 'failed', verifiedForSending: false }],
    // SES keeps sending through a temporary failure (VerifiedForSendingStatus stays true), so does Sesame.
    ['get-email-identity.domain-temporary-failure.json', 'mail.example.com', { status: 'temporary_failure', dkim: 'temporary_failure', mailFrom: 'not_started', verifiedForSending: true }],
    // REJECT_MESSAGE with a MAIL FROM not yet verified: SES refuses every send, so the gate must too.
    ['get-email-identity.domain-mail-from-pending-reject.json', 'mail.example.com', { status: 'pending', dkim: 'verified', mailFrom: 'pending', verifiedForSending: false }],
    // DKIM verified, no custom MAIL FROM: SES sends with its default MAIL FROM.
    ['get-email-identity.domain-verified.cli-real.json', 'send.example.com', { status: 'partially_verified', dkim: 'verified', mailFrom: 'not_started', verifiedForSending: true }],
    ['get-email-identity.byodkim.json', 'send.example.com', { status: 'partially_verified', dkim: 'verified', mailFrom: 'not_started', verifiedForSending: true }],
  ])('%s', (file, mailFromDomain, state) => {
    expect(identityState(snapshotOf(file), mailFromDomain)).toEqual(state);
  });

  it('a failed MAIL FROM with USE_DEFAULT_VALUE leaves the domain sending, partially verified', () => {
    // Prepare: the verified fixture, its MAIL FROM failed (the MX record was removed)
    const verified = snapshotOf('get-email-identity.domain-verified-mail-from-success.json');
    const identity = { ...verified, mailFrom: { ...verified.mailFrom, status: 'FAILED' } };
    // Act / Assess
    expect(identityState(identity, 'mail.example.com')).toEqual({ status: 'partially_verified', dkim: 'verified', mailFrom: 'failed', verifiedForSending: true });
  });

  it('a MAIL FROM domain other than the one Sesame set does not count as verified', () => {
    const identity = snapshotOf('get-email-identity.domain-verified-mail-from-success.json');
    expect(identityState(identity, 'send.example.com')).toMatchObject({ status: 'partially_verified', mailFrom: 'not_started' });
  });

  it('DKIM verified while SES does not send yet is still pending', () => {
    const verified = snapshotOf('get-email-identity.domain-verified-mail-from-success.json');
    expect(identityState({ ...verified, verifiedForSending: false }, 'mail.example.com')).toMatchObject({ status: 'pending', verifiedForSending: false });
  });
});

describe('names', () => {
  it('accepts lower-case domain names only', () => {
    expect(['example.com', 'mail.example.co.uk', 'xn--bcher-kva.example'].every(isDomainName)).toBe(true);
    expect(['Example.com', 'localhost', 'example', 'https://example.com', 'example.com/x', 'example.com:25', 'example.com.', '-a.com', 'a..com', ''].some(isDomainName)).toBe(false);
  });

  it('accepts one DNS label as a return path', () => {
    expect(['send', 'mail-1', 'a', 'x'.repeat(63)].every(isDnsLabel)).toBe(true);
    expect(['', 'a.b', '-send', 'send-', 'Send', 'x'.repeat(64), 'se nd', 'sénd'].some(isDnsLabel)).toBe(false);
  });

  it('lists the parents that could be registered, nearest first, never a bare TLD', () => {
    expect(parentDomains('a.b.example.com')).toEqual(['b.example.com', 'example.com']);
    expect(parentDomains('example.com')).toEqual([]);
  });

  it('puts a name and all its subdomains in one zone partition, ordered under the name', () => {
    const zone = keys.domainZone('example.com');
    const sub = keys.domainZone('a.b.example.com');
    expect(sub.pk).toBe(zone.pk);
    expect(sub.sk.startsWith(`${zone.sk}.`)).toBe(true);
    expect(keys.domainZone('anexample.com').sk.startsWith(`${zone.sk}.`)).toBe(false);
  });
});
