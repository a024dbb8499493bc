/**
 * Domain webhooks (`domain.created`, `domain.updated`, `domain.deleted`) in Resend's shape:
 * `{"type", "created_at", "data": {id, name, status, created_at, region, records}}`. Pure code.
 *
 * An event is built once, when the domain changes, and kept whole (it is small: a few records) in
 * the domain's outbox until it is queued, and on its deliveries for a replay. Its id, and its time,
 * come from what changed, so queuing it again (after a crash, from the outbox) gives the same
 * delivery ids, which the deliver function drops once delivered.
 */
import type { DomainEventType } from './applied-event';
import { type DnsRecord, type DomainStatus, recordsOf, resendDomainStatus } from './dns';
import { derivedId, newId } from './ids';

/** What a domain event says of its domain. */
export interface DomainSnapshot {
  readonly id: string;
  readonly name: string;
  readonly tenantId: string;
  readonly status: DomainStatus;
  readonly createdAt: string;
  readonly region: string;
  readonly records: readonly DnsRecord[];
  /** Receiving on: the records gain the Receiving MX. */
  readonly receiving?: boolean;
}

/** A domain event ready to queue: its id, tenant, type, time and exact body. */
export interface DomainEvent {
  readonly eventId: string;
  readonly tenantId: string;
  readonly type: DomainEventType;
  /** The event's time (ISO 8601): the body's `created_at`. */
  readonly timestamp: string;
  /** The exact bytes every endpoint is sent. */
  readonly payload: string;
}

function body(type: DomainEventType, domain: DomainSnapshot, timestamp: string): string {
  return JSON.stringify({
    type,
    created_at: timestamp,
    data: {
      id: domain.id,
      name: domain.name,
      status: resendDomainStatus(domain.status),
      created_at: domain.createdAt,
      region: domain.region,
      records: recordsOf(domain).map((r) => ({
        record: r.record, name: r.name, value: r.value, type: r.type, ttl: r.ttl, status: r.status, ...(r.priority !== undefined ? { priority: r.priority } : {}),
      })),
    },
  });
}

/** `domain.created`: one per domain, at its creation time. */
export function domainCreated(domain: DomainSnapshot): DomainEvent {
  return { eventId: derivedId('domain.created', domain.id), tenantId: domain.tenantId, type: 'domain.created', timestamp: domain.createdAt, payload: body('domain.created', domain, domain.createdAt) };
}

/** `domain.deleted`: one per domain, at the time its delete began (kept on the item, so a repeated delete reproduces it). */
export function domainDeleted(domain: DomainSnapshot, deletingSince: string): DomainEvent {
  return { eventId: derivedId('domain.deleted', domain.id), tenantId: domain.tenantId, type: 'domain.deleted', timestamp: deletingSince, payload: body('domain.deleted', domain, deletingSince) };
}

/** `domain.updated`: the domain as it is after the change, at `at`. */
export function domainUpdated(domain: DomainSnapshot, at: string): DomainEvent {
  return { eventId: newId(), tenantId: domain.tenantId, type: 'domain.updated', timestamp: at, payload: body('domain.updated', domain, at) };
}

/** Whether SES's answer changes what the domain says: its status, or a record's status. */
export function statusChanged(before: Pick<DomainSnapshot, 'status' | 'records'>, after: Pick<DomainSnapshot, 'status' | 'records'>): boolean {
  if (before.status !== after.status || before.records.length !== after.records.length) return true;
  return before.records.some((r, i) => r.status !== after.records[i]!.status || r.name !== after.records[i]!.name || r.value !== after.records[i]!.value);
}
