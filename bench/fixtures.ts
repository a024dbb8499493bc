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

/**
 * The second scenario: a 20 KB HTML receipt with a 100 KB PDF attachment (base64 in the request,
 * as Resend's API takes it), to the same recipient and endpoint.
 */
export function receiptRequest(to: string, n = 0): Record<string, unknown> {
  const base = sendRequest(to, n);
  const row = (i: number) => `<tr><td>Line ${i + 1}: a product with a long description</td><td>1</td><td>$${(4.99 + (i % 50)).toFixed(2)}</td></tr>`;
  let rows = '';
  for (let i = 0; rows.length < 20_000; i++) rows += row(i);
  const pdf = Buffer.alloc(100 * 1024);
  pdf.write('%PDF-1.7\n');
  for (let i = 9; i < pdf.length; i++) pdf[i] = (i * 2654435761) >>> 24;
  return {
    ...base,
    html: `<html><body><h1>Your receipt</h1><table>${rows.slice(0, 20_000)}</table></body></html>`,
    attachments: [{ filename: `receipt-${100_000 + n}.pdf`, content: pdf.toString('base64'), content_type: 'application/pdf' }],
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

/**
 * The received scenario: the receipt scenario's content (a 20 KB HTML body, a 100 KB PDF) as a MIME
 * message someone sends to the bench domain, built by nodemailer's MailComposer.
 */
export async function inboundMessage(n = 0): Promise<Buffer> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  const r = receiptRequest(`support@${BENCH_DOMAIN}`, n) as { subject: string; html: string; text: string; attachments: { filename: string; content: string }[] };
  return new MailComposer({
    from: 'Customer <customer@elsewhere.example>', to: `support@${BENCH_DOMAIN}`, subject: `Re: ${r.subject}`, html: r.html, text: r.text,
    attachments: r.attachments.map((a) => ({ filename: a.filename, content: Buffer.from(a.content, 'base64'), contentType: 'application/pdf' })),
  }).compile().build();
}
