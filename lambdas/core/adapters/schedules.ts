/**
 * One EventBridge Scheduler one-time schedule per scheduled email, in the stack's schedule group:
 * `at()` in UTC, no flexible window, deleted after it fires, named after the email (so creating it
 * again finds the same schedule). Its target is the dispatch queue; the message names the email
 * and the due time it was scheduled for (domain/schedule.ts).
 */
import {
  CreateScheduleCommand,
  type CreateScheduleCommandInput,
  DeleteScheduleCommand,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { atExpression, dispatchMessage, scheduleName } from '../domain/schedule';

export interface SchedulerTarget {
  /** The stack's schedule group (SESAME_SCHEDULE_GROUP). */
  readonly groupName: string;
  /** The dispatch queue's ARN (SESAME_DISPATCH_QUEUE_ARN). */
  readonly queueArn: string;
  /** The role the scheduler assumes to send to the queue (SESAME_SCHEDULER_ROLE_ARN). */
  readonly roleArn: string;
}

export interface EmailSchedules {
  /** Creates the email's schedule; one that already exists is set to this time instead. */
  create(emailId: string, dueMs: number): Promise<void>;
  /** Moves the email's schedule to a new time; `gone` when it no longer exists (it fired). */
  update(emailId: string, dueMs: number): Promise<'updated' | 'gone'>;
  /** Deletes the email's schedule; one already gone is fine. */
  remove(emailId: string): Promise<void>;
}

const errorName = (error: unknown): string | undefined => (error as { name?: string } | undefined)?.name;

export class SchedulerSchedules implements EmailSchedules {
  constructor(
    private readonly client: Pick<SchedulerClient, 'send'>,
    private readonly target: SchedulerTarget,
  ) {}

  private definition(emailId: string, dueMs: number): CreateScheduleCommandInput {
    return {
      Name: scheduleName(emailId),
      GroupName: this.target.groupName,
      ScheduleExpression: atExpression(dueMs),
      ScheduleExpressionTimezone: 'UTC',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ActionAfterCompletion: 'DELETE',
      State: 'ENABLED',
      Target: { Arn: this.target.queueArn, RoleArn: this.target.roleArn, Input: JSON.stringify(dispatchMessage(emailId, dueMs)) },
    };
  }

  async create(emailId: string, dueMs: number): Promise<void> {
    try {
      await this.client.send(new CreateScheduleCommand(this.definition(emailId, dueMs)));
    } catch (error) {
      if (errorName(error) !== 'ConflictException') throw error;
      // A retried request: the schedule exists. Set it to this request's time.
      if ((await this.update(emailId, dueMs)) === 'gone') await this.client.send(new CreateScheduleCommand(this.definition(emailId, dueMs)));
    }
  }

  async update(emailId: string, dueMs: number): Promise<'updated' | 'gone'> {
    try {
      await this.client.send(new UpdateScheduleCommand(this.definition(emailId, dueMs)));
      return 'updated';
    } catch (error) {
      if (errorName(error) === 'ResourceNotFoundException') return 'gone';
      throw error;
    }
  }

  async remove(emailId: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: scheduleName(emailId), GroupName: this.target.groupName }));
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
    }
  }
}
