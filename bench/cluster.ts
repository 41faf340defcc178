/**
 * Cluster benchmark (issue 10): Wharf on one local PostgreSQL, as one instance and as two
 * instances sharing the database and one blob storage root, on the same machine; and, as the
 * baseline measured at the same moment, one instance on SQLite (the default setup).
 *
 * 1. manifest GET by tag (anonymous, public `library`, a pull event recorded per GET like a real
 *    pull) with autocannon: all connections on one instance, then the same connections split
 *    evenly across two instances (two autocannon runs at once; their req/s summed);
 * 2. push -> webhook latency (bench/webhooks.ts's `latencyRun`: open loop, p50/p99 from the PUT's
 *    response to the delivery's arrival) at 200 pushes/s: one instance, then two instances with
 *    the pushes through the first (each instance's dispatcher and delivery worker compete for the
 *    work, woken by LISTEN/NOTIFY).
 *
 * Targets (issue 10): manifest GET >= 5,000 req/s; push -> webhook p99 <= 50 ms at 200 pushes/s.
 * Needs PostgreSQL: WHARF_TEST_PG_ADMIN_URL (a superuser's URL; scripts/dev-services.sh prints
 * it); every run uses a fresh database, dropped at the end, and a fresh storage folder. WHARF_*
 * variables of the shell (but the database and storage ones) reach the instances and are recorded.
 *
 *   npm run bench:cluster               # about 2 minutes
 *   npm run bench:cluster -- --quick    # 3 s of GET load, 600 pushes
 *
 * Prints a table and writes bench/results/cluster-<timestamp>.json.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon, { type Result as LoadResult } from 'autocannon';
import pg from 'pg';
import { adminAuth, spawnWharf, tempDataDir, type SpawnedWharf } from '../test/helpers/wharf.ts';
import { databaseName, dropDatabase, ensureDatabase } from '../test/helpers/db.ts';
import { startReceiver, type Receiver } from '../test/helpers/receiver.ts';
import { createPolicy, pushSmallImage, smallImage } from '../test/helpers/webhook-client.ts';
import { latencyRun, type LatencyResult } from './webhooks.ts';
import { manifestAccept } from './keepalive-loop.ts';

const quick = process.argv.includes('--quick');
const settings = quick ? { loadSeconds: 3, connections: 40, pushes: 600, rate: 200 } : { loadSeconds: 10, connections: 80, pushes: 2000, rate: 200 };
const targets = { manifestGetPerSecond: 5000, pushToWebhookP99Ms: 50, atPushesPerSecond: 200 };
const wharfEnv = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WHARF_') && !e[0].startsWith('WHARF_TEST_') && e[1] !== undefined));
/** The WHARF_* settings passed to the instances: all but the database and the storage, which the benchmark sets. */
const tuning = Object.fromEntries(Object.entries(wharfEnv).filter(([k]) => !/^WHARF_(DATABASE__URL|DATABASE__PATH|DATA_DIR|STORAGE__)/.test(k)));

