/**
 * Webhook benchmark: Wharf (a child process, log level warn) against the CNCF registry
 * (`docker-registry serve` 2.8 with `notifications.endpoints`), both delivering to the same real
 * loopback receiver. Prints a table and writes bench/results/webhooks-<timestamp>.json.
 *
 *   1. push -> webhook latency: from a manifest PUT's response to the receiver holding the
 *      delivery for that digest, p50/p99 over N pushes offered at a steady rate (open loop), at
 *      1,000 pushes/s, at 500 pushes/s (1,000 outbox events/s: a tagged push is PUSH_ARTIFACT +
 *      CREATE_TAG) and at a low rate (50/s) the machine sustains without queueing;
 *   2. sustained deliveries per second: P policies on one event stream, E pushes;
 *   3. fan-out: one push to 1,000 policies, time until all 1,000 deliveries arrived;
 *   4. the CNCF registry's push -> notification latency, same pushes, same receiver.
 *
 * Every phase keeps a ledger: deliveries expected = received + missing; missing ones are reported.
 * Usage: npm run bench:webhooks [-- --quick]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import SQLite from 'better-sqlite3';
import { startReceiver, type Receiver, type ReceivedRequest } from '../test/helpers/receiver.ts';
import { adminAuth, freePort, spawnWharf, type SpawnedWharf } from '../test/helpers/wharf.ts';
import { api, createPolicy, pushBlob, putManifest, smallImage } from '../test/helpers/webhook-client.ts';

const quick = process.argv.includes('--quick');
/** `--only latency,throughput,fanout,distribution` runs a subset (for development; results are partial). */
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = new Set(onlyArg ? onlyArg.slice('--only='.length).split(',') : ['latency', 'throughput', 'fanout', 'distribution']);
const sizes = quick
  ? { latencyPushes: 200, rate: 1000, midRatePushes: 200, midRate: 500, lowRatePushes: 100, lowRate: 50, thrPolicies: 100, thrPushes: 30, fanPolicies: 1000, fanPushes: 1 }
  : { latencyPushes: 1000, rate: 1000, midRatePushes: 1000, midRate: 500, lowRatePushes: 500, lowRate: 50, thrPolicies: 200, thrPushes: 100, fanPolicies: 1000, fanPushes: 3 };
/**
 * Pushes before each latency run, not measured: a registry in service is warm (JIT-compiled code,
 * prepared statements, page cache). With 20, Wharf's first second ran cold: ~680 pushes/s accepted
 * at 1,000/s offered, against ~945/s after 1,000 warm-up pushes. Both registries get the same.
 */
const warmup = quick ? 200 : 1000;
const wharfEnv = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WHARF_') && e[1] !== undefined));
const drainMs = 30_000;

/** Percentile (nearest rank) of a sorted list. */
function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

