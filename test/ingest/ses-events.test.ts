import { SES_TOPIC_VALIDATION_MESSAGE, parseSesMessage, recipientMapper, type SesEvent } from '../../lambdas/core/domain/ses-events';
import { FIXTURE_MESSAGE_ID, SES_FIXTURE_NAMES, sesFixture, withMail } from './fixtures';

const EMAIL_ID = '0b7c4a9e-5a1f-4c1e-9d3e-2f6b8c0a1d2e';

function eventOf(json: unknown): SesEvent {
  const parsed = parseSesMessage(JSON.stringify(json) + '\n');
  if (parsed.kind !== 'event') throw new Error(`expected an event, got ${JSON.stringify(parsed)}`);
  return parsed.event;
}

/** What each fixture means (README "Email status and SES events"). */
const EXPECTED: Record<string, { status: string; type: string; scope: 'recipients' | 'message'; recipients: string[] }> = {
  'bounce-permanent-general': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-permanent-multiple-recipients': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com', 'second@example.com'] },
  'bounce-permanent-noemail': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-permanent-suppressed': { status: 'suppressed', type: 'email.suppressed', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-transient-attachmentrejected': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-transient-contentrejected': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-transient-general': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-transient-mailboxfull': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-transient-messagetoolarge': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  'bounce-undetermined': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['recipient@example.com'] },
  click: { status: 'clicked', type: 'email.clicked', scope: 'message', recipients: ['recipient@example.com'] },
  'complaint-feedback-type-auth-failure': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['recipient@example.com'] },
  'complaint-feedback-type-fraud': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['recipient@example.com'] },
  'complaint-feedback-type-not-spam': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['recipient@example.com'] },
  'complaint-feedback-type-other': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['recipient@example.com'] },
  'complaint-feedback-type-virus': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['recipient@example.com'] },
  'complaint-onaccountsuppressionlist': { status: 'suppressed', type: 'email.suppressed', scope: 'recipients', recipients: ['recipient@example.com'] },
  'complaint-with-feedback-report': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['recipient@example.com'] },
  'complaint-without-feedback-report': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['recipient@example.com'] },
  ...Object.fromEntries(
    ['byoip-host-name-lookup-unavailable', 'general', 'internal-failure', 'ip-failure', 'mailbox-full', 'recipient-server-error',
      'sending-deferral', 'spam-detected', 'transient-communication-failure', 'undetermined'].map((t) => [
      `delivery-delay-${t}`, { status: 'delivery_delayed', type: 'email.delivery_delayed', scope: 'recipients' as const, recipients: ['recipient@example.com'] },
    ]),
  ),
  delivery: { status: 'delivered', type: 'email.delivered', scope: 'recipients', recipients: ['recipient@example.com'] },
  open: { status: 'opened', type: 'email.opened', scope: 'message', recipients: ['recipient@example.com'] },
  reject: { status: 'failed', type: 'email.failed', scope: 'message', recipients: ['sender@example.com'] },
  'rendering-failure': { status: 'failed', type: 'email.failed', scope: 'message', recipients: ['recipient@example.com'] },
  send: { status: 'sent', type: 'email.sent', scope: 'message', recipients: ['recipient@example.com'] },
  'identity-notifications/bounce-with-dsn': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['jane@example.com'] },
  'identity-notifications/bounce-without-dsn': { status: 'bounced', type: 'email.bounced', scope: 'recipients', recipients: ['jane@example.com', 'richard@example.com'] },
  'identity-notifications/complaint-with-feedback-report': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['richard@example.com'] },
  'identity-notifications/complaint-without-feedback-report': { status: 'complained', type: 'email.complained', scope: 'recipients', recipients: ['richard@example.com'] },
  'identity-notifications/delivery': { status: 'delivered', type: 'email.delivered', scope: 'recipients', recipients: ['jane@example.com'] },
};

