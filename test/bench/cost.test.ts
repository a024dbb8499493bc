/**
 * The benchmark's pricing arithmetic (bench/cost.ts, bench/model.ts, bench/prices.ts). Pure code:
 * the benchmark itself never runs in `npm test`.
 */
import { chunks64k, gbSeconds, invocationMs, itemBytes, priceUsages, readUnits, writeUnits } from '../../bench/cost';
import { ASSUMPTIONS, type CountedLife, featureUsages, floorCounterWrites, floorLife, type InboundLife, inboundLifeUsages, invocationDurations, ioMs, isStorage, lifeUsages, type MeasuredCompute, MEMORY_MB, receivedChunks, scheduledExtraUsages } from '../../bench/model';
import { PRICES, READ_ON, unitPrice } from '../../bench/prices';

describe('billing units', () => {
  it('bills DynamoDB writes per started KB and reads per started 4 KB, half for eventually consistent', () => {
    expect([writeUnits(0), writeUnits(1), writeUnits(1024), writeUnits(1025), writeUnits(3000)]).toEqual([1, 1, 1, 2, 3]);
    expect([readUnits(100, true), readUnits(100, false), readUnits(4097, true), readUnits(4097, false)]).toEqual([1, 0.5, 2, 1]);
  });

  it('bills SQS and SNS payloads per started 64 KB', () => {
    expect([chunks64k(0), chunks64k(65_536), chunks64k(65_537), chunks64k(256 * 1024)]).toEqual([1, 1, 2, 4]);
  });

  it('bills Lambda by memory times duration rounded up to the millisecond', () => {
    expect(gbSeconds(1024, 1000)).toBeCloseTo(1);
    expect(gbSeconds(512, 10.2)).toBeCloseTo(0.5 * 0.011);
  });

  it('stretches CPU time below one full vCPU (1,769 MB) and adds I/O', () => {
    expect(invocationMs(1, 1769, 0)).toBeCloseTo(1);
    expect(invocationMs(1, 256, 10)).toBeCloseTo(1769 / 256 + 10);
    expect(invocationMs(1, 4096, 0)).toBeCloseTo(1);
  });
});

describe('item size', () => {
  it('counts names and values as DynamoDB does', () => {
    expect(itemBytes({ pk: 'E#1', sk: 'META' })).toBe(2 + 3 + 2 + 4);
    expect(itemBytes({ n: 12345 })).toBe(1 + 3 + 1); // five significant digits: three bytes, plus one
    expect(itemBytes({ ok: true, none: null })).toBe(2 + 1 + 4 + 1);
    expect(itemBytes({ body: new Uint8Array(10) })).toBe(4 + 10);
    expect(itemBytes({ to: ['ab', 'c'] })).toBe(2 + 3 + (1 + 2) + (1 + 1));
    expect(itemBytes({ m: { a: 'xy' } })).toBe(1 + 3 + (1 + 1 + 2));
    expect(itemBytes({ skipped: undefined })).toBe(0);
  });
});

describe('prices', () => {
  it('names a source for every price and the day they were read', () => {
    expect(READ_ON).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const price of Object.values(PRICES)) {
      expect(price.source).toMatch(/^https:\/\//);
      expect(price.usd).toBeGreaterThanOrEqual(0);
      expect(price.per).toBeGreaterThan(0);
    }
    expect(unitPrice('sesEmail')).toBeCloseTo(0.0001);
  });

  it('prices usages per email and per million, and as a share of SES', () => {
    const summary = priceUsages([
      { item: 'writes', price: 'dynamoWriteUnit', quantity: 8, basis: 'counted' },
      { item: 'api', price: 'apiGatewayHttpRequest', quantity: 1, basis: 'modelled' },
    ]);
    expect(summary.lines.map((l) => l.usdPerMillion)).toEqual([8 * 0.625, 1]);
    expect(summary.usdPerMillion).toBeCloseTo(6);
    expect(summary.percentOfSes).toBeCloseTo(6); // SES is $100 per million
  });

  it('refuses a negative or missing quantity', () => {
    expect(() => priceUsages([{ item: 'x', price: 'sqsRequest', quantity: -1, basis: 'counted' }])).toThrow('non-negative');
    expect(() => priceUsages([{ item: 'x', price: 'sqsRequest', quantity: Number.NaN, basis: 'counted' }])).toThrow('non-negative');
  });
});

