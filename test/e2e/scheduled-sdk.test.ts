/**
 * Scheduled sending with the official `resend` SDK against local mode (started as `npm start`
 * starts it): `emails.send` with `scheduledAt` (natural language and ISO 8601), `emails.update`,
 * `emails.cancel`, and local mode killed (SIGKILL) between scheduling and the due time; a scheduled
 * email with an attachment (kept by the local S3 stand-in across the kill) is listed before and after,
 * and reaches the SES mailbox with its bytes. The wait is shortened with
 * SESAME_LOCAL_SCHEDULER_MINUTE_MS (a minute of waiting lasts 3 s here).
 */
import { startLocalMode, type RunningLocal } from '../support/local-mode';
import { sdkFor, tempDataDir } from '../support/e2e';
import { TAG_EMAIL_ID, parseEmailTag } from '../../lambdas/core/domain/email';

jest.setTimeout(90_000);

const dataDir = tempDataDir('e2e-scheduled');
const API_KEY = 're_e2e_scheduled_key_0001';
const start = () => startLocalMode({ dataDir, apiKey: API_KEY, domain: 'e2e.test', extraEnv: { SESAME_LOCAL_SCHEDULER_MINUTE_MS: '3000' } });
let local: RunningLocal | undefined;
afterAll(() => local?.stop());

/** The local SES mailbox's emails, by the Sesame email id they carry. */
async function mailboxByEmail(running: RunningLocal): Promise<Map<string, { messageId: string }[]>> {
  const mailbox = (await (await fetch(`http://127.0.0.1:${running.env.SESAME_SES_PORT}/store`)).json()) as {
    emails: { messageId: string; request: { EmailTags?: { Name: string; Value: string }[] } }[];
  };
  const byEmail = new Map<string, { messageId: string }[]>();
  for (const email of mailbox.emails) {
    const tag = email.request.EmailTags?.find((t) => t.Name === TAG_EMAIL_ID)?.Value;
    const id = (tag !== undefined ? parseEmailTag(tag)?.emailId : undefined) ?? '(untagged)';
    byEmail.set(id, [...(byEmail.get(id) ?? []), email]);
  }
  return byEmail;
}

async function sendsPerEmail(running: RunningLocal): Promise<Map<string, number>> {
  return new Map([...(await mailboxByEmail(running))].map(([id, emails]) => [id, emails.length]));
}

const fetchBytes = async (url: string) => Buffer.from(await (await fetch(url)).arrayBuffer());

it('schedules, reschedules and cancels with the SDK; what was due while local mode was down is sent once after the restart', async () => {
  local = await start();
  let resend = sdkFor(local, API_KEY);
  const email = { from: 'E2E <hello@e2e.test>', to: ['delivered@resend.dev'], subject: 'Later', text: 'Later' };

  const natural = await resend.emails.send({ ...email, scheduledAt: 'in 1 min' });
  expect(natural.error).toBeNull();
  const iso = await resend.emails.send({ ...email, scheduledAt: new Date(Date.now() + 5 * 86_400_000).toISOString() });
  expect(iso.error).toBeNull();
  const canceled = await resend.emails.send({ ...email, scheduledAt: 'tomorrow at 9am' });
  expect(canceled.error).toBeNull();
  // With an attachment: its bytes wait in the content bucket (the local S3 stand-in) for the due time.
  const report = Buffer.from('%PDF-1.4 quarterly report\n\u0000\u00ff', 'latin1');
  const withFile = await resend.emails.send({ ...email, scheduledAt: 'in 1 min', attachments: [{ filename: 'report.pdf', content: report }] });
  expect(withFile.error).toBeNull();
  const [a, b, c, d] = [natural.data!.id, iso.data!.id, canceled.data!.id, withFile.data!.id];
  const waiting = await resend.emails.attachments.list({ emailId: d });
  expect(waiting.error).toBeNull();
  expect(waiting.data!.data).toEqual([expect.objectContaining({ filename: 'report.pdf', size: report.length, content_type: 'application/pdf' })]);
  expect((await fetchBytes(waiting.data!.data[0]!.download_url)).equals(report)).toBe(true);

  const got = await resend.emails.get(a);
  expect(got.data).toMatchObject({ id: a, last_event: 'scheduled' });
  expect(Date.parse(got.data!.scheduled_at!) % 60_000).toBe(0);
  expect(Date.parse(got.data!.scheduled_at!) - Date.now()).toBeGreaterThan(55_000);

  // Reschedule the ISO one to within the next two minutes; cancel the third.
  const updated = await resend.emails.update({ id: b, scheduledAt: new Date(Date.now() + 60_000).toISOString() });
  expect(updated.error).toBeNull();
  expect(updated.data).toMatchObject({ object: 'email', id: b });
  const cancel = await resend.emails.cancel(c);
  expect(cancel.error).toBeNull();
  expect((await resend.emails.get(c)).data!.last_event).toBe('canceled');
  const again = await resend.emails.cancel(c);
  expect(again.error).toMatchObject({ statusCode: 422 });
  expect((await sendsPerEmail(local)).size).toBe(0);

  // Killed before anything is due; both fall due while it is down.
  await local.kill();
  await new Promise((r) => setTimeout(r, 6_500));
  local = await start();
  resend = sdkFor(local, API_KEY); // on the new ports

  const deadline = Date.now() + 30_000;
  let events: string[] = [];
  while (Date.now() < deadline) {
    events = await Promise.all([a, b, c, d].map(async (id) => (await resend.emails.get(id)).data!.last_event));
    if ([events[0], events[1], events[3]].every((e) => ['sent', 'delivered'].includes(e!))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(['sent', 'delivered']).toContain(events[0]);
  expect(['sent', 'delivered']).toContain(events[1]);
  expect(events[2]).toBe('canceled');
  expect(['sent', 'delivered']).toContain(events[3]);
  expect(Object.fromEntries(await sendsPerEmail(local))).toEqual({ [a]: 1, [b]: 1, [d]: 1 });
  // The SES mailbox got the attachment's bytes; the listing still answers after the send.
  const [delivered] = (await mailboxByEmail(local)).get(d)!;
  expect((await fetchBytes(`http://127.0.0.1:${local.env.SESAME_SES_PORT}/messages/${encodeURIComponent(delivered!.messageId)}/attachments/0`)).equals(report)).toBe(true);
  const after = await resend.emails.attachments.list({ emailId: d });
  expect(after.data!.data.map((x) => x.filename)).toEqual(['report.pdf']);
  expect((await fetchBytes(after.data!.data[0]!.download_url)).equals(report)).toBe(true);
  const late = await resend.emails.update({ id: a, scheduledAt: 'in 1 hour' });
  expect(late.error).toMatchObject({ statusCode: 422 });
});
