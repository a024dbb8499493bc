import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetEmailIdentityCommand, CreateEmailIdentityCommand, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { startTestSes, type TestSes } from '../support/services';

/** A GET with a chosen Host header (fetch does not let a caller set it). */
function get(endpoint: string, pathname: string, host?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(pathname, endpoint);
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local SES mailbox', () => {
  let ses: TestSes;

  beforeAll(async () => {
    ses = await startTestSes();
    await ses.seedIdentity('example.com', { verified: true });
  });

  afterAll(async () => {
    await ses.close();
  });

  it('lists sent emails newest first and escapes their content, on the list and on the message page', async () => {
    // Prepare
    const send = (subject: string, html: string) =>
      ses.client.send(
        new SendEmailCommand({
          FromEmailAddress: '"Eve <script>" <eve@example.com>',
          Destination: { ToAddresses: ['someone@example.net'] },
          Content: { Simple: { Subject: { Data: subject }, Body: { Html: { Data: html }, Text: { Data: 'plain <b>text</b>' } } } },
          EmailTags: [{ Name: 'campaign', Value: 'x_1' }],
        }),
      );
    await send('older', '<p>old</p>');
    const { MessageId } = await send('<script>alert(1)</script>', '<img src=x onerror="alert(2)"><p>hi</p>');

    // Act
    const list = await get(ses.endpoint, '/');
    const message = await get(ses.endpoint, `/messages/${MessageId}`);

    // Assess
    expect(list.status).toBe(200);
    expect(list.headers['content-security-policy']).toContain("default-src 'none'");
    expect(list.body.indexOf('&lt;script&gt;alert(1)&lt;/script&gt;')).toBeLessThan(list.body.indexOf('older'));
    expect(list.body).toContain('campaign=x_1');
    expect(list.body).toContain(`href="/messages/${MessageId}"`);
    expect(list.body).not.toMatch(/<script/i);
    expect(message.status).toBe(200);
    expect(message.body).not.toMatch(/<script|<img|<b>/i);
    expect(message.body).toContain('plain &lt;b&gt;text&lt;/b&gt;');
    expect(message.body).toContain('<iframe sandbox=""');
    expect(message.body).toContain('srcdoc="&lt;img src=x onerror=&quot;alert(2)&quot;&gt;&lt;p&gt;hi&lt;/p&gt;"');
  });

  it('serves the mailbox as JSON at /store', async () => {
    // Prepare
    const { MessageId } = await ses.client.send(
      new SendEmailCommand({
        FromEmailAddress: 'a@example.com',
        Destination: { ToAddresses: ['b@example.net'] },
        Content: { Simple: { Subject: { Data: 'json' }, Body: { Text: { Data: 't' } }, Attachments: [{ FileName: 'a.txt', RawContent: Buffer.from('hi') }] } },
      }),
    );

    // Act
    const store = await get(ses.endpoint, '/store');

    // Assess
    const { emails } = JSON.parse(store.body) as { emails: { messageId: string; request: { Content: { Simple: { Attachments: { RawContent: string }[] } } } }[] };
    const email = emails.find((e) => e.messageId === MessageId);
    expect(email?.request.Content.Simple.Attachments[0]?.RawContent).toBe(Buffer.from('hi').toString('base64'));
  });

  it('refuses a request whose Host is not local (DNS rebinding)', async () => {
    // Act
    const response = await get(ses.endpoint, '/store', 'attacker.example:80');

    // Assess
    expect(response.status).toBe(403);
    expect(response.body).not.toContain('example.net');
  });

  it('answers an unknown page with 404', async () => {
    // Act
    const response = await get(ses.endpoint, '/messages/nope');

    // Assess
    expect(response.status).toBe(404);
  });
});

describe('local SES persistence', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'sesame-ses-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps identities and the mailbox across a restart on the same data folder', async () => {
    // Prepare
    const first = await startTestSes({ dataDir });
    await first.client.send(new CreateEmailIdentityCommand({ EmailIdentity: 'persisted.example.com' }));
    const verified = await first.client.send(new GetEmailIdentityCommand({ EmailIdentity: 'persisted.example.com' }));
    await first.seedIdentity('pending.example.com', { verified: false });
    const { MessageId } = await first.client.send(
      new SendEmailCommand({
        FromEmailAddress: 'a@persisted.example.com',
        Destination: { ToAddresses: ['b@example.net'] },
        Content: { Simple: { Subject: { Data: 'kept' }, Body: { Text: { Data: 't' } }, Attachments: [{ FileName: 'x.bin', RawContent: Buffer.from([1, 2, 3]) }] } },
      }),
    );
    await first.close();

    // Act
    const second = await startTestSes({ dataDir });
    try {
      const identity = await second.client.send(new GetEmailIdentityCommand({ EmailIdentity: 'persisted.example.com' }));
      const sent = second.sent();

      // Assess
      expect(identity.VerifiedForSendingStatus).toBe(true);
      expect(identity.DkimAttributes?.Tokens).toEqual(verified.DkimAttributes?.Tokens);
      expect(second.sent().map((e) => e.messageId)).toEqual([MessageId]);
      expect(sent[0]?.envelope.subject).toBe('kept');
      expect(Buffer.from(sent[0]!.request.Content!.Simple!.Attachments![0]!.RawContent!)).toEqual(Buffer.from([1, 2, 3]));
      const pending = second.client.send(new SendEmailCommand({ FromEmailAddress: 'a@pending.example.com', Destination: { ToAddresses: ['b@example.net'] }, Content: { Simple: { Subject: { Data: 's' }, Body: {} } } }));
      await expect(pending).rejects.toMatchObject({ name: 'MessageRejected' });
      expect((await readdir(dataDir)).sort()).toEqual(['identities.json', 'mailbox']);
    } finally {
      await second.close();
    }
  });
});
