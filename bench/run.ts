/**
 * `npm run bench`: every number of the benchmark in one run, each beside the floor no implementation
 * can go below, so that the ratios hold on a noisy machine. Prints a table and writes
 * bench/results.json. Not a test: `npm test` never runs it.
 *
 * 1. Bundles (bench/bundles.ts) and cold start (bench/cold-start.ts), in this process and in fresh
 *    `node` processes.
 * 2. CPU per operation (bench/cpu.ts), in a process of its own: its SDK clients answer in memory.
 * 3. One email's life and the load test in local mode (bench/local-run.ts), in a process of its own.
 * 4. The cost of one email's life (bench/model.ts, bench/cost.ts, bench/prices.ts).
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beyondFloor, buildBundles, FUNCTIONS, type FunctionName, ROOT } from './bundles';
import { measureInit } from './cold-start';
import type { CpuResults } from './cpu';
import type { InboundLifecycleResult, LifecycleResult, LoadResult } from './local-run';
import { priceUsages } from './cost';
import { ASSUMPTIONS, featureUsages, floorCounterWrites, floorLife, inboundLifeUsages, isStorage, lifeUsages, scheduledExtraUsages } from './model';
import { PRICES, READ_ON, REGION } from './prices';

const TARGETS = { bundleRatio: 1.25, initRatio: 1.25, cpuRatio: 1.5, percentOfSes: 7 } as const;
const INIT_ROUNDS = 15;
/** `npm run bench -- --only lifecycle`: everything the cost needs, without the load check (minutes less). */
const LIFECYCLE_ONLY = process.argv.slice(2).join(' ') === '--only lifecycle';
const LOAD_EMAILS = LIFECYCLE_ONLY ? 0 : 2000;

const say = (line = '') => process.stdout.write(line + '\n');
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const kb = (bytes: number) => (bytes / 1024).toFixed(0);
const pad = (s: string | number, w: number) => String(s).padStart(w);
const padEnd = (s: string | number, w: number) => String(s).padEnd(w);
const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED');

