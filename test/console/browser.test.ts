/// <reference lib="dom" />
/**
 * The console in a real browser: headless Chromium (the binary inside @sparticuz/chromium, driven
 * by puppeteer-core) against local mode started as `npm start` starts it. Each scenario keeps a
 * screenshot of its page in test-results/console/ (CI keeps the folder). axe-core checks each page.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import chromium from '@sparticuz/chromium';
import { createTransport } from 'nodemailer';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { freePort, startLocalMode, type RunningLocal } from '../support/local-mode';

jest.setTimeout(120_000);

const SHOTS = join(__dirname, '..', '..', 'test-results', 'console');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let local: RunningLocal;
let browser: Browser;
let page: Page;
let receiver: Server;
let receiverUrl: string;
let receiverStatus = 500;
const received: number[] = [];

async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, key = local.apiKey): Promise<{ status: number; body: T }> {
  const res = await fetch(`${local.apiUrl}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as T };
}

const shot = (name: string, fullPage = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });

/** The page's visible text. */
const text = () => page.evaluate(() => document.body.innerText);

async function waitForText(needle: string | RegExp, timeout = 30_000): Promise<void> {
  const source = typeof needle === 'string' ? needle : needle.source;
  await page.waitForFunction((s: string, isRegex: boolean) => (isRegex ? new RegExp(s).test(document.body.innerText) : document.body.innerText.includes(s)), { timeout, polling: 100 }, source, typeof needle !== 'string');
}

/** axe-core's serious and critical findings on the page as it is now (injected through DevTools, which the page's CSP does not govern). */
async function accessibilityViolations(): Promise<string[]> {
  await page.evaluate(AXE);
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations.map((v) => ({ id: v.id, impact: v.impact, count: v.nodes.length }));
  });
  return results.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}, ${v.count})`);
}

async function signIn(key: string): Promise<void> {
  await page.goto(`${local.apiUrl}/`);
  await page.waitForSelector('#key');
  await page.type('#key', key);
  await page.click('form.signin button[type=submit]');
  await page.waitForSelector('nav[aria-label="Console"]');
}

async function go(hash: string, ready: string): Promise<void> {
  await page.evaluate((h: string) => (location.hash = h), hash);
  await waitForText(ready);
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(receiverStatus);
      res.writeHead(receiverStatus).end(receiverStatus === 200 ? 'ok' : 'receiver broken on purpose');
    });
  });
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${port}/hooks`;
  // One attempt per delivery: a broken receiver's delivery fails at once, for the replay.
  local = await startLocalMode({ dataDir: mkdtempSync(join(tmpdir(), 'sesame-console-')), domain: 'example.com', extraEnv: { SESAME_WEBHOOK_RETRY_SCHEDULE: '0' } });
  browser = await puppeteer.launch({ args: chromium.args, executablePath: await chromium.executablePath(), headless: true, defaultViewport: { width: 1100, height: 760 } });
  page = await browser.newPage();
  // confirm() is accepted; prompt() (renaming a key) answers a new name.
  page.on('dialog', (dialog) => void (dialog.type() === 'prompt' ? dialog.accept('deploy bot renamed') : dialog.accept()));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await local?.stop();
  await new Promise((r) => receiver?.close(r));
});

