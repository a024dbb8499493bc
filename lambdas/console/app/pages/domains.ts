/** Domains: the list and add form; a domain's records (copy buttons, per-record status), verify, tracking. */
import { api, type ListPage } from '../api';
import { badge, copyButton, fill, h, notice, table, time } from '../dom';
import { showError } from '../errors';
import { href, type PageContext } from '../router';

interface DnsRecord { record: string; name: string; type: string; ttl: string | number; status?: string; value: string; priority?: number }
interface Domain {
  id: string; name: string; status: string; created_at: string; region: string;
  open_tracking?: boolean; click_tracking?: boolean; records?: DnsRecord[]; dmarc?: DnsRecord;
}

export async function domainsPage(ctx: PageContext): Promise<void> {
  const page = await api<ListPage<Domain>>('GET', '/domains');
  if (!ctx.current()) return;
  const name = h('input', { id: 'domain-name', name: 'name', required: true, placeholder: 'acme.com', autocomplete: 'off' });
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'inline' }, h('label', { for: 'domain-name' }, 'Add a domain'), name, h('button', { type: 'submit' }, 'Add'), status);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void api<Domain>('POST', '/domains', { name: name.value.trim() }).then(
      (d) => (location.hash = href('domains', [d.id])),
      (e: unknown) => fill(status, notice('error', e instanceof Error ? e.message : 'Not added.')),
    );
  });
  fill(ctx.root,
    h('h1', {}, 'Domains'),
    form,
    table('Domains', ['Domain', 'Status', 'Region', 'Added'], page.data.map((d) => [
      h('a', { href: href('domains', [d.id]) }, d.name), badge(d.status), d.region, time(d.created_at),
    ]), 'No domain yet.'),
  );
}

function recordRows(records: readonly DnsRecord[]) {
  return records.map((r) => [
    r.record, r.type,
    h('span', { class: 'copyable' }, h('code', {}, r.name), copyButton(r.name, `${r.type} ${r.record} name`)),
    h('span', { class: 'copyable' }, h('code', { class: 'value' }, r.value), copyButton(r.value, `${r.type} ${r.record} value`)),
    r.priority === undefined ? '-' : String(r.priority),
    String(r.ttl),
    r.status ? badge(r.status) : '-',
  ]);
}

export async function domainPage(ctx: PageContext): Promise<void> {
  const id = ctx.params[0]!;
  const d = await api<Domain>('GET', `/domains/${encodeURIComponent(id)}`);
  if (!ctx.current()) return;
  const status = h('div', { 'aria-live': 'polite' });
  const verify = h('button', { type: 'button' }, 'Verify now');
  verify.addEventListener('click', () => {
    verify.disabled = true;
    void api('POST', `/domains/${encodeURIComponent(id)}/verify`).then(() => domainPage(ctx), (e: unknown) => showError(ctx, e));
  });
  const open = h('input', { type: 'checkbox', id: 'open-tracking', ...(d.open_tracking ? { checked: true } : {}) });
  const click = h('input', { type: 'checkbox', id: 'click-tracking', ...(d.click_tracking ? { checked: true } : {}) });
  const save = h('button', { type: 'submit' }, 'Save tracking');
  const tracking = h('form', { class: 'inline' },
    h('fieldset', {}, h('legend', {}, 'Tracking'),
      h('span', { class: 'check' }, open, h('label', { for: 'open-tracking' }, 'Open tracking')),
      h('span', { class: 'check' }, click, h('label', { for: 'click-tracking' }, 'Click tracking')),
      save));
  tracking.addEventListener('submit', (event) => {
    event.preventDefault();
    void api('PATCH', `/domains/${encodeURIComponent(id)}`, { open_tracking: open.checked, click_tracking: click.checked }).then(
      () => fill(status, notice('info', 'Tracking saved.')),
      (e: unknown) => showError(ctx, e),
    );
  });
  fill(ctx.root,
    h('p', {}, h('a', { href: '#/domains' }, '← Domains')),
    h('h1', {}, d.name, ' ', badge(d.status)),
    h('p', { class: 'help' }, `Region ${d.region}; added `, time(d.created_at), '. Publish these records at your DNS provider; Sesame checks them on its own, or now:'),
    h('div', { class: 'toolbar' }, verify),
    status,
    h('section', { 'aria-labelledby': 'h-records' }, h('h2', { id: 'h-records' }, 'DNS records'),
      table('DNS records to publish', ['Record', 'Type', 'Name', 'Value', 'Priority', 'TTL', 'Status'], recordRows(d.records ?? []))),
    d.dmarc ? h('section', { 'aria-labelledby': 'h-dmarc' }, h('h2', { id: 'h-dmarc' }, 'DMARC (advised)'),
      table('DMARC record', ['Record', 'Type', 'Name', 'Value', 'Priority', 'TTL', 'Status'], recordRows([{ ...d.dmarc, record: 'DMARC' }]))) : null,
    h('section', { 'aria-labelledby': 'h-settings' }, h('h2', { id: 'h-settings' }, 'Settings'), tracking),
  );
}