/** Runs `tsx <script> <out.json> ...args` in a child process and reads what it wrote. */
function runTsx<T>(script: string, args: string[] = []): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-out-'));
  const out = join(dir, 'out.json');
  return new Promise<T>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(ROOT, script), out, ...args], {
      cwd: ROOT,
      // The handlers log to stdout: discarded here (the local run measures them itself).
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    child.on('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`${script} exited with ${code}`);
        resolve(JSON.parse(readFileSync(out, 'utf8')) as T);
      } catch (error) {
        reject(error);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

type Lambdas = Record<FunctionName, { bundle_bytes: number; floor_bundle_bytes: number; bundle_ratio: number; init_ms: number; floor_init_ms: number; init_ratio: number; init_cpu_ms: number; floor_init_cpu_ms: number; init_cpu_ratio: number; source_maps_init_ms: number; source_maps_init_ratio: number; sdk_external: { bundle_bytes: number; floor_bundle_bytes: number; init_ms: number; floor_init_ms: number; init_ratio: number } }>;

/** `--only bundles,cold-start`: only those parts (cold start needs the bundles); `--analyze`: what each bundle carries beyond its floor. */
const PARTS = ['bundles', 'cold-start'] as const;

function parseArgs(args: readonly string[]): { only?: ReadonlySet<(typeof PARTS)[number]>; analyze: boolean } {
  const at = args.indexOf('--only');
  const analyze = args.includes('--analyze');
  if (at < 0) return { analyze };
  const parts = (args[at + 1] ?? '').split(',').filter(Boolean);
  // `--only lifecycle` is every part but the load check (LIFECYCLE_ONLY).
  if (parts.length === 1 && parts[0] === 'lifecycle') return { analyze };
  const unknown = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (parts.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes ${PARTS.join(', ')} (comma-separated), or lifecycle (all but the load check); the other parts depend on each other (the cost uses the CPU, the local run and the cold start): run them all without --only`);
  }
  return { only: new Set(parts as (typeof PARTS)[number][]), analyze };
}

/** Per function, the origins (packages, Sesame folders) its bundle carries beyond its floor's, largest first. */
function printAnalysis(bundles: Awaited<ReturnType<typeof buildBundles>>): void {
  say('\n== Beyond the floor, by origin (esbuild metafile: bytes in the minified output, handler minus floor; SDK bundled)');
  for (const [name, b] of Object.entries(bundles)) {
    const rows = beyondFloor(b);
    const extra = rows.reduce((sum, [, bytes]) => sum + bytes, 0);
    say(`${name}: ${kb(b.handler.bytes)} KB, floor ${kb(b.floor.bytes)} KB, ${kb(extra)} KB beyond it`);
    for (const [origin, bytes] of rows.filter(([, bytes]) => Math.abs(bytes) >= 1024).slice(0, 14)) say(`  ${pad(kb(bytes), 6)} KB  ${origin}`);
  }
}

function printBundleSizes(bundles: Awaited<ReturnType<typeof buildBundles>>): void {
  say('\n== Bundles (SDK bundled, as deployed; floor: only the function\'s SDK clients, imported and constructed)');
  say(`${padEnd('function', 14)}${pad('bundle KB', 10)}${pad('floor KB', 10)}${pad('ratio', 7)}`);
  for (const [name, b] of Object.entries(bundles)) say(`${padEnd(name, 14)}${pad(kb(b.handler.bytes), 10)}${pad(kb(b.floor.bytes), 10)}${pad((b.handler.bytes / b.floor.bytes).toFixed(2), 7)}`);
}

function printLambdas(lambdas: Lambdas): void {
  say('\n== Bundles and cold start (SDK bundled, as deployed; floor: only the function\'s SDK clients, imported and constructed)');
  say(`${padEnd('function', 14)}${pad('bundle KB', 10)}${pad('floor KB', 10)}${pad('ratio', 7)}${pad('init ms', 9)}${pad('floor ms', 10)}${pad('ratio', 7)}${pad('cpu ms', 8)}${pad('floor', 7)}${pad('ratio', 7)}  |  SDK from the runtime:${pad('KB', 5)}${pad('init ms', 9)}${pad('floor ms', 10)}${pad('ratio', 7)}`);
  for (const [name, l] of Object.entries(lambdas)) {
    say(`${padEnd(name, 14)}${pad(kb(l.bundle_bytes), 10)}${pad(kb(l.floor_bundle_bytes), 10)}${pad(l.bundle_ratio.toFixed(2), 7)}${pad(l.init_ms.toFixed(1), 9)}${pad(l.floor_init_ms.toFixed(1), 10)}${pad(l.init_ratio.toFixed(2), 7)}${pad(l.init_cpu_ms.toFixed(1), 8)}${pad(l.floor_init_cpu_ms.toFixed(1), 7)}${pad(l.init_cpu_ratio.toFixed(2), 7)}  |  ${' '.repeat(21)}${pad(kb(l.sdk_external.bundle_bytes), 5)}${pad(l.sdk_external.init_ms.toFixed(1), 9)}${pad(l.sdk_external.floor_init_ms.toFixed(1), 10)}${pad(l.sdk_external.init_ratio.toFixed(2), 7)}`);
  }
  const worstBundle = Math.max(...Object.values(lambdas).map((l) => l.bundle_ratio));
  const worstInit = Math.max(...Object.values(lambdas).map((l) => l.init_ratio));
  const worstCpu = Math.max(...Object.values(lambdas).map((l) => l.init_cpu_ratio));
  say(`with --enable-source-maps (not deployed): ${Object.entries(lambdas).map(([name, l]) => `${name} ${l.source_maps_init_ms.toFixed(1)} ms (x${l.source_maps_init_ratio.toFixed(2)})`).join(', ')}`);
  say(`target <= ${TARGETS.bundleRatio}: bundle ${mark(worstBundle <= TARGETS.bundleRatio)} (worst ${worstBundle.toFixed(2)}), init ${mark(worstInit <= TARGETS.initRatio)} (worst ${worstInit.toFixed(2)}), init CPU ${mark(worstCpu <= TARGETS.initRatio)} (worst ${worstCpu.toFixed(2)}); init is the median of ${INIT_ROUNDS} runs, require() to return, wall clock and the process's CPU time`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const startedAt = Date.now();
  say(`Sesame benchmark: Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown'}), prices of ${REGION} read on ${READ_ON}`);

  // --- 1. bundles and cold start --------------------------------------------------------------------
  say('\nBuilding bundles (lib/bundling.ts settings) ...');
  const bundles = await buildBundles();
  if (args.analyze) printAnalysis(bundles);
  if (args.only && !args.only.has('cold-start')) return printBundleSizes(bundles);
  say(`Cold start: ${INIT_ROUNDS} alternating runs of each bundle in a fresh node process ...`);
  const files: Record<string, string> = {};
  for (const [name, b] of Object.entries(bundles)) for (const [variant, built] of Object.entries(b)) files[`${name}.${variant}`] = built.file;
  // The handler with its source map, started with NODE_OPTIONS=--enable-source-maps: what enabling them would cost.
  const nodeOptions = Object.fromEntries(Object.keys(files).filter((k) => k.endsWith('.handlerSourceMaps')).map((k) => [k, '--enable-source-maps']));
  const init = await measureInit(files, INIT_ROUNDS, nodeOptions);
  const lambdas = Object.fromEntries(
    (Object.keys(FUNCTIONS) as FunctionName[]).map((name) => {
      const b = bundles[name];
      const i = (v: string) => init[`${name}.${v}`]!.ms;
      const cpu = (v: string) => init[`${name}.${v}`]!.cpuMs;
      return [name, {
        bundle_bytes: b.handler.bytes,
        floor_bundle_bytes: b.floor.bytes,
        bundle_ratio: round(b.handler.bytes / b.floor.bytes, 3),
        init_ms: round(i('handler')),
        floor_init_ms: round(i('floor')),
        init_ratio: round(i('handler') / i('floor'), 3),
        init_cpu_ms: round(cpu('handler')),
        floor_init_cpu_ms: round(cpu('floor')),
        init_cpu_ratio: round(cpu('handler') / cpu('floor'), 3),
        source_maps_init_ms: round(i('handlerSourceMaps')),
        source_maps_init_ratio: round(i('handlerSourceMaps') / i('handler'), 3),
        sdk_external: {
          bundle_bytes: b.handlerSdkExternal.bytes,
          floor_bundle_bytes: b.floorSdkExternal.bytes,
          init_ms: round(i('handlerSdkExternal')),
          floor_init_ms: round(i('floorSdkExternal')),
          init_ratio: round(i('handlerSdkExternal') / i('floorSdkExternal'), 3),
        },
      }];
    }),
  ) as Lambdas;
  if (args.only) {
    // Only this part: bench/results.json keeps what the last full run wrote beside it.
    printLambdas(lambdas);
    const file = join(ROOT, 'bench', 'results.json');
    const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
    const machine = { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model.trim() };
    writeFileSync(file, JSON.stringify({ ...previous, targets: TARGETS, lambdas, lambdas_generated_at: new Date().toISOString(), lambdas_machine: machine }, null, 2) + '\n');
    say(`\nWrote the lambdas part of bench/results.json (${round((Date.now() - startedAt) / 1000, 1)} s).`);
    return;
  }

  // --- 2. CPU per operation -------------------------------------------------------------------------
  say('CPU per operation: real handlers against canned AWS answers, beside the bare SDK calls ...');
  const cpu = await runTsx<CpuResults>('bench/cpu.ts');

  // --- 3. one email's life and load -----------------------------------------------------------------
  say(LIFECYCLE_ONLY ? 'Local mode: one email\'s life, counted (--only lifecycle: no load check) ...' : `Local mode: one email's life, counted, then ${LOAD_EMAILS} emails at once ...`);
  const local = await runTsx<{ lifecycle: LifecycleResult; lifecycle_receipt: LifecycleResult; lifecycle_inbound: InboundLifecycleResult; load: LoadResult }>('bench/local-run.ts', [String(LOAD_EMAILS)]);
  const life = local.lifecycle;

  // --- 4. cost, beside the floor ----------------------------------------------------------------------
  const compute = {
    cpuUs: { send: cpu.operations.send.cpu_us, ingest: cpu.operations.ingest.cpu_us, deliver: cpu.operations.deliver.cpu_us },
    requests: { send: cpu.operations.send.requests, ingest: cpu.operations.ingest.requests, deliver: cpu.operations.deliver.requests },
    initMs: { send: lambdas.send.init_ms, ingest: lambdas.ingest.init_ms, deliver: lambdas.deliver.init_ms },
  };
  const floorCompute = {
    cpuUs: { send: cpu.operations.send.floor_cpu_us, ingest: cpu.operations.ingest.floor_cpu_us, deliver: cpu.operations.deliver.floor_cpu_us },
    requests: { send: cpu.operations.send.floor_requests, ingest: cpu.operations.ingest.floor_requests, deliver: cpu.operations.deliver.floor_requests },
    initMs: { send: lambdas.send.floor_init_ms, ingest: lambdas.ingest.floor_init_ms, deliver: lambdas.deliver.floor_init_ms },
  };
  const priced = (l: LifecycleResult) => {
    const counted = {
      awsRequests: l.aws_requests,
      dynamodbWriteUnits: l.dynamodb_write_units,
      dynamodbIndexWriteUnits: l.dynamodb_index_write_units,
      dynamodbReadUnits: l.dynamodb_read_units,
      dynamodbStoredBytes: l.dynamodb_stored_bytes,
      sqsBilledRequests: l.sqs_billed_requests,
      s3StoredBytes: l.s3_put_bytes,
      sesEvents: l.ses_events,
      webhooks: l.webhooks,
      logBytes: l.log_bytes,
      sesEventBytes: cpu.ses_event_bytes,
    };
    const usages = lifeUsages(counted, compute);
    const floor = priceUsages(lifeUsages(floorLife(counted, l), floorCompute));
    const features = featureUsages(l.features);
    return {
      usages, cost: priceUsages(usages), requestsOnly: priceUsages(usages.filter((u) => !isStorage(u))), floor,
      requestLog: priceUsages(features.requestLog), counters: priceUsages(features.counters),
      floorCounters: priceUsages(featureUsages({ ...l.features, counter_write_units: floorCounterWrites(l.ses_events) }).counters),
    };
  };
  const lifePriced = priced(life);
  const { usages, cost, requestsOnly, floor } = lifePriced;
  const receipt = priced(local.lifecycle_receipt);
  // What scheduling adds to the same email: the schedule, the dispatch queue, the dispatch invocation.
  const scheduledExtra = priceUsages(scheduledExtraUsages(compute));
  // A received email's life: SES receiving, the raw message in S3, the inbound invocation, email.received.
  const inb = local.lifecycle_inbound;
  const inboundUsages = inboundLifeUsages({
    awsRequests: inb.aws_requests, dynamodbWriteUnits: inb.dynamodb_write_units, dynamodbIndexWriteUnits: inb.dynamodb_index_write_units,
    dynamodbReadUnits: inb.dynamodb_read_units, dynamodbStoredBytes: inb.dynamodb_stored_bytes, sqsBilledRequests: inb.sqs_billed_requests,
    s3StoredBytes: inb.s3_put_bytes, sesEvents: 0, webhooks: inb.webhooks, logBytes: inb.log_bytes, sesEventBytes: 0,
    rawBytes: inb.raw_bytes, inboundCpuUs: inb.inbound_parse_cpu_us,
  }, compute);
  const inboundCost = priceUsages(inboundUsages);
  const sesReceiving = inboundCost.lines.filter((l) => l.price === 'sesReceivedEmail' || l.price === 'sesReceivedChunk').reduce((sum, l) => sum + l.usdPerMillion, 0);
  const lifecycleJson = (l: LifecycleResult, p: ReturnType<typeof priced>) => ({
    aws_requests: l.aws_requests,
    write_units: l.dynamodb_write_units + l.dynamodb_index_write_units,
    read_units: l.dynamodb_read_units,
    dynamodb: {
      write_units: l.dynamodb_write_units, index_write_units: l.dynamodb_index_write_units, read_units: l.dynamodb_read_units,
      condition_failures: l.dynamodb_condition_failures, stored_bytes: l.dynamodb_stored_bytes, items: l.items,
    },
    ses_events: l.ses_events,
    webhooks: l.webhooks,
    log_lines: l.log_lines,
    log_bytes: l.log_bytes,
    cost_per_million_usd: round(p.cost.usdPerMillion, 3),
    floor_cost_per_million_usd: round(p.floor.usdPerMillion, 3),
    cost_to_floor_ratio: round(p.cost.usdPerMillion / p.floor.usdPerMillion, 3),
    percent_of_ses_cost: round(p.cost.percentOfSes, 2),
    cost_per_million_usd_requests_only: round(p.requestsOnly.usdPerMillion, 3),
    // Issue 19's features, priced apart (they are also in the lines above, and in the floor at their own floor).
    features: {
      request_log_write_units: l.features.request_log_write_units,
      request_log_stored_bytes: round(l.features.request_log_stored_bytes, 1),
      request_log_usd_per_million: round(p.requestLog.usdPerMillion, 4),
      request_log_note: 'per API request (one per email here): its PutItem and its storage for the log retention (7 days); floor: one write per request, stored as measured',
      counter_write_units: l.features.counter_write_units,
      counters_usd_per_million: round(p.counters.usdPerMillion, 4),
      floor_counter_write_units: floorCounterWrites(l.ses_events),
      floor_counters_usd_per_million: round(p.floorCounters.usdPerMillion, 4),
      counters_note: 'per email: one counter UpdateItem per ingest invocation that counts; the send\'s sent rides with the next event\'s write',
    },
  });

  const results = {
    generated_at: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu_model: cpus()[0]?.model.trim() },
    targets: TARGETS,
    lambdas,
    operations: Object.fromEntries(Object.entries(cpu.operations).map(([k, v]) => [k, {
      ...v, cpu_us: round(v.cpu_us, 1), floor_cpu_us: round(v.floor_cpu_us, 1), ratio: round(v.ratio, 3),
      same_calls_cpu_us: round(v.same_calls_cpu_us, 1), ratio_to_same_calls: round(v.ratio_to_same_calls, 3),
    }])),
    lifecycle: {
      ...lifecycleJson(life, lifePriced),
      modelled_requests: Object.fromEntries(usages.filter((u) => u.basis === 'modelled').map((u) => [u.item, round(u.quantity, 9)])),
      cost_lines: cost.lines.map((l) => ({ item: l.item, basis: l.basis, quantity: round(l.quantity, 9), usd_per_million: round(l.usdPerMillion, 4), price: PRICES[l.price], ...(l.note ? { note: l.note } : {}) })),
      floor_cost_lines: floor.lines.map((l) => ({ item: l.item, quantity: round(l.quantity, 9), usd_per_million: round(l.usdPerMillion, 4) })),
      percent_of_ses_cost_requests_only: round(requestsOnly.percentOfSes, 2),
      ses_cost_per_million_usd: round(cost.sesUsdPerEmail * 1_000_000, 2),
      scheduled_extra: {
        cost_lines: scheduledExtra.lines.map((l) => ({ item: l.item, quantity: round(l.quantity, 9), usd_per_million: round(l.usdPerMillion, 4), ...(l.note ? { note: l.note } : {}) })),
        cost_per_million_usd: round(scheduledExtra.usdPerMillion, 3),
        scheduled_email_cost_per_million_usd: round(cost.usdPerMillion + scheduledExtra.usdPerMillion, 3),
      },
      prices_read_on: READ_ON,
      assumptions: ASSUMPTIONS,
    },
    lifecycle_receipt: lifecycleJson(local.lifecycle_receipt, receipt),
    lifecycle_inbound: {
      scenario: 'a message received over SMTP (local mode standing in for SES receiving) with a 20 KB HTML body and a 100 KB PDF, to a domain with receiving on and one endpoint subscribed',
      raw_bytes: inb.raw_bytes,
      inbound_parse_cpu_us: round(inb.inbound_parse_cpu_us, 1),
      aws_requests: inb.aws_requests,
      dynamodb: { write_units: inb.dynamodb_write_units, index_write_units: inb.dynamodb_index_write_units, read_units: inb.dynamodb_read_units, stored_bytes: inb.dynamodb_stored_bytes, items: inb.items },
      s3_put_bytes: inb.s3_put_bytes,
      webhooks: inb.webhooks,
      log_lines: inb.log_lines,
      log_bytes: inb.log_bytes,
      cost_lines: inboundCost.lines.map((l) => ({ item: l.item, quantity: round(l.quantity, 9), usd_per_million: round(l.usdPerMillion, 4), ...(l.note ? { note: l.note } : {}) })),
      cost_per_million_usd: round(inboundCost.usdPerMillion, 3),
      ses_receiving_per_million_usd: round(sesReceiving, 3),
      infrastructure_percent_of_ses_receiving: round(((inboundCost.usdPerMillion - sesReceiving) / sesReceiving) * 100, 2),
    },
    load: {
      ...local.load,
      seconds: round(local.load.seconds, 1),
      accept_seconds: round(local.load.accept_seconds, 1),
      emails_per_second: round(local.load.emails_per_second, 1),
    },
    bench_seconds: 0,
  };
  results.bench_seconds = round((Date.now() - startedAt) / 1000, 1);
  writeFileSync(join(ROOT, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');

  // --- the table --------------------------------------------------------------------------------------
  printLambdas(lambdas);

  const plan = cpu.operations.send;
  say(`\n== CPU per operation (median µs of ${plan.rounds} rounds x ${plan.iterations_per_round}, after a warm-up; canned AWS answers in memory)`);
  say(`${padEnd('operation', 10)}${pad('cpu µs', 9)}${pad('floor µs', 10)}${pad('ratio', 7)}${pad('same calls µs', 15)}${pad('ratio', 7)}  AWS requests: operation (= same calls) | floor`);
  for (const [name, o] of Object.entries(cpu.operations)) {
    const reqs = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k.replace('dynamodb:', 'ddb:')} ${v}`).join(', ');
    say(`${padEnd(name, 10)}${pad(o.cpu_us.toFixed(0), 9)}${pad(o.floor_cpu_us.toFixed(0), 10)}${pad(o.ratio.toFixed(2), 7)}${pad(o.same_calls_cpu_us.toFixed(0), 15)}${pad(o.ratio_to_same_calls.toFixed(2), 7)}  ${reqs(o.requests)} | ${reqs(o.floor_requests)}`);
  }
  const worstCpu = Math.max(...Object.values(cpu.operations).map((o) => o.ratio));
  say(`target <= ${TARGETS.cpuRatio}: ${mark(worstCpu <= TARGETS.cpuRatio)} (worst ${worstCpu.toFixed(2)}); "same calls": the operation's own AWS requests made bare, so the second ratio is Sesame's code; send with the API key cache warm`);

  say(`\n== One email's life: delivered@resend.dev, one endpoint subscribed to every event (${life.ses_events} SES events, ${life.webhooks} webhooks)`);
  say(`counted (handlers' SDK clients): ${Object.entries(life.aws_requests).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  say(`DynamoDB: ${life.dynamodb_write_units} WRU + ${life.dynamodb_index_write_units} index WRU, ${life.dynamodb_read_units} RRU, ${life.dynamodb_stored_bytes} B stored; handlers logged ${life.log_lines} lines, ${life.log_bytes} B`);
  say(`${padEnd('item', 58)}${padEnd('basis', 10)}${pad('quantity', 14)}${pad('$/M emails', 12)}`);
  for (const l of cost.lines) say(`${padEnd(l.item, 58)}${padEnd(l.basis, 10)}${pad(round(l.quantity, 6), 14)}${pad(l.usdPerMillion.toFixed(3), 12)}`);
  say(`${padEnd('total', 82)}${pad(cost.usdPerMillion.toFixed(2), 12)}`);
  say(`features: request log $${lifePriced.requestLog.usdPerMillion.toFixed(3)} per million requests (${life.features.request_log_write_units} WRU), counters $${lifePriced.counters.usdPerMillion.toFixed(3)} per million emails (${life.features.counter_write_units} WRU; floor ${floorCounterWrites(life.ses_events)})`);
  say(`floor (one write per email, event and webhook, per API request's log, per counting invocation; the fixed requests; floor CPU): $${floor.usdPerMillion.toFixed(2)} per million; cost to floor ${(cost.usdPerMillion / floor.usdPerMillion).toFixed(2)} (target <= 1.3)`);
  say(`receipt (20 KB HTML + 100 KB PDF): $${receipt.cost.usdPerMillion.toFixed(2)} per million, floor $${receipt.floor.usdPerMillion.toFixed(2)}, ratio ${(receipt.cost.usdPerMillion / receipt.floor.usdPerMillion).toFixed(2)}; ${local.lifecycle_receipt.dynamodb_write_units + local.lifecycle_receipt.dynamodb_index_write_units} WRU, ${local.lifecycle_receipt.dynamodb_read_units} RRU`);
  say(`= ${cost.percentOfSes.toFixed(1)}% of SES's $${(cost.sesUsdPerEmail * 1e6).toFixed(0)} per million (without storage: $${requestsOnly.usdPerMillion.toFixed(2)}, ${requestsOnly.percentOfSes.toFixed(1)}%); target < ${TARGETS.percentOfSes}%: ${mark(cost.percentOfSes < TARGETS.percentOfSes)}`);
  say(`a received email (${(inb.raw_bytes / 1024).toFixed(0)} KB, one attachment): $${inboundCost.usdPerMillion.toFixed(2)} per million, of which SES receiving $${sesReceiving.toFixed(2)}; the rest is ${(((inboundCost.usdPerMillion - sesReceiving) / sesReceiving) * 100).toFixed(1)}% of SES receiving's price; parse ${(inb.inbound_parse_cpu_us / 1000).toFixed(1)} ms CPU`);
  say(`a scheduled email adds $${scheduledExtra.usdPerMillion.toFixed(2)} per million (the schedule $${(scheduledExtra.lines.find((l) => l.price === 'schedulerInvocation')?.usdPerMillion ?? 0).toFixed(2)}, the dispatch queue, one dispatch invocation, the claim): $${(cost.usdPerMillion + scheduledExtra.usdPerMillion).toFixed(2)} per million in all`);

  const ld = local.load;
  if (LIFECYCLE_ONLY) {
    say(`\nLoad check skipped (--only lifecycle). Wrote bench/results.json (${results.bench_seconds} s).`);
    return;
  }
  say(`\n== Load: ${ld.emails} emails to the four test addresses (batches of ${ld.batch_size}, ${ld.concurrency} at once), one endpoint`);
  say(`final states ${ld.final_states}/${ld.emails}, webhooks ${ld.webhooks_delivered}/${ld.webhooks_expected}, duplicates ${ld.duplicates}, lost ${ld.lost}, webhook DLQ ${ld.webhook_dlq_messages}${ld.timed_out ? ', TIMED OUT' : ''}`);
  say(`${ld.emails_per_second.toFixed(1)} emails/s end to end (${ld.seconds.toFixed(1)} s; all accepted in ${ld.accept_seconds.toFixed(1)} s), everything in one process on this machine; target: nothing lost, no duplicate: ${mark(ld.lost === 0 && ld.duplicates === 0)}`);
  say(`\nWrote bench/results.json (${results.bench_seconds} s).`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