function round(n: number, d = 1): number {
  const f = 10 ** d;
  return Math.round(n * f) / f;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Digests of manifest push deliveries in a request body (Wharf Default, or distribution's envelope). */
function pushedDigests(r: ReceivedRequest): string[] {
  let body: unknown;
  try {
    body = JSON.parse(r.body.toString('utf8'));
  } catch {
    return [];
  }
  if (typeof body !== 'object' || body === null) return [];
  const out: string[] = [];
  if ('events' in body && Array.isArray(body.events)) {
    // Parsed JSON in distribution's envelope; every field is read optionally.
    for (const e of body.events as Array<{ action?: string; target?: { digest?: string; mediaType?: string } }>) {
      if (e.action === 'push' && e.target?.digest && e.target.mediaType !== 'application/octet-stream') out.push(e.target.digest);
    }
  } else if ('type' in body && body.type === 'PUSH_ARTIFACT' && 'event_data' in body) {
    const ed = body.event_data as { resources?: Array<{ digest?: string }> }; // parsed Default JSON; fields read optionally
    for (const res of ed.resources ?? []) if (res.digest) out.push(res.digest);
  }
  return out;
}

/** Latency result of one registry. */
export interface LatencyResult {
  pushes: number;
  offeredRate: number;
  achievedRate: number;
  putP50Ms: number;
  putP99Ms: number;
  deliveredP50Ms: number;
  deliveredP99Ms: number;
  deliveredMaxMs: number;
  received: number;
  missing: number;
  /** Wall-clock window of the measured pushes (ms since the epoch). */
  windowMs: [number, number];
  /** Outbox events Wharf committed per second in that window (a tagged push is PUSH_ARTIFACT + CREATE_TAG). */
  eventsPerSecond?: number;
}

/**
 * Offers `n` manifest PUTs (by tag) at `rate`/s, open loop with at most 256 in flight, and
 * measures, per digest, the time from the PUT's response to the first delivery carrying it.
 */
export async function latencyRun(base: string, recv: Receiver, path: string, repo: string, n: number, rate: number, auth?: string): Promise<LatencyResult> {
  const pool = new Pool(base, { connections: 32, pipelining: 1 });
  const seedBase = `${repo}-${Date.now()}`;
  const shared = smallImage('shared', `${seedBase}-blobs`);
  await pushBlob(base, repo, shared.layer, auth, pool);
  await pushBlob(base, repo, shared.config, auth, pool);
  const imgs = Array.from({ length: n + warmup }, (_, i) => smallImage(`${seedBase}-${i}`, `${seedBase}-blobs`));
  const putDone = new Map<string, number>();
  const arrived = new Map<string, number>();
  recv.onRequest((r) => {
    if (r.path !== path) return;
    for (const d of pushedDigests(r)) if (!arrived.has(d)) arrived.set(d, r.receivedAtHr);
  });
  // Warm-up (not measured), 8 at a time; then wait until its deliveries arrived, so that the
  // measured pushes start with nothing queued.
  let nextWarm = 0;
  const warmDigests: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (;;) {
        const i = nextWarm++;
        const img = imgs[i];
        if (i >= warmup || !img) return;
        warmDigests.push(await putManifest(base, repo, `w${i}`, img.manifest, { auth, dispatcher: pool }));
      }
    }),
  );
  const warmDeadline = Date.now() + drainMs;
  while (Date.now() < warmDeadline && warmDigests.some((d) => !arrived.has(d))) await sleep(20);
  await sleep(200);
  const putMs: number[] = [];
  const interval = 1000 / rate;
  const wall0 = Date.now();
  const t0 = performance.now();
  let inFlight = 0;
  let lastDone = t0;
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const img = imgs[warmup + i];
    if (!img) break;
    const due = t0 + i * interval;
    for (;;) {
      const now = performance.now();
      if (now >= due && inFlight < 256) break;
      await sleep(now < due ? Math.max(0, due - now - 0.5) : 1);
    }
    inFlight++;
    const started = performance.now();
    pending.push(
      putManifest(base, repo, `t${i}`, img.manifest, { auth, dispatcher: pool })
        .then((d) => {
          const done = performance.now();
          putDone.set(d, done);
          putMs.push(done - started);
          lastDone = Math.max(lastDone, done);
        })
        .finally(() => inFlight--),
    );
  }
  await Promise.all(pending);
  const wall1 = wall0 + (lastDone - t0);
  const achievedRate = n / ((lastDone - t0) / 1000);
  const deadline = Date.now() + drainMs;
  while (Date.now() < deadline && [...putDone.keys()].some((d) => !arrived.has(d))) await sleep(50);
  await pool.close();
  const lat: number[] = [];
  let missing = 0;
  for (const [d, done] of putDone) {
    const a = arrived.get(d);
    if (a === undefined) missing++;
    else lat.push(a - done);
  }
  lat.sort((a, b) => a - b);
  putMs.sort((a, b) => a - b);
  return {
    pushes: n,
    offeredRate: rate,
    achievedRate: round(achievedRate),
    putP50Ms: round(pct(putMs, 50), 2),
    putP99Ms: round(pct(putMs, 99), 2),
    deliveredP50Ms: round(pct(lat, 50), 2),
    deliveredP99Ms: round(pct(lat, 99), 2),
    deliveredMaxMs: round(lat[lat.length - 1] ?? NaN, 2),
    received: lat.length,
    missing,
    windowMs: [wall0, Math.ceil(wall1)],
  };
}

/** Outbox events committed per second during `r`'s window, read from Wharf's database file. */
function eventsPerSecond(dataDir: string, r: LatencyResult): number {
  const db = new SQLite(join(dataDir, 'wharf.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT count(*) AS n FROM events WHERE occur_at BETWEEN ? AND ?').get(r.windowMs[0], r.windowMs[1]) as { n: number }; // count(*) row
    return round(row.n / ((r.windowMs[1] - r.windowMs[0]) / 1000));
  } finally {
    db.close();
  }
}

