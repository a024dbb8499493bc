/**
 * The SES client that sends: one attempt per SendEmail. An answer lost on the way back must not
 * become a second copy, so Sesame decides about retries, not the SDK (its default is 3 attempts).
 * Other SES calls (identities) keep the SDK's retries.
 *
 * A module of its own, apart from the sender (ses.ts): clients.ts builds it for every function
 * that sends, without bringing the sender's mail formatting into the functions that do not.
 */
import { SESv2Client, type SESv2ClientConfig } from '@aws-sdk/client-sesv2';

export function sendingClient(config: SESv2ClientConfig = {}): SESv2Client {
  return new SESv2Client({ ...config, maxAttempts: 1 });
}