describe('one email\'s life as usage', () => {
  const life: CountedLife = {
    awsRequests: { 'dynamodb:PutItem': 6 },
    dynamodbWriteUnits: 14,
    dynamodbIndexWriteUnits: 3,
    dynamodbReadUnits: 6,
    dynamodbStoredBytes: 6000,
    sqsBilledRequests: 2,
    sesEvents: 2,
    webhooks: 2,
    logBytes: 1000,
    sesEventBytes: 1500,
  };
  const compute: MeasuredCompute = {
    cpuUs: { send: 2000, ingest: 2000, deliver: 2000 },
    requests: {
      send: { 'dynamodb:GetItem': 1, 'dynamodb:PutItem': 2, 'dynamodb:UpdateItem': 1, 'sesv2:SendEmail': 1 },
      ingest: { 'dynamodb:GetItem': 1, 'dynamodb:UpdateItem': 3, 'sqs:SendMessageBatch': 1 },
      deliver: { 'dynamodb:GetItem': 2 },
    },
    initMs: { send: 70, ingest: 70, deliver: 70 },
  };
  const byItem = (usages: ReturnType<typeof lifeUsages>) => Object.fromEntries(usages.map((u) => [u.item, u.quantity]));

  it('waits on AWS at the assumed latencies', () => {
    expect(ioMs(compute.requests.send)).toBe(4 * ASSUMPTIONS.dynamodbCallMs + ASSUMPTIONS.sesSendEmailMs);
    expect(ioMs(compute.requests.ingest)).toBe(4 * ASSUMPTIONS.dynamodbCallMs + ASSUMPTIONS.sqsCallMs);
    const d = invocationDurations(compute);
    expect(d.deliver).toBeCloseTo(2 * (1769 / MEMORY_MB.deliver) + 2 * ASSUMPTIONS.dynamodbCallMs + ASSUMPTIONS.webhookEndpointMs);
  });

  it('derives what middleware cannot see from what was counted', () => {
    const q = byItem(lifeUsages(life, compute));
    expect(q['API Gateway HTTP API request (POST /emails)']).toBe(1);
    expect(q['Lambda invocations']).toBe(1 + 2 + 2);
    expect(q['SNS publishes (SES event destination)']).toBe(2);
    expect(q['SQS requests (event source mapping: receive + delete)']).toBe(4);
    expect(q['DynamoDB write request units (table)']).toBe(14);
    expect(q['DynamoDB write request units (index entries)']).toBe(3);
    expect(q['CloudWatch Logs ingestion']).toBeCloseTo((1000 + 5 * ASSUMPTIONS.platformLogBytesPerInvocation) / 1024 ** 3);
    expect(q['Secrets Manager GetSecretValue']).toBeCloseTo(ASSUMPTIONS.coldStartShare * 2);
  });

  it('fills batches of webhook messages when told the queue is busy', () => {
    const q = byItem(lifeUsages(life, compute, { ...ASSUMPTIONS, messagesPerDeliverBatch: 2 }));
    expect(q['Lambda invocations']).toBe(1 + 2 + 1);
    expect(q['SQS requests (event source mapping: receive + delete)']).toBe(2);
  });

  it('prices an attachment\'s PUT to the content bucket and its bytes for the retention, in the floor too', () => {
    const withFile: CountedLife = { ...life, awsRequests: { ...life.awsRequests, 's3:PutObject': 1 }, s3StoredBytes: 100 * 1024 };
    const usages = lifeUsages(withFile, compute);
    const q = byItem(usages);
    expect(q['S3 PUT requests (attachments, content bucket)']).toBe(1);
    expect(q['S3 storage (30 days)']).toBeCloseTo((100 * 1024 / 1024 ** 3) * (30 / (365.25 / 12)));
    expect(usages.filter(isStorage).map((u) => u.price)).toContain('s3StorageGbMonth');
    // $0.005 per 1,000 PUTs: $5 per million emails with one attachment.
    expect(priceUsages(usages.filter((u) => u.price === 's3PutRequest')).usdPerMillion).toBeCloseTo(5);
    const floor = floorLife(withFile, { items: [{ key: 'E#/META', bytes: 1500 }] });
    expect(floor).toMatchObject({ awsRequests: { 's3:PutObject': 1 }, s3StoredBytes: 100 * 1024 });
    expect(byItem(lifeUsages(life, compute))['S3 PUT requests (attachments, content bucket)']).toBeUndefined();
  });

  it('keeps storage for the retention, apart from the per-request lines', () => {
    const usages = lifeUsages(life, compute);
    const storage = usages.filter(isStorage);
    expect(storage.map((u) => u.price).sort()).toEqual(['dynamoPitrGbMonth', 'dynamoStorageGbMonth']);
    expect(storage[0]!.quantity).toBeCloseTo((6000 / 1024 ** 3) * (30 / (365.25 / 12)));
  });

  it('prices the floor: one write per email, event and webhook, nothing read or logged, the email stored once', () => {
    const floor = floorLife(life, { items: [{ key: 'E#/META', bytes: 1500 }, { key: 'E#/STATUS', bytes: 600 }, { key: 'WD#/DELIVERY', bytes: 400 }] });
    expect(floor).toMatchObject({ dynamodbWriteUnits: 2 + 2 + 2, dynamodbIndexWriteUnits: 0, dynamodbReadUnits: 0, logBytes: 0, sqsBilledRequests: 2, sesEvents: 2, webhooks: 2 });
    expect(floor.dynamodbStoredBytes).toBe(1600 + 4 * 200);
    expect(priceUsages(lifeUsages(floor, compute)).usdPerMillion).toBeLessThan(priceUsages(lifeUsages(life, compute)).usdPerMillion);
  });

  it('adds the request log and the counters to the floor at their own floor, and prices them apart', () => {
    const features = { request_log_write_units: 1, request_log_stored_bytes: 210, counter_write_units: 1 };
    const items = [{ key: 'E#/META', bytes: 1500 }];
    const floor = floorLife(life, { items, features });
    // One write per API request for its log; one counter write per SES event but the Send (2 events: 1).
    expect(floor.dynamodbWriteUnits).toBe(2 + 2 + 2 + 1 + 1);
    expect(floor.dynamodbStoredBytes).toBe(floorLife(life, { items }).dynamodbStoredBytes + 210);
    expect(floorCounterWrites(2)).toBe(1);
    expect(floorCounterWrites(4)).toBe(3);
    const { requestLog, counters } = featureUsages(features);
    expect(priceUsages(counters).usdPerMillion).toBeCloseTo(0.625);
    expect(priceUsages(requestLog).usdPerMillion).toBeGreaterThan(0.625);
    expect(priceUsages(requestLog).usdPerMillion).toBeLessThan(0.75);
  });
});

