/** What the benchmark sends: one typical transactional email, the same in every part of the bench. */

export const BENCH_DOMAIN = 'bench.test';

/** Resend's wire format, as a client would POST it to /emails. */
export function sendRequest(to: string, n = 0): Record<string, unknown> {
  const lines = Array.from({ length: 12 }, (_, i) => `<tr><td>Item ${i + 1}</td><td>1</td><td>$${(9.99 + i).toFixed(2)}</td></tr>`).join('');
  return {
    from: `Acme <receipts@${BENCH_DOMAIN}>`,
    to,
    subject: `Your receipt #${100_000 + n}`,
    html: `<html><body><h1>Thanks for your order</h1><p>Order #${100_000 + n} is confirmed.</p><table>${lines}</table><p>Questions? Reply to this email.</p></body></html>`,
    text: `Thanks for your order. Order #${100_000 + n} is confirmed. Questions? Reply to this email.`,
    tags: [{ name: 'kind', value: 'receipt' }],
  };
}

/** Resend's test addresses and the state each ends in, with the events each produces (SES's simulator). */
export const TEST_ADDRESSES = [
  { to: 'delivered@resend.dev', final: 'delivered', webhooks: ['email.sent', 'email.delivered'] },
  { to: 'bounced@resend.dev', final: 'bounced', webhooks: ['email.sent', 'email.bounced'] },
  { to: 'complained@resend.dev', final: 'complained', webhooks: ['email.sent', 'email.delivered', 'email.complained'] },
  { to: 'suppressed@resend.dev', final: 'suppressed', webhooks: ['email.sent', 'email.suppressed'] },
] as const;

/** Every event type an endpoint can subscribe to (one endpoint, subscribed to all). */
export { EMAIL_EVENT_TYPES as ALL_EVENT_TYPES } from '../lambdas/core/domain/applied-event';
