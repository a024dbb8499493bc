/**
 * The local SES server's mailbox pages: what was "sent", newest first, and one message at a time.
 * Everything from a message is escaped; an HTML body is shown as escaped source and rendered in a
 * sandboxed iframe (no scripts, no forms, its own origin), under a Content-Security-Policy that
 * loads nothing from elsewhere (no tracking pixels either).
 */
import { mimeHeaders, type StoredEmail } from './ses-message';

export const MAILBOX_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f4; }
code, pre { font: 12px/1.4 ui-monospace, monospace; }
pre { background: #f7f7f7; padding: .75rem; overflow: auto; white-space: pre-wrap; word-break: break-word; }
iframe { width: 100%; height: 28rem; border: 1px solid #ccc; }
.tag { display: inline-block; background: #eef; border-radius: 3px; padding: 0 .3rem; margin: 0 .2rem .2rem 0; }
dt { font-weight: 600; } dd { margin: 0 0 .5rem 0; }
`;

function page(title: string, body: string, refreshSeconds?: number): string {
  const refresh = refreshSeconds ? `<meta http-equiv="refresh" content="${refreshSeconds}">` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">${refresh}<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

function tags(email: StoredEmail): string {
  return (email.request.EmailTags ?? []).map((t) => `<span class="tag">${escapeHtml(`${t.Name}=${t.Value}`)}</span>`).join('');
}

function recipients(email: StoredEmail): string {
  return [...email.envelope.to, ...email.envelope.cc, ...email.envelope.bcc].join(', ');
}

export function messagePath(messageId: string): string {
  return `/messages/${encodeURIComponent(messageId)}`;
}

/** The list, newest first; refreshes itself every 5 seconds. */
export function renderMailbox(emails: readonly StoredEmail[]): string {
  const rows = [...emails]
    .reverse()
    .map(
      (e) =>
        `<tr><td><time>${escapeHtml(e.timestamp)}</time></td><td>${escapeHtml(e.envelope.from)}</td>` +
        `<td>${escapeHtml(recipients(e))}</td>` +
        `<td><a href="${escapeHtml(messagePath(e.messageId))}">${escapeHtml(e.envelope.subject || '(no subject)')}</a></td>` +
        `<td>${tags(e)}</td></tr>`,
    )
    .join('');
  const table = emails.length
    ? `<table><thead><tr><th>Time</th><th>From</th><th>To</th><th>Subject</th><th>Tags</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p>No email sent yet.</p>';
  return page(
    'Local SES mailbox',
    `<h1>Local SES mailbox</h1><p>${emails.length} email(s). Nothing here left this machine. JSON: <a href="/store">/store</a>.</p>${table}`,
    5,
  );
}

const RAW_PREVIEW_BYTES = 256 * 1024;

/** One message: envelope, tags, headers, text, HTML (escaped source and sandboxed preview), attachments. */
export function renderMessage(email: StoredEmail): string {
  const { envelope, request } = email;
  const simple = request.Content?.Simple;
  const raw = request.Content?.Raw?.Data;
  const field = (name: string, value: string) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value) || '&nbsp;'}</dd>`;
  const parts: string[] = [
    `<p><a href="/">&larr; Mailbox</a></p><h1>${escapeHtml(envelope.subject || '(no subject)')}</h1>`,
    '<dl>',
    field('Message ID', email.messageId),
    field('Time', email.timestamp),
    field('From', envelope.from),
    field('To', envelope.to.join(', ')),
    field('Cc', envelope.cc.join(', ')),
    field('Bcc', envelope.bcc.join(', ')),
    field('Reply-To', envelope.replyTo.join(', ')),
    field('Configuration set', request.ConfigurationSetName ?? ''),
    `<dt>Tags</dt><dd>${tags(email) || '&nbsp;'}</dd>`,
    '</dl>',
  ];
  const headers = simple?.Headers ?? [];
  if (headers.length) {
    parts.push(`<h2>Headers</h2><pre>${escapeHtml(headers.map((h) => `${h.Name}: ${h.Value}`).join('\n'))}</pre>`);
  }
  const text = simple?.Body?.Text?.Data;
  if (text !== undefined) parts.push(`<h2>Text</h2><pre>${escapeHtml(text)}</pre>`);
  const html = simple?.Body?.Html?.Data;
  if (html !== undefined) {
    parts.push(
      `<h2>HTML</h2><iframe sandbox="" referrerpolicy="no-referrer" title="HTML body" srcdoc="${escapeHtml(html)}"></iframe>`,
      `<details><summary>HTML source</summary><pre>${escapeHtml(html)}</pre></details>`,
    );
  }
  const attachments = simple?.Attachments ?? [];
  if (attachments.length) {
    const items = attachments
      .map(
        (a, i) =>
          `<li><a href="${escapeHtml(`${messagePath(email.messageId)}/attachments/${i}`)}">${escapeHtml(a.FileName ?? `attachment-${i}`)}</a> ` +
          `(${escapeHtml(a.ContentType ?? 'application/octet-stream')}, ${a.RawContent?.length ?? 0} bytes${a.ContentDisposition === 'INLINE' ? ', inline' : ''})</li>`,
      )
      .join('');
    parts.push(`<h2>Attachments</h2><ul>${items}</ul>`);
  }
  if (raw !== undefined) {
    const headerNames = [...mimeHeaders(raw).keys()].join(', ');
    const source = Buffer.from(raw).subarray(0, RAW_PREVIEW_BYTES).toString('utf8');
    const cut = raw.length > RAW_PREVIEW_BYTES ? `\n\n[${raw.length - RAW_PREVIEW_BYTES} more bytes]` : '';
    parts.push(`<h2>Raw MIME message</h2><p>Headers: ${escapeHtml(headerNames)}</p><pre>${escapeHtml(source + cut)}</pre>`);
  }
  return page(envelope.subject || email.messageId, parts.join(''));
}