const getPath = '/v2/library/bench/manifests/img';

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** One GET load figure: summed over the instances it ran against. */
interface GetLoad {
  instances: number;
  connections: number;
  requestsPerSecond: number;
  /** Per instance, req/s. */
  perInstance: number[];
  /** The worst instance's percentiles. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/** autocannon on `path` against every instance at once, `connections` split evenly. */
async function getLoad(instances: SpawnedWharf[], connections: number): Promise<GetLoad> {
  const per = Math.max(1, Math.floor(connections / instances.length));
  const results: LoadResult[] = await Promise.all(
    instances.map((w) => autocannon({ url: `${w.url}${getPath}`, method: 'GET', headers: { accept: manifestAccept }, connections: per, duration: settings.loadSeconds })),
  );
  const out: GetLoad = {
    instances: instances.length,
    connections: per * instances.length,
    requestsPerSecond: Math.round(results.reduce((s, r) => s + r.requests.average, 0)),
    perInstance: results.map((r) => Math.round(r.requests.average)),
    latencyP50Ms: Math.max(...results.map((r) => r.latency.p50)),
    latencyP99Ms: Math.max(...results.map((r) => r.latency.p99)),
    requests: results.reduce((s, r) => s + r['2xx'] + r.non2xx, 0),
    non2xx: results.reduce((s, r) => s + r.non2xx, 0),
    errors: results.reduce((s, r) => s + r.errors, 0),
  };
  // Errors or refusals would make the figure meaningless (a 401 is cheaper than a manifest): stop.
  if (out.non2xx > 0 || out.errors > 0 || out.requests === 0) throw new Error(`GET load on ${instances.length} instance(s): ${out.requests} requests, ${out.non2xx} non-2xx, ${out.errors} errors`);
  return out;
}

interface ClusterResults {
  benchmark: 'cluster';
  startedAt: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; memGiB: number; node: string; loadAvgAtStart: number[]; postgres?: string };
  settings: typeof settings;
  targets: typeof targets;
  wharfEnv: Record<string, string>;
  /** The same measures on SQLite (one instance, the default setup), at the same moment: the baseline. */
  getSqlite?: GetLoad;
  latencySqlite?: LatencyResult;
  getOne?: GetLoad;
  getTwo?: GetLoad;
  latencyOne?: LatencyResult;
  latencyTwo?: LatencyResult;
  loadAvgAtEnd?: number[];
}

