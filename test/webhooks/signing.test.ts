import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { Resend } from 'resend';
import type { AppliedEvent } from '../../lambdas/core/domain/applied-event';
import { buildPayload, jittered, nextDelaySeconds, parseDeliveryMessage, serializePayload } from '../../lambdas/core/domain/webhook-payload';
import {
  isSigningSecret,
  newSigningSecret,
  ROTATION_OVERLAP_MS,
  signingSecrets,
  webhookHeaders,
} from '../../lambdas/core/domain/webhook-signing';

const event: AppliedEvent = {
  eventId: 'ev-1',
  tenantId: 't1',
  emailId: '4ef9a417-02e9-4d39-ad75-9611e0fcc33c',
  type: 'email.bounced',
  timestamp: '2026-11-20T10:00:05.123Z',
  email: {
    email_id: '4ef9a417-02e9-4d39-ad75-9611e0fcc33c',
    from: 'Acme <onboarding@acme.test>',
    to: ['someone@example.com'],
    subject: 'Hello',
    created_at: '2026-11-20T10:00:00.000Z',
    tags: { category: 'welcome' },
  },
  details: { bounce: { message: 'mailbox does not exist', subType: 'General', type: 'Permanent' }, email_id: 'must-not-override' },
};

const nowSeconds = () => Math.floor(Date.now() / 1000);

function signed(secrets: string[], id = 'b3c0f0d4-1111-8222-9333-444455556666') {
  const body = serializePayload(buildPayload(event));
  const headers = webhookHeaders({ id, timestampSeconds: nowSeconds(), body, secrets });
  return { body, headers, id };
}

describe('webhook payload', () => {
  it("is Resend's shape with the event's own time and the type's details", () => {
    const payload = buildPayload(event);
    expect(payload).toEqual({
      type: 'email.bounced',
      created_at: '2026-11-20T10:00:05.123Z',
      data: {
        email_id: event.emailId,
        from: 'Acme <onboarding@acme.test>',
        to: ['someone@example.com'],
        subject: 'Hello',
        created_at: '2026-11-20T10:00:00.000Z',
        tags: { category: 'welcome' },
        bounce: { message: 'mailbox does not exist', subType: 'General', type: 'Permanent' },
      },
    });
  });
});

describe('webhook signatures', () => {
  it('are accepted by standardwebhooks, svix and the resend SDK', () => {
    const secret = newSigningSecret();
    const { body, headers, id } = signed([secret]);

    expect(new StandardWebhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    // svix reads only the svix-* headers here.
    const svixOnly = { 'svix-id': headers['svix-id']!, 'svix-timestamp': headers['svix-timestamp']!, 'svix-signature': headers['svix-signature']! };
    expect(new SvixWebhook(secret).verify(body, svixOnly)).toEqual(JSON.parse(body));
    const resend = new Resend('re_test_verify_only');
    expect(resend.webhooks.verify({
      payload: body,
      headers: { id: headers['webhook-id']!, timestamp: headers['webhook-timestamp']!, signature: headers['webhook-signature']! },
      webhookSecret: secret,
    })).toEqual(JSON.parse(body));
    expect(headers['webhook-id']).toBe(id);
    expect(headers['svix-id']).toBe(id);
    expect(headers['content-type']).toBe('application/json');
    expect(headers['user-agent']).toMatch(/^Sesame-Webhooks\//);
  });

  it('are refused with another secret or a changed body', () => {
    const { body, headers } = signed([newSigningSecret()]);
    expect(() => new StandardWebhook(newSigningSecret()).verify(body, headers)).toThrow();
    expect(() => new SvixWebhook(newSigningSecret()).verify(body, headers)).toThrow();
    const secret = newSigningSecret();
    const good = signed([secret]);
    expect(() => new StandardWebhook(secret).verify(good.body.replace('Hello', 'Hellp'), good.headers)).toThrow();
  });

  it('carry both signatures during a rotation, so the old and the new secret both verify', () => {
    const oldSecret = newSigningSecret();
    const newSecret = newSigningSecret();
    const rotatedAt = Date.now();
    const secrets = signingSecrets({ current: newSecret, previous: oldSecret, previousUntil: rotatedAt + ROTATION_OVERLAP_MS }, rotatedAt + 1000);
    expect(secrets).toEqual([newSecret, oldSecret]);
    const { body, headers } = signed(secrets);
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const s of [oldSecret, newSecret]) {
      expect(new StandardWebhook(s).verify(body, headers)).toBeTruthy();
      expect(new SvixWebhook(s).verify(body, headers)).toBeTruthy();
    }
  });

  it('drop the old secret once its 24 hours are over', () => {
    const stored = { current: 'whsec_bmV3bmV3bmV3bmV3bmV3bmV3bmV3bmV3', previous: 'whsec_b2xkb2xkb2xkb2xkb2xkb2xkb2xkb2xk', previousUntil: 1_000_000 + ROTATION_OVERLAP_MS };
    expect(signingSecrets(stored, 1_000_000 + ROTATION_OVERLAP_MS - 1)).toHaveLength(2);
    expect(signingSecrets(stored, 1_000_000 + ROTATION_OVERLAP_MS)).toEqual([stored.current]);
  });

  it('use whsec_ secrets of 32 random bytes', () => {
    const a = newSigningSecret();
    expect(isSigningSecret(a)).toBe(true);
    expect(Buffer.from(a.slice(6), 'base64')).toHaveLength(32);
    expect(newSigningSecret()).not.toBe(a);
  });
});

describe('retry schedule', () => {
  it('spreads non-zero delays by at most 20%, keeps 0 immediate', () => {
    expect(jittered(0, () => 0.99)).toBe(0);
    expect(jittered(300, () => 0)).toBe(240);
    expect(jittered(300, () => 1)).toBe(360);
    expect(jittered(300, () => 0.5)).toBe(300);
    for (let i = 0; i < 200; i++) {
      const d = jittered(36000);
      expect(d).toBeGreaterThanOrEqual(28800);
      expect(d).toBeLessThanOrEqual(43200);
    }
    expect(jittered(1, () => 0)).toBe(1);
  });

  it('gives the delay before the next attempt until the schedule is spent', () => {
    const schedule = [0, 5, 300];
    expect(nextDelaySeconds(schedule, 1, () => 0.5)).toBe(5);
    expect(nextDelaySeconds(schedule, 2, () => 0.5)).toBe(300);
    expect(nextDelaySeconds(schedule, 3, () => 0.5)).toBeUndefined();
  });

  it('reads only well-formed delivery messages', () => {
    const good = { v: 1, delivery_id: 'd', webhook_id: 'w', tenant_id: 't', event_id: 'e', event_type: 'email.sent', payload: '{}', queued_at: 'x', generation: 0 };
    expect(parseDeliveryMessage(JSON.stringify(good))).toEqual(good);
    expect(() => parseDeliveryMessage('{"v":2}')).toThrow();
    expect(() => parseDeliveryMessage(JSON.stringify({ ...good, payload: undefined }))).toThrow(/payload/);
    expect(() => parseDeliveryMessage(JSON.stringify({ ...good, generation: -1 }))).toThrow(/generation/);
    expect(() => parseDeliveryMessage('not json')).toThrow();
  });
});
