/**
 * Reschedule and cancel: single-item conditional moves of a `scheduled` email, then its schedule.
 * The email record decides (dispatch's claim and these moves race on it, and one wins); the schedule
 * only wakes dispatch up, which sends nothing unless the email is still scheduled for that time.
 */
import type { AuthContext } from '../core/http/auth';
import { HttpError, notFound } from '../core/errors';
import { isId } from '../core/domain/ids';
import { MAX_SCHEDULE_AHEAD_DAYS, parseScheduledAt, roundUpToMinute } from '../core/domain/schedule';
import type { ScheduleMove } from '../core/adapters/emails';
import type { Logger } from '../core/log';
import type { SendDeps } from './core';

export type ScheduleDeps = Pick<SendDeps, 'emails' | 'schedules' | 'now' | 'content'>;

function refuse(move: Exclude<ScheduleMove, { outcome: 'moved' }>, action: string): HttpError {
  if (move.outcome === 'not_found') return notFound('Email');
  if (move.outcome === 'too_late') {
    return new HttpError(422, 'validation_error', `This email cannot be ${action} that late: an email with attachments can be scheduled up to ${MAX_SCHEDULE_AHEAD_DAYS} days after it was created (until ${new Date(move.latestDueMs).toISOString()}).`);
  }
  return new HttpError(422, 'validation_error', `This email cannot be ${action}: it is no longer scheduled (last event: ${move.lastEvent}).`);
}

/**
 * Moves a scheduled email to the time `text` names. A time past or now sends it within the next
 * minute. If its schedule is already gone (it fired and was deleted), it is created again only if
 * the email is still scheduled.
 */
export async function rescheduleEmail(deps: ScheduleDeps, auth: AuthContext, id: string, text: string, log: Logger): Promise<void> {
  if (!isId(id)) throw notFound('Email');
  if (!deps.schedules) throw new HttpError(422, 'validation_error', 'Scheduled sending is not configured on this server.');
  const nowMs = deps.now();
  const time = parseScheduledAt(text, nowMs);
  const dueMs = time.kind === 'at' ? time.dueMs : roundUpToMinute(nowMs + 1_000);
  const move = await deps.emails.reschedule(auth.tenantId, id, new Date(dueMs).toISOString());
  if (move.outcome !== 'moved') throw refuse(move, 'rescheduled');
  if ((await deps.schedules.update(id, dueMs)) === 'gone' && (await deps.emails.isScheduled(id))) {
    await deps.schedules.create(id, dueMs);
  }
  log.info('email rescheduled', { emailId: id, scheduledAt: new Date(dueMs).toISOString() });
}

/**
 * Cancels a scheduled email (`canceled`, its attachments taken off it), then deletes its schedule
 * and its attachments' objects. A schedule left behind (the delete failed) fires into a dispatch
 * that finds the email canceled and sends nothing; objects left behind expire with the content
 * bucket's rule for scheduled content.
 */
export async function cancelEmail(deps: ScheduleDeps, auth: AuthContext, id: string, log: Logger): Promise<void> {
  if (!isId(id)) throw notFound('Email');
  const move = await deps.emails.cancelScheduled(auth.tenantId, id, deps.now());
  if (move.outcome !== 'moved') throw refuse(move, 'canceled');
  await deps.schedules?.remove(id).catch((error) => log.error('could not delete the schedule of a canceled email', { emailId: id, error }));
  if (move.attachments?.length) {
    await deps.content.removeAttachments(auth.tenantId, id, move.attachments.map((a) => a.id), 'scheduled')
      .catch((error) => log.error('could not delete the attachments of a canceled email; they expire with the bucket\'s rule', { emailId: id, error }));
  }
  log.info('email canceled', { emailId: id });
}