async function main(): Promise<void> {
  if (!process.env.WHARF_TEST_PG_ADMIN_URL) {
    console.error('bench:cluster needs PostgreSQL: set WHARF_TEST_PG_ADMIN_URL to a superuser URL (scripts/dev-services.sh start prints it)');
    process.exit(2);
  }
  const startedAt = new Date();
  const result: ClusterResults = {
    benchmark: 'cluster',
    startedAt: startedAt.toISOString(),
    quick,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', memGiB: round(totalmem() / 2 ** 30), node: process.version, loadAvgAtStart: loadavg() },
    settings,
    targets,
    wharfEnv: tuning,
  };
  const name = databaseName(`bench-cluster:${process.pid}:${Date.now()}`);
  const dbUrl = await ensureDatabase(name);
  const pgc = new pg.Client({ connectionString: dbUrl });
  await pgc.connect();
  result.machine.postgres = String((await pgc.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version);
  await pgc.end();
  const storageRoot = tempDataDir('bench-cluster-storage-');
  const dirs: string[] = [storageRoot];
  const running: SpawnedWharf[] = [];
  const recv: Receiver = await startReceiver();
  const start = async (sqlite = false): Promise<SpawnedWharf> => {
    const dataDir = tempDataDir('bench-cluster-');
    dirs.push(dataDir);
    // Compiled, as `npm start` runs it. WHARF_* of this shell tune the instances (not where they keep data).
    const shared: Record<string, string> = sqlite ? {} : { WHARF_DATABASE__URL: dbUrl, WHARF_STORAGE__ROOT: storageRoot };
    const w = await spawnWharf({ dataDir, compiled: true, env: { WHARF_LOG_LEVEL: 'warn', ...tuning, ...shared } });
    running.push(w);
    return w;
  };
  const prepare = async (w: SpawnedWharf, path: string) => {
    await pushSmallImage(w.url, 'library/bench', smallImage('bench-cluster-get'), { tag: 'img', auth: adminAuth });
    await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
      name: 'latency',
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${recv.url}${path}`, payload_format: 'Default' }],
    });
  };
  try {
    console.error('0/4 baseline: one instance on SQLite (GET, then push -> webhook latency) ...');
    const base = await start(true);
    await prepare(base, '/sqlite');
    await getLoad([base], settings.connections);
    result.getSqlite = await getLoad([base], settings.connections);
    result.latencySqlite = await latencyRun(base.url, recv, '/sqlite', 'library/lat0', settings.pushes, settings.rate, adminAuth);
    await base.stop();
    running.splice(running.indexOf(base), 1);

    const a = await start();
    await prepare(a, '/cluster');

    console.error(`1/4 manifest GET, one instance (${settings.connections} connections, ${settings.loadSeconds} s) ...`);
    await getLoad([a], settings.connections); // warm-up: JIT, connection pools, caches
    result.getOne = await getLoad([a], settings.connections);
    console.error(`2/4 push -> webhook latency, one instance (${settings.pushes} pushes at ${settings.rate}/s) ...`);
    result.latencyOne = await latencyRun(a.url, recv, '/cluster', 'library/lat1', settings.pushes, settings.rate, adminAuth);

    const b = await start();
    console.error('3/4 manifest GET, two instances (connections split) ...');
    await getLoad([a, b], settings.connections);
    result.getTwo = await getLoad([a, b], settings.connections);
    console.error('4/4 push -> webhook latency, two instances (pushes through the first) ...');
    result.latencyTwo = await latencyRun(a.url, recv, '/cluster', 'library/lat2', settings.pushes, settings.rate, adminAuth);
  } finally {
    for (const w of running) await w.stop();
    await recv.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await dropDatabase(name);
  }
  result.loadAvgAtEnd = loadavg();

  const { getSqlite: g0, latencySqlite: l0, getOne: g1, getTwo: g2, latencyOne: l1, latencyTwo: l2 } = result;
  const f = (v: unknown): string => (v === undefined ? '-' : String(v));
  const rows: Array<[string, string, string, string, string]> = [
    ['measure (one machine)', 'SQLite, one', 'PostgreSQL, one', 'PostgreSQL, two', 'target (PostgreSQL)'],
    ['manifest GET (req/s)', f(g0?.requestsPerSecond), f(g1?.requestsPerSecond), `${f(g2?.requestsPerSecond)} (${g2?.perInstance.join(' + ') ?? '-'})`, `>= ${targets.manifestGetPerSecond}`],
    ['manifest GET p50 / p99 (ms)', `${f(g0?.latencyP50Ms)} / ${f(g0?.latencyP99Ms)}`, `${f(g1?.latencyP50Ms)} / ${f(g1?.latencyP99Ms)}`, `${f(g2?.latencyP50Ms)} / ${f(g2?.latencyP99Ms)}`, ''],
    ['pushes offered / achieved (per s)', `${f(l0?.offeredRate)} / ${f(l0?.achievedRate)}`, `${f(l1?.offeredRate)} / ${f(l1?.achievedRate)}`, `${f(l2?.offeredRate)} / ${f(l2?.achievedRate)}`, `${targets.atPushesPerSecond}`],
    ['manifest PUT p50 / p99 (ms)', `${f(l0?.putP50Ms)} / ${f(l0?.putP99Ms)}`, `${f(l1?.putP50Ms)} / ${f(l1?.putP99Ms)}`, `${f(l2?.putP50Ms)} / ${f(l2?.putP99Ms)}`, ''],
    ['PUT response -> webhook p50 (ms)', f(l0?.deliveredP50Ms), f(l1?.deliveredP50Ms), f(l2?.deliveredP50Ms), ''],
    ['PUT response -> webhook p99 (ms)', f(l0?.deliveredP99Ms), f(l1?.deliveredP99Ms), f(l2?.deliveredP99Ms), `<= ${targets.pushToWebhookP99Ms}`],
    ['PUT response -> webhook max (ms)', f(l0?.deliveredMaxMs), f(l1?.deliveredMaxMs), f(l2?.deliveredMaxMs), ''],
    ['deliveries missing', f(l0?.missing), f(l1?.missing), f(l2?.missing), '0'],
  ];
  const widths = [0, 1, 2, 3, 4].map((c) => Math.max(...rows.map((r) => r[c as 0 | 1 | 2 | 3 | 4].length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | '));
  console.log(`\n${result.machine.cpus} CPUs (${result.machine.cpuModel}), load average ${result.machine.loadAvgAtStart.map((x) => x.toFixed(1)).join(' ')} at the start; the load generator, PostgreSQL and the Wharf processes share them.`);
  const outDir = join(import.meta.dirname, 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `cluster-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

await main();
