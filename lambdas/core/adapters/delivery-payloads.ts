/**
 * The body of a delivery, for a replay and for `GET /webhooks/{id}/events/{event_id}`. A delivery
 * item does not keep it (the queued message carries it): it is rebuilt from the email and the
 * event, through the same functions the fan-out used (toAppliedEvent, buildPayload,
 * serializePayload), so it is byte for byte what was sent, under the same delivery id. Deliveries of
 * the earlier layout kept their body, which is used as it is.
 */
import { buildPayload, serializePayload } from '../domain/webhook-payload';
import { toAppliedEvent } from '../../ingest/core';
import type { Delivery } from './deliveries';
import type { EmailStore } from './emails';
import type { EventLog } from './events';

export interface DeliveryPayloads {
  /** The body of a delivery, or undefined when its email or its event is gone. */
  payloadOf(delivery: Delivery): Promise<string | undefined>;
}

export class RebuiltPayloads implements DeliveryPayloads {
  constructor(
    private readonly emails: Pick<EmailStore, 'get'>,
    private readonly events: EventLog,
  ) {}

  async payloadOf(delivery: Delivery): Promise<string | undefined> {
    if (delivery.payload !== undefined) return delivery.payload;
    if (delivery.emailId === undefined) return undefined;
    const [email, log] = await Promise.all([
      this.emails.get(delivery.tenantId, delivery.emailId),
      this.events.list(delivery.tenantId, delivery.emailId),
    ]);
    const event = log?.data.find((e) => e.eventId === delivery.eventId);
    if (!email || !event) return undefined;
    const applied = toAppliedEvent(event, {
      emailId: email.id, tenantId: email.tenantId, from: email.from, to: email.to, cc: email.cc, bcc: email.bcc,
      subject: email.subject, createdAt: email.createdAt, tags: email.tags,
    });
    return serializePayload(buildPayload(applied));
  }
}