/** Creates `count` PUSH_ARTIFACT Default policies on library, target `<recv>/<prefix>/<i>`, 8 at a time. */
async function createPolicies(w: SpawnedWharf, recv: Receiver, prefix: string, count: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
        name: `${prefix}-${i}`,
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${recv.url}/${prefix}/${i}`, payload_format: 'Default' }],
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

/** Sustained deliveries per second: P policies, E pushes as fast as the client goes (8 at a time). */
async function throughputRun(w: SpawnedWharf, recv: Receiver, policies: number, pushes: number) {
  await createPolicies(w, recv, 'thr', policies);
  const repo = 'library/thr';
  const pool = new Pool(w.url, { connections: 8 });
  const seedBase = `thr-${Date.now()}`;
  const shared = smallImage('shared', `${seedBase}-blobs`);
  await pushBlob(w.url, repo, shared.layer, adminAuth, pool);
  await pushBlob(w.url, repo, shared.config, adminAuth, pool);
  const expected = policies * pushes;
  let got = 0;
  let first = NaN;
  let last = NaN;
  recv.onRequest((r) => {
    if (!r.path.startsWith('/thr/')) return;
    got++;
    if (Number.isNaN(first)) first = r.receivedAtHr;
    last = r.receivedAtHr;
  });
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= pushes) return;
      const img = smallImage(`${seedBase}-${i}`, `${seedBase}-blobs`);
      await putManifest(w.url, repo, `t${i}`, img.manifest, { auth: adminAuth, dispatcher: pool });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  const pushedAt = performance.now();
  const deadline = Date.now() + drainMs * 2;
  while (got < expected && Date.now() < deadline) await sleep(20);
  await pool.close();
  return {
    policies,
    pushes,
    expected,
    received: got,
    missing: expected - got,
    pushSeconds: round((pushedAt - t0) / 1000, 3),
    totalSeconds: round((last - t0) / 1000, 3),
    deliveriesPerSecond: round(got / ((last - t0) / 1000)),
    steadyDeliveriesPerSecond: round(got / ((last - first) / 1000)),
  };
}

/** Fan-out: one push to `policies` policies, time until every delivery arrived; repeated `pushes` times. */
async function fanoutRun(w: SpawnedWharf, recv: Receiver, policies: number, pushes: number) {
  const t = performance.now();
  await createPolicies(w, recv, 'fan', policies);
  const createSeconds = (performance.now() - t) / 1000;
  const repo = 'library/fan';
  const runs: Array<{ firstMs: number; allMs: number; received: number }> = [];
  for (let k = 0; k < pushes; k++) {
    const img = smallImage(`fan-${Date.now()}-${k}`, 'fan-blobs');
    await pushBlob(w.url, repo, img.layer, adminAuth);
    await pushBlob(w.url, repo, img.config, adminAuth);
    let got = 0;
    let first = NaN;
    let last = NaN;
    const mine = (r: ReceivedRequest) => r.path.startsWith('/fan/') && pushedDigests(r).includes(img.digest);
    recv.onRequest((r) => {
      if (!mine(r)) return;
      got++;
      if (Number.isNaN(first)) first = r.receivedAtHr;
      last = r.receivedAtHr;
    });
    await putManifest(w.url, repo, `f${k}`, img.manifest, { auth: adminAuth });
    const done = performance.now();
    const deadline = Date.now() + drainMs * 2;
    while (got < policies && Date.now() < deadline) await sleep(10);
    runs.push({ firstMs: round(first - done, 2), allMs: round(last - done, 2), received: got });
    await sleep(500);
  }
  const all = runs.map((r) => r.allMs).sort((a, b) => a - b);
  return { policies, createPoliciesSeconds: round(createSeconds, 2), runs, medianAllMs: pct(all, 50), missing: runs.reduce((s, r) => s + policies - r.received, 0) };
}

/** Starts the CNCF registry with notifications to `<recv>/distribution`. */
async function startDistribution(recv: Receiver): Promise<{ url: string; proc: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-distribution-'));
  const port = await freePort();
  // Endpoint settings per the registry's configuration docs: timeout per POST, threshold of
  // consecutive failures before backing off, and the backoff. Blob events are ignored so the
  // endpoint sees manifest events only, like Wharf's PUSH_ARTIFACT.
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log: {level: error, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${join(dir, 'data')}}}`,
      `http: {addr: "127.0.0.1:${port}"}`,
      'notifications:',
      '  endpoints:',
      '    - name: bench',
      `      url: ${recv.url}/distribution`,
      '      timeout: 2s',
      '      threshold: 10',
      '      backoff: 1s',
      '      ignoredmediatypes: [application/octet-stream]',
      '',
    ].join('\n'),
  );
  const proc = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('docker-registry did not start');
    await sleep(100);
  }
  return { url, proc, dir };
}