describe('the console', () => {
  it('is one page from the API origin under a strict CSP, with hashed assets cached for good', async () => {
    const res = await fetch(`${local.apiUrl}/`);
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const html = await res.text();
    const script = /src="(\/console\/app-[0-9a-f]{12}\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${local.apiUrl}${script}`);
    expect([asset.status, asset.headers.get('cache-control'), asset.headers.get('content-type')]).toEqual([200, 'public, max-age=31536000, immutable', 'text/javascript; charset=utf-8']);
    expect((await fetch(`${local.apiUrl}/console/app-000000000000.js`)).status).toBe(404);
  });

  it('signs in with a key kept in session storage only: not in the URL, the DOM or the request log', async () => {
    await page.goto(`${local.apiUrl}/`);
    await page.waitForSelector('#key');
    expect(await accessibilityViolations()).toEqual([]);
    await shot('sign-in');
    // A wrong key is refused with a message, and nothing is kept.
    await page.type('#key', 're_notakeyatall1234567890');
    await page.click('form.signin button[type=submit]');
    await waitForText('This API key was refused.');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.evaluate(() => ((document.getElementById('key') as HTMLInputElement).value = ''));
    await page.type('#key', local.apiKey);
    await page.click('form.signin button[type=submit]');
    await page.waitForSelector('nav[aria-label="Console"]');
    expect(page.url()).not.toContain(local.apiKey);
    expect(await page.content()).not.toContain(local.apiKey);
    expect(await page.evaluate(() => sessionStorage.getItem('sesame.apiKey'))).toBe(local.apiKey);
    expect(await page.evaluate(() => localStorage.length + document.cookie.length)).toBe(0);
    const logs = await call<{ data: { id: string }[] }>('GET', '/logs?limit=100');
    for (const entry of logs.body.data) expect(JSON.stringify((await call('GET', `/logs/${entry.id}`)).body)).not.toContain(local.apiKey);
  });

  let webhookId: string;

  it('adds a webhook endpoint and shows its signing secret once', async () => {
    // Before any email: the fan-out caches a tenant's endpoints for 30 s.
    await go('#/webhooks', 'Add an endpoint');
    await page.type('#webhook-endpoint', receiverUrl);
    await page.click('form.inline button[type=submit]');
    await waitForText('Signing secret (shown once');
    expect(await page.$eval('code.secret', (c) => c.textContent)).toMatch(/^whsec_/);
    webhookId = (await page.$eval('a[href^="#/webhooks/"]', (a) => a.getAttribute('href')!)).split('/').pop()!;
    await waitForText(receiverUrl);
    // Gone with the next navigation.
    await go('#/suppressions', 'Suppress an address');
    await go('#/webhooks', receiverUrl);
    expect(await text()).not.toContain('whsec_');
  });

  let emailId: string;

  it('shows an email sent through the API appear with its final status', async () => {
    const sent = await call<{ id: string }>('POST', '/emails', {
      from: 'Acme <hello@example.com>', to: 'delivered@resend.dev', subject: 'Welcome <img src=x onerror="document.title=1">',
      html: '<h1 id="greeting">Hello</h1><img id="remote" src="https://images.example.org/pixel.png" alt="pixel"><script>document.body.dataset.ran = "yes"</script><p>Thanks for joining.</p>',
      text: 'Hello. Thanks for joining.', tags: [{ name: 'kind', value: 'welcome' }], headers: { 'X-Entity-Ref-ID': 'welcome-42' },
    });
    expect(sent.status).toBe(200);
    emailId = sent.body.id;
    await call('POST', '/emails', { from: 'hello@example.com', to: 'bounced@resend.dev', subject: 'This one bounces', text: 'x' });
    await go('#/emails', 'Emails');
    // The first page refreshes itself until the events arrive.
    await page.waitForFunction((id: string) => {
      const row = [...document.querySelectorAll('tbody tr')].find((tr) => tr.querySelector(`a[href="#/emails/${id}"]`));
      return row?.querySelector('.badge')?.textContent === 'delivered';
    }, { timeout: 30_000, polling: 200 }, emailId);
    await waitForText('bounced');
    // The subject is text: no element came from it.
    expect(await page.$$eval('tbody img', (imgs) => imgs.length)).toBe(0);
    expect(await accessibilityViolations()).toEqual([]);
    await shot('emails');
  });

  it('filters the bounced emails from the sparse index', async () => {
    await page.select('#status-filter', 'bounced');
    await waitForText('This one bounces');
    expect(await text()).not.toContain('Welcome');
  });

  it('opens the email: its timeline, recipients, text, and its HTML in a sandboxed frame of its own URL and CSP', async () => {
    await go(`#/emails/${emailId}`, 'Timeline');
    expect(await page.$eval('h1', (h) => h.textContent)).toBe('Welcome <img src=x onerror="document.title=1">');
    expect(await page.$$eval('.timeline li .badge', (b) => b.map((x) => x.textContent))).toEqual(['sent', 'delivered']);
    await waitForText('Hello. Thanks for joining.');
    await waitForText('welcome-42');
    const frameElement = await page.waitForSelector('iframe[src^="/console/frame/"]');
    expect(await frameElement!.evaluate((f) => f.getAttribute('sandbox'))).toBe('');
    const frame = await frameElement!.contentFrame();
    await frame!.waitForSelector('#greeting');
    const response = await fetch(`${local.apiUrl}${await frameElement!.evaluate((f) => f.getAttribute('src'))}`);
    expect(response.headers.get('content-security-policy')).toContain("img-src data:;");
    expect(response.headers.get('content-security-policy')).toContain('sandbox');
    // No script ran in the frame, and the remote image did not load.
    expect(await frame!.evaluate(() => document.body.dataset.ran ?? 'no')).toBe('no');
    expect(await frame!.$eval('#remote', (img) => (img as HTMLImageElement).naturalWidth)).toBe(0);
    expect(await page.title()).not.toBe('1');
    // The frame's URL works without a key, but a forged token does not.
    expect((await fetch(`${local.apiUrl}/console/frame/eyJ0IjoieCJ9.${'A'.repeat(43)}`)).status).toBe(404);
    expect(await accessibilityViolations()).toEqual([]);
    await shot('email', true);
    // Remote content on request: a new token, whose policy lets images load.
    await page.click('::-p-text(Load remote content)');
    await waitForText('Remote content loaded.');
    const remoteSrc = await page.$eval('iframe', (f) => f.getAttribute('src'));
    expect((await fetch(`${local.apiUrl}${remoteSrc}`)).headers.get('content-security-policy')).toContain('img-src data: https:');
  });

  it('adds a domain and shows its records with copy buttons and statuses; saves tracking; verifies', async () => {
    await go('#/domains', 'Add a domain');
    await page.type('#domain-name', 'console.example.org');
    await page.click('form.inline button[type=submit]');
    await waitForText('DNS records');
    const rows = await page.$$eval('section[aria-labelledby="h-records"] tbody tr', (trs) => trs.map((tr) => tr.querySelector('td')!.textContent));
    expect(rows.filter((r) => r === 'DKIM')).toHaveLength(3);
    expect(rows).toEqual(expect.arrayContaining(['SPF']));
    expect(await page.$$eval('section[aria-labelledby="h-records"] button', (b) => b.length)).toBe(rows.length * 2);
    expect(await accessibilityViolations()).toEqual([]);
    await shot('domain', true);
    // Tracking settings, saved through PATCH /domains/{id}.
    await page.click('#open-tracking');
    await page.click('::-p-text(Save tracking)');
    await waitForText('Tracking saved.');
    const domains = await call<{ data: { id: string; name: string }[] }>('GET', '/domains');
    const id = domains.body.data.find((d) => d.name === 'console.example.org')!.id;
    expect((await call<{ open_tracking: boolean }>('GET', `/domains/${id}`)).body.open_tracking).toBe(true);
    // Verify re-reads SES and renders the page again.
    await page.click('::-p-text(Verify now)');
    await waitForText('DNS records');
  });

  it('shows a webhook delivery that failed on a broken receiver, replays it once the receiver is fixed, recovers the rest, rotates the secret', async () => {
    await go('#/webhooks', 'Add an endpoint');
    await page.click(`a[href="#/webhooks/${webhookId}"]`);
    await waitForText('Deliveries');
    // Reload until a delivery has failed (one attempt per delivery in this run).
    await page.waitForFunction(() => {
      if (document.querySelector('tbody .badge.tone-bad')) return true;
      window.dispatchEvent(new HashChangeEvent('hashchange'));
      return false;
    }, { timeout: 40_000, polling: 1000 }).catch(async (e: unknown) => {
      throw new Error(`${String(e)}\nreceived: ${JSON.stringify(received)}\npage: ${await text()}\nlocal: ${local.output().slice(-3000)}`);
    });
    expect(received).toContain(500);
    const failed = (await page.$$('tbody tr')).length;
    expect(failed).toBeGreaterThan(0);
    await page.click('tbody tr:has(.badge.tone-bad) ::-p-text(Attempts)');
    await waitForText('receiver broken on purpose');
    await shot('webhook', true);
    receiverStatus = 200;
    await page.click('tbody tr:has(.badge.tone-bad) ::-p-text(Replay)');
    await waitForText('Queued again');
    await page.waitForFunction(() => {
      if (document.querySelector('tbody tr .badge.tone-good')) return true;
      window.dispatchEvent(new HashChangeEvent('hashchange'));
      return false;
    }, { timeout: 40_000, polling: 1000 });
    expect(received).toContain(200);
    expect(await accessibilityViolations()).toEqual([]);
    // Recover queues every failed delivery since a time; rotation shows the new secret once.
    const before = received.length;
    await page.click('form.inline button[type=submit]');
    await waitForText(/\d+ failed deliveries queued again/);
    await page.click('::-p-text(Rotate signing secret)');
    await waitForText('New signing secret (shown once');
    expect(await page.$eval('code.secret', (c) => c.textContent)).toMatch(/^whsec_/);
    const waitDeadline = Date.now() + 20_000;
    while (received.length === before && Date.now() < waitDeadline) await new Promise((r) => setTimeout(r, 200));
    expect(received.length).toBeGreaterThan(before);
  });

  it('shows metrics as a chart, the request log and suppressions', async () => {
    await go('#/metrics', 'Last 7 days');
    await page.waitForSelector('svg.chart polyline');
    expect(await accessibilityViolations()).toEqual([]);
    await shot('metrics');
    await go('#/logs', 'User agent');
    expect(await text()).toContain('/emails');
    expect(await page.content()).not.toContain(local.apiKey);
    await shot('logs');
    await go('#/suppressions', 'Suppress an address');
    await page.type('#suppress-email', 'someone@example.net');
    await page.click('form.inline button[type=submit]');
    await waitForText('someone@example.net');
    await shot('suppressions');
  });

  it('lists received email and opens one: its fields, text, raw message and attachment download', async () => {
    // Before any mail: the empty list says how to get some.
    await go('#/inbound', 'No email received yet');
    // Receiving on for the local domain, then a message with an attachment over SMTP, as a sender's server would.
    const domains = await call<{ data: { id: string; name: string }[] }>('GET', '/domains');
    const domain = domains.body.data.find((d) => d.name === 'example.com')!;
    expect((await call('PATCH', `/domains/${domain.id}`, { capabilities: { receiving: 'enabled' } })).status).toBe(200);
    const csv = 'quarter,total\n1,42\n2,57\n';
    const smtp = createTransport({ host: '127.0.0.1', port: Number(local.env.SESAME_SMTP_PORT), secure: false, ignoreTLS: true });
    const sent = await smtp.sendMail({
      from: 'Customer <customer@elsewhere.example>', to: 'support@example.com', cc: 'someone@elsewhere.example',
      subject: 'Quarterly numbers', text: 'The numbers are attached.', html: '<p>The numbers are <b>attached</b>.</p>',
      attachments: [{ filename: 'numbers.csv', content: csv, contentType: 'text/csv' }],
    });
    smtp.close();
    expect(sent.response).toMatch(/^250 /);
    // Accepted (spooled) before it is processed: wait until the API lists it.
    const deadline = Date.now() + 30_000;
    while ((await call<{ data: unknown[] }>('GET', '/emails/receiving')).body.data.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));

    await page.reload();
    await waitForText('Quarterly numbers');
    expect(await text()).toContain('"Customer" <customer@elsewhere.example>');
    expect(await accessibilityViolations()).toEqual([]);
    await shot('inbound');

    await page.click('::-p-text(Quarterly numbers)');
    await waitForText('The numbers are attached.');
    await waitForText('numbers.csv');
    const shown = await text();
    expect(shown).toContain('support@example.com');
    expect(shown).toMatch(/Received for\s+support@example\.com/);
    expect(shown).toContain('The console does not render received HTML');
    expect(await accessibilityViolations()).toEqual([]);
    // The attachment's link downloads the bytes sent; the raw message's link downloads the message.
    const attachmentUrl = await page.$eval('a[download="numbers.csv"]', (a) => (a as HTMLAnchorElement).href);
    expect(await (await fetch(attachmentUrl)).text()).toBe(csv);
    const rawUrl = await page.$eval('::-p-text(Download the raw message)', (a) => (a as HTMLAnchorElement).href);
    expect(await (await fetch(rawUrl)).text()).toContain('Subject: Quarterly numbers');
  });

  it('shows a sending-only key the send page only', async () => {
    const sending = await call<{ token: string }>('POST', '/api-keys', { name: 'ci sender', permission: 'sending_access' });
    await page.evaluate(() => sessionStorage.clear());
    await signIn(sending.body.token);
    await waitForText('Send an email');
    expect(await page.$$eval('nav[aria-label="Console"] a', (a) => a.map((x) => x.textContent))).toEqual(['Send', 'Local mailbox ↗']);
    await go('#/emails', 'needs an API key with full access');
    await go('#/send', 'Send an email');
    await page.type('#send-from', 'hello@example.com');
    await page.type('#send-to', 'delivered@resend.dev');
    await page.type('#send-subject', 'From a sending key');
    await page.click('form.stack button[type=submit]');
    await waitForText('Sent:');
    expect(await accessibilityViolations()).toEqual([]);
    await shot('sending-key');
  });

  it('lists keys, shows a new key once, renames one, and signs out when the signed-in key is revoked', async () => {
    const made = await call<{ token: string }>('POST', '/api-keys', { name: 'console test' });
    await page.evaluate(() => sessionStorage.clear());
    await signIn(made.body.token);
    await go('#/api-keys', 'Create key');
    await page.type('#key-name', 'deploy bot');
    await page.click('form.inline button[type=submit]');
    await waitForText('shown once');
    const shown = await page.$eval('code.secret', (c) => c.textContent!);
    expect(shown).toMatch(/^re_/);
    expect(await accessibilityViolations()).toEqual([]);
    await shot('api-keys');
    await page.click('button[aria-label="Rename deploy bot"]');
    await waitForText('deploy bot renamed');
    await page.click('button[aria-label="Revoke console test"]');
    await page.waitForSelector('#key');
    await waitForText('no longer valid');
    expect(await page.evaluate(() => sessionStorage.getItem('sesame.apiKey'))).toBeNull();
  });
});