describe('a scheduled email', () => {
  const compute: MeasuredCompute = {
    cpuUs: { send: 2000, ingest: 2000, deliver: 2000 },
    requests: { send: {}, ingest: {}, deliver: {} },
    initMs: { send: 70, ingest: 70, deliver: 70 },
  };

  it('adds one schedule invocation ($1 a million), three dispatch-queue requests, one dispatch invocation and its claim', () => {
    const usages = scheduledExtraUsages(compute);
    const byPrice = (key: string) => usages.filter((u) => u.price === key).reduce((n, u) => n + u.quantity, 0);
    expect(byPrice('schedulerInvocation')).toBe(1);
    expect(byPrice('sqsRequest')).toBe(3);
    expect(byPrice('lambdaRequest')).toBe(1);
    expect(byPrice('lambdaArmGbSecond')).toBeGreaterThan(0);
    const summary = priceUsages(usages);
    // $1 (schedule) + $1.20 (SQS) + $0.20 (invocation) + compute + the claim: a few dollars a million.
    expect(summary.usdPerMillion).toBeGreaterThan(2.4);
    expect(summary.usdPerMillion).toBeLessThan(5);
    expect(summary.lines.find((l) => l.price === 'schedulerInvocation')!.usdPerMillion).toBeCloseTo(1);
  });
});

describe('a received email', () => {
  const compute: MeasuredCompute = {
    cpuUs: { send: 2000, ingest: 2000, deliver: 2000 },
    requests: { send: {}, ingest: {}, deliver: {} },
    initMs: { send: 70, ingest: 70, deliver: 70 },
  };
  const life: InboundLife = {
    awsRequests: { 'dynamodb:GetItem': 2, 'dynamodb:PutItem': 1, 'dynamodb:UpdateItem': 1, 's3:GetObject': 1, 's3:PutObject': 2, 'sqs:SendMessageBatch': 1 },
    dynamodbWriteUnits: 3, dynamodbIndexWriteUnits: 1, dynamodbReadUnits: 2, dynamodbStoredBytes: 2000, sqsBilledRequests: 1,
    s3StoredBytes: 100_000, sesEvents: 0, webhooks: 1, logBytes: 1500, sesEventBytes: 0, rawBytes: 600 * 1024, inboundCpuUs: 15_000,
  };

  it('bills SES receiving per email and per started 256 KB chunk', () => {
    expect([receivedChunks(1), receivedChunks(256 * 1024), receivedChunks(256 * 1024 + 1)]).toEqual([1, 1, 2]);
    const lines = priceUsages(inboundLifeUsages(life, compute)).lines;
    expect(lines.find((l) => l.price === 'sesReceivedEmail')!.usdPerMillion).toBeCloseTo(100);
    expect(lines.find((l) => l.price === 'sesReceivedChunk')).toMatchObject({ quantity: 3 });
    expect(lines.find((l) => l.price === 'sesReceivedChunk')!.usdPerMillion).toBeCloseTo(270);
  });

  it('counts the receipt rule\'s PUT of the raw message beside the inbound function\'s own GET and PUTs, and stores raw and content 30 days', () => {
    const usages = inboundLifeUsages(life, compute);
    const puts = usages.filter((u) => u.price === 's3PutRequest').reduce((n, u) => n + u.quantity, 0);
    expect(puts).toBe(1 + 2);
    expect(usages.find((u) => u.price === 's3GetRequest')!.quantity).toBe(1);
    const stored = usages.find((u) => u.price === 's3StorageGbMonth')!;
    expect(stored.quantity).toBeCloseTo(((600 * 1024 + 100_000) / 1024 ** 3) * (30 / (365.25 / 12)));
    // One inbound invocation at 1,024 MB: 15 ms of CPU (a full vCPU share is 1,769 MB) plus I/O.
    expect(usages.find((u) => u.price === 'lambdaRequest')!.quantity).toBe(2);
    expect(MEMORY_MB.inbound).toBe(1024);
  });
});
