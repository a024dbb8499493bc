/**
 * The content-derived id of an SES event: the same event has the same id by any path. A module of
 * its own, apart from the event schemas (ses-events.ts), for the send path, which names the Send
 * event it records without parsing SES's messages.
 */
import { derivedId } from './ids';
import type { SesEventType } from './ses-events';

/** The content-derived event id (a UUID-shaped string). */
export function sesEventId(sesMessageId: string, sesType: SesEventType, discriminators: readonly string[]): string {
  return derivedId('ses-event', sesMessageId, sesType, ...discriminators);
}
