/** domain/schedule.ts: reading `scheduled_at`, the due minute, the schedule's expression and message. */
import fc from 'fast-check';
import {
  MAX_SCHEDULE_AHEAD_DAYS, atExpression, atInstant, parseDispatchMessage, parseScheduledAt, readInstant, roundUpToMinute,
} from '../../lambdas/core/domain/schedule';
import { HttpError } from '../../lambdas/core/errors';
import { readDispatchConfig, readSendConfig } from '../../lambdas/core/config';

const NOW = Date.parse('2030-06-01T12:00:30Z'); // a Saturday

describe('readInstant', () => {
  it.each([
    ['2030-06-02T09:00:00Z', '2030-06-02T09:00:00.000Z'],
    ['2030-06-02T09:00:00', '2030-06-02T09:00:00.000Z'],
    ['2030-06-02T09:00:00+02:00', '2030-06-02T07:00:00.000Z'],
    ['2030-06-02', '2030-06-02T00:00:00.000Z'],
    ['in 1 min', '2030-06-01T12:01:30.000Z'],
    ['in 2 hours', '2030-06-01T14:00:30.000Z'],
    ['tomorrow at 9am', '2030-06-02T09:00:00.000Z'],
    ['Friday at 3pm ET', '2030-06-07T19:00:00.000Z'],
    ['tomorrow at 9am PST', '2030-06-02T17:00:00.000Z'],
  ])('reads %s', (text, iso) => {
    expect(new Date(readInstant(text, NOW)!).toISOString()).toBe(iso);
  });

  it.each(['', 'whenever', 'please send it in 1 min thanks', '2030-13-45T00:00:00Z'])('refuses %j', (text) => {
    expect(readInstant(text, NOW)).toBeUndefined();
  });
});

describe('parseScheduledAt', () => {
  it('sends now a time in the past or now', () => {
    expect(parseScheduledAt('2030-06-01T12:00:00Z', NOW)).toEqual({ kind: 'now' });
    expect(parseScheduledAt('now', NOW)).toEqual({ kind: 'now' });
  });

  it('rounds up to the next whole minute, never earlier than asked', () => {
    expect(parseScheduledAt('in 1 min', NOW)).toEqual({ kind: 'at', dueMs: Date.parse('2030-06-01T12:02:00Z') });
    expect(parseScheduledAt('2030-06-01T13:00:00Z', NOW)).toEqual({ kind: 'at', dueMs: Date.parse('2030-06-01T13:00:00Z') });
    fc.assert(fc.property(fc.integer({ min: 1, max: MAX_SCHEDULE_AHEAD_DAYS * 86_400_000 }), (ahead) => {
      const t = parseScheduledAt(new Date(NOW + ahead).toISOString(), NOW);
      return t.kind === 'at' && t.dueMs >= NOW + ahead && t.dueMs - (NOW + ahead) < 60_000 && t.dueMs % 60_000 === 0;
    }));
  });

  it(`refuses more than ${MAX_SCHEDULE_AHEAD_DAYS} days ahead, and text that is no time, with 422`, () => {
    expect(parseScheduledAt(`in ${MAX_SCHEDULE_AHEAD_DAYS} days`, NOW).kind).toBe('at');
    for (const [text, name] of [['in 31 days', 'validation_error'], ['whenever', 'invalid_parameter']] as const) {
      try {
        parseScheduledAt(text, NOW);
        throw new Error('accepted');
      } catch (error) {
        expect(error).toBeInstanceOf(HttpError);
        expect(error).toMatchObject({ statusCode: 422, errorName: name });
      }
    }
  });
});

describe('the schedule', () => {
  it('writes and reads at() in UTC', () => {
    expect(atExpression(Date.parse('2030-06-02T09:01:00Z'))).toBe('at(2030-06-02T09:01:00)');
    expect(atInstant('at(2030-06-02T09:01:00)')).toBe(Date.parse('2030-06-02T09:01:00Z'));
    expect(atInstant('rate(1 minute)')).toBeUndefined();
    expect(roundUpToMinute(Date.parse('2030-06-02T09:01:00Z'))).toBe(Date.parse('2030-06-02T09:01:00Z'));
  });

  it('parses a dispatch message, and refuses one without its email or time', () => {
    expect(parseDispatchMessage('{"v":1,"email_id":"e","scheduled_at":"2030-06-02T09:01:00.000Z"}')).toEqual({ v: 1, email_id: 'e', scheduled_at: '2030-06-02T09:01:00.000Z' });
    expect(() => parseDispatchMessage('{"v":1,"scheduled_at":"2030-06-02T09:01:00.000Z"}')).toThrow(/email_id/);
    expect(() => parseDispatchMessage('{"v":1,"email_id":"e"}')).toThrow(/scheduled_at/);
    expect(() => parseDispatchMessage('null')).toThrow(/v1/);
  });
});

describe('the send function reads where schedules go', () => {
  const env = {
    SESAME_TABLE_NAME: 't', AWS_REGION: 'us-east-1', SESAME_CONFIGURATION_SET: 'sesame', SESAME_WEBHOOK_QUEUE_URL: 'http://127.0.0.1/000000000000/w',
    SESAME_SCHEDULE_GROUP: 'g', SESAME_DISPATCH_QUEUE_ARN: 'arn:aws:sqs:us-east-1:000000000000:d', SESAME_SCHEDULER_ROLE_ARN: 'arn:aws:iam::000000000000:role/r',
    SESAME_CONTENT_BUCKET: 'content', SESAME_STACK_NAME: 'sesame',
  };

  it('from SESAME_SCHEDULE_GROUP, SESAME_DISPATCH_QUEUE_ARN and SESAME_SCHEDULER_ROLE_ARN, naming a missing or wrong one', () => {
    expect(readSendConfig(env).scheduler).toEqual({ groupName: 'g', queueArn: 'arn:aws:sqs:us-east-1:000000000000:d', roleArn: 'arn:aws:iam::000000000000:role/r' });
    expect(() => readSendConfig({ ...env, SESAME_SCHEDULE_GROUP: '' })).toThrow(/SESAME_SCHEDULE_GROUP/);
    expect(() => readSendConfig({ ...env, SESAME_DISPATCH_QUEUE_ARN: 'https://sqs/queue' })).toThrow(/SESAME_DISPATCH_QUEUE_ARN/);
  });

  it('dispatch sends as the SES tenant named after SESAME_STACK_NAME, as send does, and names it when it is missing', () => {
    expect(readDispatchConfig(env).sesTenantPrefix).toBe('sesame');
    expect(() => readDispatchConfig({ ...env, SESAME_STACK_NAME: '' })).toThrow(/SESAME_STACK_NAME/);
  });

  it('dispatch reads scheduled attachments from SESAME_CONTENT_BUCKET, and names it when it is missing', () => {
    expect(readDispatchConfig(env).contentBucket).toBe('content');
    expect(() => readDispatchConfig({ ...env, SESAME_CONTENT_BUCKET: '' })).toThrow(/SESAME_CONTENT_BUCKET/);
  });
});
