/**
 * The local EventBridge Scheduler stand-in, through the real @aws-sdk/client-scheduler: the calls
 * Sesame makes, their errors, firing into the local SQS, and the crash rules (schedules kept in the
 * data folder; one due while stopped fires at the next start).
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateScheduleCommand, DeleteScheduleCommand, GetScheduleCommand, SchedulerClient, UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { startScheduler, type LocalScheduler } from '../../lambdas/local/scheduler';
import { SchedulerSchedules } from '../../lambdas/core/adapters/schedules';
import { parseDispatchMessage } from '../../lambdas/core/domain/schedule';
import { localClientConfig, startTestSqs, type TestSqs } from '../support/services';

const GROUP = 'sesame-test';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:dispatch';
const ROLE_ARN = 'arn:aws:iam::000000000000:role/scheduler';

let sqs: TestSqs;
let queueUrl: string;
beforeAll(async () => {
  sqs = await startTestSqs();
  queueUrl = (await sqs.freshQueue()).url;
});
afterAll(() => sqs.close());

const toQueue = async (_arn: string, input: string) => {
  await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: input }));
};

async function receiveAll(waitSeconds = 0): Promise<string[]> {
  const res = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
  return (res.Messages ?? []).map((m) => m.Body!);
}

function client(s: LocalScheduler) {
  return new SchedulerClient({ ...localClientConfig(s.endpoint), maxAttempts: 1 });
}

const definition = (name: string, at: string) => ({
  Name: name, GroupName: GROUP, ScheduleExpression: `at(${at})`, ScheduleExpressionTimezone: 'UTC',
  FlexibleTimeWindow: { Mode: 'OFF' as const }, ActionAfterCompletion: 'DELETE' as const,
  Target: { Arn: QUEUE_ARN, RoleArn: ROLE_ARN, Input: JSON.stringify({ name }) },
});

describe('local scheduler: the protocol', () => {
  let scheduler: LocalScheduler;
  let c: SchedulerClient;
  beforeAll(async () => {
    scheduler = await startScheduler({ deliver: toQueue });
    c = client(scheduler);
  });
  afterAll(async () => {
    c.destroy();
    await scheduler.close();
  });

  it('creates, reads, updates and deletes a schedule', async () => {
    const created = await c.send(new CreateScheduleCommand(definition('one', '2099-01-01T00:00:00')));
    expect(created.ScheduleArn).toBe(`arn:aws:scheduler:us-east-1:000000000000:schedule/${GROUP}/one`);
    const got = await c.send(new GetScheduleCommand({ Name: 'one', GroupName: GROUP }));
    expect(got).toMatchObject({ Name: 'one', GroupName: GROUP, ScheduleExpression: 'at(2099-01-01T00:00:00)', ActionAfterCompletion: 'DELETE', FlexibleTimeWindow: { Mode: 'OFF' } });
    expect(got.Target).toEqual({ Arn: QUEUE_ARN, RoleArn: ROLE_ARN, Input: '{"name":"one"}' });
    expect(got.CreationDate).toBeInstanceOf(Date);
    await c.send(new UpdateScheduleCommand(definition('one', '2099-02-01T00:00:00')));
    expect((await c.send(new GetScheduleCommand({ Name: 'one', GroupName: GROUP }))).ScheduleExpression).toBe('at(2099-02-01T00:00:00)');
    await c.send(new DeleteScheduleCommand({ Name: 'one', GroupName: GROUP }));
    await expect(c.send(new GetScheduleCommand({ Name: 'one', GroupName: GROUP }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it("answers the service's errors: a second create, an update or delete of nothing, an expression it does not run", async () => {
    await c.send(new CreateScheduleCommand(definition('twice', '2099-01-01T00:00:00')));
    await expect(c.send(new CreateScheduleCommand(definition('twice', '2099-01-01T00:00:00')))).rejects.toMatchObject({ name: 'ConflictException', $metadata: { httpStatusCode: 409 } });
    await expect(c.send(new UpdateScheduleCommand(definition('nothing', '2099-01-01T00:00:00')))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(c.send(new DeleteScheduleCommand({ Name: 'nothing', GroupName: GROUP }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(c.send(new CreateScheduleCommand({ ...definition('rate', '2099-01-01T00:00:00'), ScheduleExpression: 'rate(1 minute)' }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('fires a due schedule into its target once, then deletes it', async () => {
    await c.send(new CreateScheduleCommand(definition('due', '2000-01-01T00:00:00')));
    const bodies = await receiveAll(5);
    expect(bodies).toEqual(['{"name":"due"}']);
    await expect(c.send(new GetScheduleCommand({ Name: 'due', GroupName: GROUP }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await receiveAll()).toEqual([]);
  });

  it("Sesame's adapter: create is idempotent, update of a fired schedule says gone, remove of nothing is fine", async () => {
    const schedules = new SchedulerSchedules(c, { groupName: GROUP, queueArn: QUEUE_ARN, roleArn: ROLE_ARN });
    const due = Date.parse('2099-03-01T10:00:00Z');
    await schedules.create('e1', due);
    await schedules.create('e1', due + 60_000);
    const got = await c.send(new GetScheduleCommand({ Name: 'email-e1', GroupName: GROUP }));
    expect(got.ScheduleExpression).toBe('at(2099-03-01T10:01:00)');
    expect(parseDispatchMessage(got.Target!.Input!)).toEqual({ v: 1, email_id: 'e1', scheduled_at: '2099-03-01T10:01:00.000Z' });
    await schedules.remove('e1');
    await schedules.remove('e1');
    expect(await schedules.update('e1', due)).toBe('gone');
  });
});

describe('local scheduler: the crash rules', () => {
  it('keeps schedules in the data folder; one due while stopped fires at the next start, once', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sesame-scheduler-'));
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const first = await startScheduler({ dataDir: dir, deliver: toQueue, now: () => clock });
    const c1 = client(first);
    await c1.send(new CreateScheduleCommand(definition('later', '2030-01-01T00:05:00')));
    await c1.send(new CreateScheduleCommand(definition('much-later', '2030-02-01T00:00:00')));
    c1.destroy();
    await first.close();
    expect(readdirSync(path.join(dir, GROUP)).sort()).toEqual(['later.json', 'much-later.json']);

    clock = Date.parse('2030-01-01T00:10:00Z'); // stopped past the first one's time
    const second = await startScheduler({ dataDir: dir, deliver: toQueue, now: () => clock });
    expect(await receiveAll(5)).toEqual(['{"name":"later"}']);
    await new Promise((r) => setTimeout(r, 200));
    expect(second.pending().map((s) => s.Name)).toEqual(['much-later']);
    expect(readdirSync(path.join(dir, GROUP))).toEqual(['much-later.json']);
    await second.close();

    const third = await startScheduler({ dataDir: dir, deliver: toQueue, now: () => clock });
    await new Promise((r) => setTimeout(r, 200));
    expect(await receiveAll()).toEqual([]);
    expect(third.pending().map((s) => s.Name)).toEqual(['much-later']);
    await third.close();
  });

  it('tries a delivery that fails again, and keeps the schedule until it succeeds', async () => {
    let fail = true;
    const delivered: string[] = [];
    const s = await startScheduler({
      deliver: async (_arn, input) => {
        if (fail) { fail = false; throw new Error('queue down'); }
        delivered.push(input);
      },
      onError: () => undefined,
    });
    const c = client(s);
    await c.send(new CreateScheduleCommand(definition('retry', '2000-01-01T00:00:00')));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(delivered).toEqual(['{"name":"retry"}']);
    expect(s.pending()).toEqual([]);
    c.destroy();
    await s.close();
  });

  it('with minuteMs, a minute of waiting passes faster; the schedule keeps its time', async () => {
    const s = await startScheduler({ deliver: toQueue, minuteMs: 200 });
    const c = client(s);
    const at = new Date(Math.ceil((Date.now() + 60_000) / 60_000) * 60_000).toISOString().slice(0, 19);
    const started = Date.now();
    await c.send(new CreateScheduleCommand(definition('fast', at)));
    expect(await receiveAll(5)).toEqual(['{"name":"fast"}']);
    expect(Date.now() - started).toBeLessThan(5_000);
    c.destroy();
    await s.close();
  });
});