describe('parseSesMessage', () => {
  it('covers every fixture', () => {
    // Prepare / Act / Assess: the table above names every fixture but subscription (logged only).
    expect(SES_FIXTURE_NAMES.filter((n) => n !== 'subscription').sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('maps %s to its status, type and recipients', (name, expected) => {
    const event = eventOf(sesFixture(name));
    expect({ status: event.status, type: event.type, scope: event.scope, recipients: event.recipients }).toEqual(expected);
    expect(event.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(event.timestamp).toHaveLength(24);
  });

  it('keeps the bounce type and subtype, with a message and the diagnostic codes, in Resend\'s names', () => {
    const event = eventOf(sesFixture('bounce-permanent-general'));
    expect(event.details).toEqual({
      bounce: { type: 'Permanent', subType: 'General', message: expect.any(String), diagnosticCode: ['smtp; 550 5.1.1 user unknown'] },
    });
    expect(eventOf(sesFixture('bounce-undetermined')).details).toEqual({
      bounce: { type: 'Undetermined', subType: 'Undetermined', message: expect.any(String), diagnosticCode: [] },
    });
  });

  it('reports a suppressed bounce as suppressed, keeping the bounce', () => {
    const event = eventOf(sesFixture('bounce-permanent-suppressed'));
    expect(event.details).toMatchObject({
      suppressed: { type: 'Suppressed', reason: 'previous_bounce', diagnosticCode: [expect.stringContaining('suppressed')] },
      bounce: { type: 'Permanent', subType: 'Suppressed' },
    });
    const derived = structuredClone(sesFixture('bounce-permanent-suppressed'));
    derived.bounce.bounceSubType = 'OnAccountSuppressionList';
    const onList = eventOf(derived);
    expect([onList.status, onList.type]).toEqual(['suppressed', 'email.suppressed']);
    expect(onList.details).toMatchObject({ suppressed: { type: 'OnAccountSuppressionList' } });
  });

  it('reports a complaint on the account suppression list as suppressed (previous complaint)', () => {
    const event = eventOf(sesFixture('complaint-onaccountsuppressionlist'));
    expect(event.details).toMatchObject({ suppressed: { type: 'OnAccountSuppressionList', reason: 'previous_complaint' }, complaint: { subType: 'OnAccountSuppressionList' } });
    expect(eventOf(sesFixture('complaint-feedback-type-fraud')).details).toEqual({
      complaint: { type: 'fraud', userAgent: expect.any(String), arrivalDate: '2017-08-05T00:41:02.669Z', timestamp: '2017-08-05T00:41:02.669Z' },
    });
  });

  it("reports a bounce or complaint on the SES tenant's suppression list as suppressed", () => {
    const bounce = structuredClone(sesFixture('bounce-permanent-suppressed'));
    bounce.bounce.bounceSubType = 'OnTenantSuppressionList';
    const bounced = eventOf(bounce);
    expect([bounced.status, bounced.type]).toEqual(['suppressed', 'email.suppressed']);
    expect(bounced.details).toMatchObject({
      suppressed: { type: 'OnTenantSuppressionList', reason: 'previous_bounce', message: expect.stringContaining("tenant's suppression list") },
      bounce: { type: 'Permanent', subType: 'OnTenantSuppressionList' },
    });
    const complaint = structuredClone(sesFixture('complaint-onaccountsuppressionlist'));
    complaint.complaint.complaintSubType = 'OnTenantSuppressionList';
    const complained = eventOf(complaint);
    expect([complained.status, complained.type]).toEqual(['suppressed', 'email.suppressed']);
    expect(complained.details).toMatchObject({ suppressed: { type: 'OnTenantSuppressionList', reason: 'previous_complaint' } });
  });

  it('gives clicks, opens, delays and failures their details', () => {
    expect(eventOf(sesFixture('click')).details).toEqual({
      click: { ipAddress: '192.0.2.1', link: 'http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html', timestamp: '2017-08-09T23:51:25.570Z', userAgent: expect.stringContaining('Chrome') },
    });
    expect(eventOf(sesFixture('open')).details).toEqual({ open: { ipAddress: '192.0.2.1', timestamp: '2017-08-09T22:00:19.652Z', userAgent: expect.stringContaining('iPhone') } });
    expect(eventOf(sesFixture('delivery-delay-mailbox-full')).details).toMatchObject({
      delay: { type: 'MailboxFull', message: 'smtp; 452 4.2.2 Mailbox full', diagnosticCode: ['smtp; 452 4.2.2 Mailbox full'], expirationTime: '2020-06-16T00:25:40.914Z' },
    });
    expect(eventOf(sesFixture('reject')).details).toEqual({ failed: { reason: 'Bad content' } });
    expect(eventOf(sesFixture('rendering-failure')).details).toEqual({
      failed: { reason: "Attribute 'attributeName' is not present in the rendering data.", templateName: 'MyTemplate' },
    });
  });

  it('times each event by its own timestamp; Send, Reject and Rendering Failure by the mail\'s', () => {
    expect(eventOf(sesFixture('delivery')).timestamp).toBe('2016-10-19T23:21:04.133Z');
    expect(eventOf(sesFixture('send')).timestamp).toBe('2016-10-14T05:02:16.645Z');
    expect(eventOf(sesFixture('rendering-failure')).timestamp).toBe('2018-01-22T18:43:06.197Z');
  });

  it('derives ids from content: same event same id, whatever the path; different events differ', () => {
    const bounce = sesFixture('bounce-permanent-general');
    // The same bounce as an identity notification: no eventType, no tags, same feedbackId.
    const asNotification = { ...structuredClone(bounce), notificationType: 'Bounce' } as Record<string, unknown>;
    delete asNotification.eventType;
    expect(eventOf(asNotification).id).toBe(eventOf(bounce).id);
    // The id does not depend on tags or on recipients' case.
    expect(eventOf(withMail(bounce, { emailId: EMAIL_ID })).id).toBe(eventOf(bounce).id);
    const delivery = sesFixture('delivery');
    const upper = structuredClone(delivery);
    upper.delivery.recipients = ['RECIPIENT@example.com'];
    expect(eventOf(upper).id).toBe(eventOf(delivery).id);

    const other = structuredClone(bounce);
    other.bounce.feedbackId = 'another-feedback-id';
    const later = structuredClone(delivery);
    later.delivery.timestamp = '2016-10-19T23:21:05.000Z';
    const click2 = structuredClone(sesFixture('click'));
    click2.click.link = 'https://example.com/other';
    const ids = [bounce, other, delivery, later, sesFixture('click'), click2, withMail(delivery, { messageId: 'another-message' })].map((j) => eventOf(j).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reads Sesame\'s correlation tags, when valid', () => {
    const tagged = eventOf(withMail(sesFixture('delivery'), { emailId: EMAIL_ID, tenantId: 'tenant-1' }));
    expect(tagged.correlation).toEqual({ emailId: EMAIL_ID, tenantId: 'tenant-1' });
    expect(tagged.sesMessageId).toBe(FIXTURE_MESSAGE_ID);
    expect(eventOf(withMail(sesFixture('delivery'), { emailId: 'not-an-id' })).correlation).toEqual({});
    expect(eventOf(sesFixture('identity-notifications/delivery')).correlation).toEqual({});
  });

  it('accepts the topic validation message and Subscription events, with nothing to apply', () => {
    expect(parseSesMessage(SES_TOPIC_VALIDATION_MESSAGE)).toEqual({ kind: 'ignored', reason: 'topic_validation' });
    expect(parseSesMessage(JSON.stringify(sesFixture('subscription')))).toMatchObject({ kind: 'ignored', reason: 'subscription' });
    expect(parseSesMessage(JSON.stringify({ notificationType: 'AmazonSnsSubscriptionSucceeded', message: 'ok' }))).toMatchObject({ kind: 'ignored' });
  });

  it('calls anything else malformed, without throwing', () => {
    const noFeedback = structuredClone(sesFixture('bounce-permanent-general'));
    delete noFeedback.bounce.feedbackId;
    const badTime = structuredClone(sesFixture('delivery'));
    badTime.delivery.timestamp = 'yesterday';
    for (const message of ['Hello from SNS!', '[]', '{"eventType":"Teleport","mail":{}}', '{"eventType":"Send"}', JSON.stringify(noFeedback), JSON.stringify(badTime)]) {
      expect(parseSesMessage(message)).toMatchObject({ kind: 'malformed', reason: expect.any(String) });
    }
  });
});

describe('recipientMapper', () => {
  it('names the customer\'s addresses for the simulator addresses SES reports', () => {
    const map = recipientMapper(['Del <delivered@resend.dev>', 'bounced+x@resend.dev', 'Jane@Example.com', 'success@simulator.amazonses.com']);
    expect(map('success@simulator.amazonses.com')).toBe('success@simulator.amazonses.com');
    expect(map('bounce+x@simulator.amazonses.com')).toBe('bounced+x@resend.dev');
    expect(map('jane@example.com')).toBe('Jane@Example.com');
    expect(map('someone@else.com')).toBe('someone@else.com');
    expect(recipientMapper(['delivered@resend.dev'])('SUCCESS@simulator.amazonses.com')).toBe('delivered@resend.dev');
  });
});
