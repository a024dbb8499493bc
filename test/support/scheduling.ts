/**
 * What the scheduled-sending tests (test/scheduled) set up alike: the send handler on its harness
 * (dynalite, the local SES server, the local S3 stand-in) with the local scheduler's schedules,
 * two tenants, and the dispatch function's dependencies on the same services.
 */
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { Handler } from './api';
import { localClientConfig } from './services';
import { TEST_SES_TENANT_PREFIX } from './ses-tenants';
import { quietLog, startSendHarness, type SendHarness } from '../send/harness';
import { startScheduler } from '../../lambdas/local/scheduler';
import { SchedulerSchedules } from '../../lambdas/core/adapters/schedules';
import { createDb } from '../../lambdas/core/adapters/dynamo';
import { EmailStore } from '../../lambdas/core/adapters/emails';
import { EmailStatusStore } from '../../lambdas/core/adapters/email-status';
import { SesSender } from '../../lambdas/core/adapters/ses';
import { ContentStore } from '../../lambdas/core/adapters/content';
import type { AppliedEvent, EventFanOut } from '../../lambdas/core/domain/applied-event';
import type { DispatchDeps } from '../../lambdas/dispatch/core';

/** Where the tests' schedules go (the local scheduler only keeps them: the tests fire them by calling dispatch). */
export const SCHEDULE_TARGET = { groupName: 'sesame-test', queueArn: 'arn:aws:sqs:us-east-1:000000000000:dispatch', roleArn: 'arn:aws:iam::000000000000:role/scheduler' };

export type TestTenant = { tenantId: string; key: string; domain: string };

/** A fan-out that records the events the API originates (what it would queue for webhooks). */
export function recordingFanOut(): EventFanOut & { readonly events: AppliedEvent[] } {
  const events: AppliedEvent[] = [];
  return { events, fanOut: async (e) => { events.push(e); } };
}

export interface Scheduling {
  readonly h: SendHarness;
  readonly schedulerClient: SchedulerClient;
  /** The send routes at the clock `now`, scheduling on the local scheduler, API events to `fanOut`. */
  readonly handler: Handler;
  /** Tenants with a verified domain each: acme.test and other.test. */
  readonly acme: TestTenant;
  readonly other: TestTenant;
  close(): Promise<void>;
}

export async function startScheduling(now: () => number, fanOut: EventFanOut): Promise<Scheduling> {
  const h = await startSendHarness();
  // Nothing fires by itself here: the tests fire schedules by calling dispatch.
  const scheduler = await startScheduler({ deliver: async () => { throw new Error('not in this test'); }, now: () => 0, onError: () => undefined });
  const schedulerClient = new SchedulerClient({ ...localClientConfig(scheduler.endpoint), maxAttempts: 1 });
  const handler = h.handler({ now, schedules: new SchedulerSchedules(schedulerClient, SCHEDULE_TARGET), fanOut });
  return {
    h, schedulerClient, handler,
    acme: await h.tenant('acme'),
    other: await h.tenant('other'),
    async close() {
      schedulerClient.destroy();
      await scheduler.close();
      await h.close();
    },
  };
}

/** A test file's clock: `now` reads it, `set` moves it. */
export interface TestClock {
  readonly now: () => number;
  set(ms: number): void;
}

/**
 * What a test/scheduled file sets up, with the jest hooks registered here: startScheduling once for
 * the file (closed after its tests), and before each test the clock back at `start` and the recorded
 * events cleared. `started` receives the services once they are up.
 */
export function schedulingForFile(start: number, started: (s: Scheduling) => void) {
  const fanOut = recordingFanOut();
  let time = start;
  const clock: TestClock = { now: () => time, set: (ms) => { time = ms; } };
  let close: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    const s = await startScheduling(clock.now, fanOut);
    close = () => s.close();
    started(s);
  });
  afterAll(() => close());
  beforeEach(() => {
    clock.set(start);
    fanOut.events.length = 0;
  });
  return { fanOut, events: fanOut.events, clock };
}

/** Dispatch's dependencies on the same services, at the clock `now`; `delays` records the visibility delays it asks for. */
export function dispatchDepsOn(h: SendHarness, now: () => number, fanOut: EventFanOut, over: Partial<DispatchDeps> = {}): DispatchDeps & { delays: number[] } {
  const delays: number[] = [];
  const db = createDb(h.dynamo.doc, h.table, now);
  return {
    emails: new EmailStore(db, 30), status: new EmailStatusStore(db), retentionDays: 30, domains: h.domains, sender: new SesSender(h.ses.client),
    configurationSet: 'sesame', sesTenantPrefix: TEST_SES_TENANT_PREFIX, now, fanOut, log: quietLog,
    content: new ContentStore(h.s3.client, h.s3.bucket, now),
    visibility: { delay: async (_r, s) => { delays.push(s); } },
    delays, ...over,
  };
}