/** Everything one run measured (written as JSON). */
interface BenchResults {
  benchmark: 'webhooks';
  startedAt: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; node: string; loadAvgAtStart: number[] };
  sizes: typeof sizes;
  /** WHARF_* settings passed to Wharf from the environment. */
  wharfEnv: Record<string, string>;
  targets: { p99LatencyMsAt1000PerSecond: number; deliveriesPerSecond: number };
  wharfLatency?: LatencyResult;
  /** At 500 pushes/s: 1,000 outbox events/s (each tagged push is PUSH_ARTIFACT + CREATE_TAG). */
  wharfLatencyMidRate?: LatencyResult;
  wharfLatencyLowRate?: LatencyResult;
  wharfThroughput?: Awaited<ReturnType<typeof throughputRun>>;
  wharfFanout?: Awaited<ReturnType<typeof fanoutRun>>;
  distributionLatency?: LatencyResult;
  distributionLatencyMidRate?: LatencyResult;
  distributionLatencyLowRate?: LatencyResult;
  loadAvgAtEnd?: number[];
}

async function withWharf<T>(fn: (w: SpawnedWharf, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-wharf-'));
  // WHARF_* variables of this shell reach Wharf (to compare settings); the results record them.
  const w = await spawnWharf({ dataDir, env: { WHARF_LOG_LEVEL: 'warn', ...wharfEnv }, compiled: true });
  try {
    return await fn(w, dataDir);
  } finally {
    await w.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const recv = await startReceiver();
  const startedAt = new Date();
  const result: BenchResults = {
    benchmark: 'webhooks',
    startedAt: startedAt.toISOString(),
    quick,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, loadAvgAtStart: loadavg() },
    sizes,
    wharfEnv,
    targets: { p99LatencyMsAt1000PerSecond: 50, deliveriesPerSecond: 5000 },
  };
  try {
    console.error('1/4 Wharf push -> webhook latency ...');
    if (only.has('latency')) result.wharfLatency = await withWharf(async (w, dir) => {
      await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
        name: 'latency',
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${recv.url}/wharf`, payload_format: 'Default' }],
      });
      const r = await latencyRun(w.url, recv, '/wharf', 'library/lat', sizes.latencyPushes, sizes.rate, adminAuth);
      return { ...r, eventsPerSecond: eventsPerSecond(dir, r) };
    });
    if (only.has('latency')) result.wharfLatencyMidRate = await withWharf(async (w, dir) => {
      await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
        name: 'latency',
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${recv.url}/wharf-mid`, payload_format: 'Default' }],
      });
      const r = await latencyRun(w.url, recv, '/wharf-mid', 'library/lat', sizes.midRatePushes, sizes.midRate, adminAuth);
      return { ...r, eventsPerSecond: eventsPerSecond(dir, r) };
    });
    if (only.has('latency')) result.wharfLatencyLowRate = await withWharf(async (w) => {
      await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
        name: 'latency',
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${recv.url}/wharf-low`, payload_format: 'Default' }],
      });
      return latencyRun(w.url, recv, '/wharf-low', 'library/lat', sizes.lowRatePushes, sizes.lowRate, adminAuth);
    });
    console.error('2/4 Wharf sustained deliveries ...');
    if (only.has('throughput')) result.wharfThroughput = await withWharf((w) => throughputRun(w, recv, sizes.thrPolicies, sizes.thrPushes));
    console.error('3/4 Wharf fan-out ...');
    if (only.has('fanout')) result.wharfFanout = await withWharf((w) => fanoutRun(w, recv, sizes.fanPolicies, sizes.fanPushes));
    console.error('4/4 CNCF registry push -> notification latency ...');
    if (only.has('distribution')) {
      const dist = await startDistribution(recv);
      try {
        result.distributionLatency = await latencyRun(dist.url, recv, '/distribution', 'library/lat', sizes.latencyPushes, sizes.rate);
        result.distributionLatencyMidRate = await latencyRun(dist.url, recv, '/distribution', 'library/mid', sizes.midRatePushes, sizes.midRate);
        result.distributionLatencyLowRate = await latencyRun(dist.url, recv, '/distribution', 'library/low', sizes.lowRatePushes, sizes.lowRate);
      } finally {
        dist.proc.kill('SIGTERM');
        rmSync(dist.dir, { recursive: true, force: true });
      }
    }
  } finally {
    await recv.close();
  }
  const { wharfLatency: lw, distributionLatency: ld, wharfThroughput: thr, wharfFanout: fan } = result;
  const { wharfLatencyLowRate: lwl, distributionLatencyLowRate: ldl, wharfLatencyMidRate: lwm, distributionLatencyMidRate: ldm } = result;
  const f = (v: unknown): string => (v === undefined ? '-' : String(v));
  const rows: Array<[string, string, string, string]> = [
    ['measure', 'Wharf', 'CNCF registry 2.8', 'target'],
    ['pushes offered at (per s)', f(lw?.offeredRate), f(ld?.offeredRate), '1000'],
    ['pushes achieved (per s)', f(lw?.achievedRate), f(ld?.achievedRate), ''],
    ['outbox events committed (per s)', f(lw?.eventsPerSecond), 'n/a', ''],
    ['manifest PUT p50 / p99 (ms)', `${f(lw?.putP50Ms)} / ${f(lw?.putP99Ms)}`, `${f(ld?.putP50Ms)} / ${f(ld?.putP99Ms)}`, ''],
    ['PUT response -> webhook p50 (ms)', f(lw?.deliveredP50Ms), f(ld?.deliveredP50Ms), ''],
    ['PUT response -> webhook p99 (ms)', f(lw?.deliveredP99Ms), f(ld?.deliveredP99Ms), '< 50'],
    ['PUT response -> webhook max (ms)', f(lw?.deliveredMaxMs), f(ld?.deliveredMaxMs), ''],
    ['deliveries missing', f(lw?.missing), f(ld?.missing), '0'],
    [`at ${sizes.midRate}/s: pushes achieved (per s)`, f(lwm?.achievedRate), f(ldm?.achievedRate), ''],
    [`at ${sizes.midRate}/s: outbox events committed (per s)`, f(lwm?.eventsPerSecond), 'n/a', ''],
    [`at ${sizes.midRate}/s: PUT response -> webhook p50 / p99 (ms)`, `${f(lwm?.deliveredP50Ms)} / ${f(lwm?.deliveredP99Ms)}`, `${f(ldm?.deliveredP50Ms)} / ${f(ldm?.deliveredP99Ms)}`, ''],
    [`at ${sizes.midRate}/s: deliveries missing`, f(lwm?.missing), f(ldm?.missing), '0'],
    [`at ${sizes.lowRate}/s: pushes achieved (per s)`, f(lwl?.achievedRate), f(ldl?.achievedRate), ''],
    [`at ${sizes.lowRate}/s: PUT response -> webhook p50 / p99 (ms)`, `${f(lwl?.deliveredP50Ms)} / ${f(lwl?.deliveredP99Ms)}`, `${f(ldl?.deliveredP50Ms)} / ${f(ldl?.deliveredP99Ms)}`, ''],
    [`at ${sizes.lowRate}/s: deliveries missing`, f(lwl?.missing), f(ldl?.missing), '0'],
    [
      `sustained deliveries/s (${f(thr?.policies)} policies x ${f(thr?.pushes)} pushes)`,
      `${f(thr?.deliveriesPerSecond)} (steady ${f(thr?.steadyDeliveriesPerSecond)}); missing ${f(thr?.missing)}`,
      'n/a',
      '>= 5000',
    ],
    [`fan-out to ${f(fan?.policies)} policies, all delivered (ms, median)`, `${f(fan?.medianAllMs)}; missing ${f(fan?.missing)}`, 'n/a', ''],
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c as 0 | 1 | 2 | 3].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | '));
  result.loadAvgAtEnd = loadavg();
  const outDir = join(import.meta.dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `webhooks-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`\nwrote ${file}`);
}

// Run only as a script: bench/cluster.ts imports latencyRun from here.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
