/**
 * Registry benchmark: Wharf (`wharf serve` as a child process on a temporary data folder) against
 * the CNCF registry (`docker-registry serve`, filesystem storage, no auth, no notifications), in
 * one run, side by side, on the same machine:
 *
 * - push and pull of a ~200 MiB three-layer image with skopeo (median of 5; a distinct image for
 *   every push so no blob is ever already there; every pull into a fresh oci: folder),
 * - manifest GET and HEAD by tag under concurrency (10 s, 50 connections), anonymously from the
 *   public `library` project; Wharf records a pull event for every GET, which is the real cost of a
 *   pull. GET with autocannon; HEAD, and GET again for a like-for-like comparison, with a closed
 *   loop over keep-alive sockets (autocannon cannot parse HEAD responses that carry Content-Length;
 *   undici closes the connection after every HEAD),
 * - each server's resident memory: peak (VmHWM) and sampled VmRSS, and RSS before/after the
 *   sustained load.
 *
 *   npm run bench               # full run (about 2 minutes)
 *   npm run bench -- --quick    # 30 MiB image, 2 rounds, 3 s of load
 *
 * Prints a table with the ratios Wharf / CNCF and writes bench/results/registry-<timestamp>.json.
 */
import { execFileSync } from 'node:child_process';
import { git } from './git.ts';
import { cpus, totalmem } from 'node:os';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon, { type Result as LoadResult } from 'autocannon';
import { keepAliveLoop, manifestAccept, type KeepAliveResult } from './keepalive-loop.ts';
import { spawnWharf, tempDataDir } from '../test/helpers/wharf.ts';
import { adminCreds, skopeoAvailable, skopeoOk } from '../test/helpers/skopeo.ts';
import { OciLayout, readLayoutIndex, writeMultiLayerImage, type BuiltImage } from '../test/helpers/oci-layout.ts';
import { cncfVersion, startCncfRegistry } from './cncf-registry.ts';

const quick = process.argv.includes('--quick');
const settings = quick
  ? { imageMiB: 30, layers: 3, rounds: 2, loadSeconds: 3, connections: 20 }
  : { imageMiB: 200, layers: 3, rounds: 5, loadSeconds: 10, connections: 50 };


/** A server under test: how to reach it, its process, and how skopeo authenticates to it. */
interface Target {
  name: 'wharf' | 'cncf';
  host: string;
  url: string;
  pid: number;
  /** skopeo flags for pushing. */
  pushCreds: string[];
  stop(): Promise<void>;
}

/** Memory of one process from /proc/<pid>/status, in KiB. */
function memKiB(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return null;
  }
}

/** Samples a process's VmRSS every 100 ms; remembers the highest value seen. */
class RssSampler {
  peakRssKiB = 0;
  /** The highest VmRSS since the last {@link resetWindow}. */
  windowPeakKiB = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(readonly pid: number) {
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
    this.sample();
  }
  sample(): number {
    const m = memKiB(this.pid);
    if (m && m.rss > this.peakRssKiB) this.peakRssKiB = m.rss;
    if (m && m.rss > this.windowPeakKiB) this.windowPeakKiB = m.rss;
    return m?.rss ?? NaN;
  }
  resetWindow(): void {
    this.windowPeakKiB = 0;
    this.sample();
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function push(t: Target, src: OciLayout, tag: string, repo: string): Promise<void> {
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', ...t.pushCreds, src.ref(tag), `docker://${t.host}/library/${repo}:${tag}`], { timeoutMs: 600_000 });
}

async function pull(t: Target, repo: string, tag: string, expect: string): Promise<void> {
  const out = OciLayout.create();
  try {
    await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-no-creds', `docker://${t.host}/library/${repo}:${tag}`, out.ref(tag)], { timeoutMs: 600_000 });
    const got = readLayoutIndex(out.dir)[0]?.digest;
    if (got !== expect) throw new Error(`${t.name}: pulled ${got}, expected ${expect}`);
  } finally {
    out.remove();
  }
}

/** Summary of one load run (autocannon or the keep-alive loop), with the server's RSS around it. */
interface LoadSummary extends Omit<KeepAliveResult, 'connects'> {
  rssBeforeMiB: number;
  rssAfterMiB: number;
}


/**
 * A closed loop over keep-alive sockets (bench/keepalive-loop.ts): `connections` workers each send
 * the next request as soon as the last one answered, for `seconds`. Used for HEAD, because
 * autocannon 8's parser waits for a body after a HEAD response that carries Content-Length (as a
 * manifest HEAD must) and stalls, and undici closes the connection after every HEAD (so an undici
 * loop measures a TCP connect per HEAD); and for GET again, like for like.
 */
async function closedLoop(url: string, method: 'GET' | 'HEAD', path: string): Promise<Omit<LoadSummary, 'rssBeforeMiB' | 'rssAfterMiB'>> {
  const r = await keepAliveLoop({ url, method, path, headers: { accept: manifestAccept }, connections: settings.connections, seconds: settings.loadSeconds });
  return { requestsPerSecond: r.requestsPerSecond, latencyP50Ms: r.latencyP50Ms, latencyP99Ms: r.latencyP99Ms, requests: r.requests, non2xx: r.non2xx, errors: r.errors };
}

/** Sustained load on `path` with `tool`, with the server's RSS just before and just after. */
async function load(t: Target, method: 'GET' | 'HEAD', tool: 'autocannon' | 'loop', path: string, sampler: RssSampler): Promise<LoadSummary> {
  const before = sampler.sample();
  let measured: Omit<LoadSummary, 'rssBeforeMiB' | 'rssAfterMiB'>;
  if (tool === 'autocannon') {
    const r: LoadResult = await autocannon({
      url: `${t.url}${path}`,
      method,
      headers: { accept: manifestAccept },
      connections: settings.connections,
      duration: settings.loadSeconds,
    });
    measured = {
      requestsPerSecond: round(r.requests.average, 0),
      latencyP50Ms: r.latency.p50,
      latencyP99Ms: r.latency.p99,
      requests: r['2xx'] + r.non2xx,
      non2xx: r.non2xx,
      errors: r.errors,
    };
  } else {
    measured = await closedLoop(t.url, method, path);
  }
  const after = sampler.sample();
  // Errors or refusals would make the figure meaningless (a 401 is cheaper than a manifest): stop.
  if (measured.non2xx > 0 || measured.errors > 0 || measured.requests === 0) {
    throw new Error(`${t.name} ${method} (${tool}): ${measured.requests} requests, ${measured.non2xx} non-2xx, ${measured.errors} errors`);
  }
  return { ...measured, rssBeforeMiB: round(before / 1024, 1), rssAfterMiB: round(after / 1024, 1) };
}

function log(msg: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}


async function main(): Promise<void> {
  if (!skopeoAvailable()) throw new Error('skopeo is required (apt-get install -y skopeo)');
  const peerVersion = cncfVersion();
  if (!peerVersion) throw new Error('the CNCF registry is required (apt-get install -y docker-registry)');
  const started = performance.now();

  log(`building ${settings.rounds} images of ${settings.imageMiB} MiB in ${settings.layers} layers (random bytes)`);
  const src = OciLayout.create();
  const images: BuiltImage[] = [];
  for (let i = 0; i < settings.rounds; i++) images.push(await writeMultiLayerImage(src, `img${i}`, { totalMiB: settings.imageMiB, layers: settings.layers }));
  const imageBytes = images[0]?.layers.reduce((n, l) => n + l.size, 0) ?? 0;

  const dataDir = tempDataDir('wharf-bench-');
  // warn: the peer runs with access logs off, so Wharf does not log every request either.
  const w = await spawnWharf({ dataDir, env: { WHARF_LOG_LEVEL: 'warn' }, compiled: true });
  const c = await startCncfRegistry();
  const targets: Target[] = [
    {
      name: 'wharf',
      host: w.host,
      url: w.url,
      pid: w.proc.pid ?? 0,
      pushCreds: ['--dest-creds', adminCreds],
      async stop() {
        const code = await w.stop();
        if (code !== 0) console.error(`wharf exited with ${code}:\n${w.output().slice(-4000)}`);
        rmSync(dataDir, { recursive: true, force: true });
      },
    },
    { name: 'cncf', host: c.host, url: c.url, pid: c.pid, pushCreds: ['--dest-no-creds'], stop: () => c.stop() },
  ];
  const samplers = new Map(targets.map((t) => [t.name, new RssSampler(t.pid)]));
  const idleRss = Object.fromEntries(targets.map((t) => [t.name, round((memKiB(t.pid)?.rss ?? NaN) / 1024, 1)]));

  try {
    // Warm-up: one small request each, so neither pays its first-request costs inside a timing.
    for (const t of targets) await fetch(`${t.url}/v2/`).then((r) => r.arrayBuffer());

    const pushTimes: Record<string, number[]> = { wharf: [], cncf: [] };
    const pullTimes: Record<string, number[]> = { wharf: [], cncf: [] };
    for (let i = 0; i < settings.rounds; i++) {
      // Alternate which server goes first, so drift in the machine's load is shared.
      const order = i % 2 ? [...targets].reverse() : targets;
      for (const t of order) {
        const s = await timed(() => push(t, src, `img${i}`, `bench${i}`));
        pushTimes[t.name]?.push(s);
        log(`push ${i + 1}/${settings.rounds} ${t.name}: ${s.toFixed(2)} s`);
      }
    }
    const pulled = images[0];
    if (!pulled) throw new Error('no image built');
    for (let i = 0; i < settings.rounds; i++) {
      const order = i % 2 ? [...targets].reverse() : targets;
      for (const t of order) {
        const s = await timed(() => pull(t, 'bench0', 'img0', pulled.manifest.digest));
        pullTimes[t.name]?.push(s);
        log(`pull ${i + 1}/${settings.rounds} ${t.name}: ${s.toFixed(2)} s`);
      }
    }

    const loads: Record<string, { get: LoadSummary; getLoop: LoadSummary; head: LoadSummary }> = {};
    /** The highest VmRSS sampled from the start of the manifest load to its end. */
    const loadPeakRss: Record<string, number> = {};
    for (const t of targets) {
      const sampler = samplers.get(t.name);
      if (!sampler) throw new Error('no sampler');
      const path = '/v2/library/bench0/manifests/img0';
      sampler.resetWindow();
      const get = await load(t, 'GET', 'autocannon', path, sampler);
      log(`GET  ${t.name} (autocannon): ${get.requestsPerSecond} req/s, p99 ${get.latencyP99Ms} ms, RSS ${get.rssBeforeMiB} -> ${get.rssAfterMiB} MiB`);
      const getLoop = await load(t, 'GET', 'loop', path, sampler);
      log(`GET  ${t.name} (keep-alive loop): ${getLoop.requestsPerSecond} req/s, p99 ${getLoop.latencyP99Ms} ms, RSS ${getLoop.rssBeforeMiB} -> ${getLoop.rssAfterMiB} MiB`);
      const head = await load(t, 'HEAD', 'loop', path, sampler);
      log(`HEAD ${t.name} (keep-alive loop): ${head.requestsPerSecond} req/s, p99 ${head.latencyP99Ms} ms, RSS ${head.rssBeforeMiB} -> ${head.rssAfterMiB} MiB`);
      loads[t.name] = { get, getLoop, head };
      loadPeakRss[t.name] = round(sampler.windowPeakKiB / 1024, 1);
    }
    // RSS a few seconds after the load: flat (or falling back) if nothing leaks per request.
    await new Promise((r) => setTimeout(r, 3000));
    const settled = Object.fromEntries(targets.map((t) => [t.name, round((samplers.get(t.name)?.sample() ?? NaN) / 1024, 1)]));

    const results = Object.fromEntries(
      targets.map((t) => {
        const m = memKiB(t.pid);
        const push = pushTimes[t.name] ?? [];
        const pull = pullTimes[t.name] ?? [];
        return [
          t.name,
          {
            pushSeconds: { median: round(median(push)), runs: push.map((x) => round(x)) },
            pullSeconds: { median: round(median(pull)), runs: pull.map((x) => round(x)) },
            pushMiBps: round(imageBytes / 1048576 / median(push), 1),
            pullMiBps: round(imageBytes / 1048576 / median(pull), 1),
            manifestGet: loads[t.name]?.get,
            manifestGetLoop: loads[t.name]?.getLoop,
            manifestHead: loads[t.name]?.head,
            memory: {
              idleRssMiB: idleRss[t.name],
              peakHwmMiB: round((m?.hwm ?? NaN) / 1024, 1),
              peakSampledRssMiB: round((samplers.get(t.name)?.peakRssKiB ?? NaN) / 1024, 1),
              peakRssUnderLoadMiB: loadPeakRss[t.name],
              rssBeforeLoadMiB: loads[t.name]?.get.rssBeforeMiB,
              rssAfterLoadMiB: loads[t.name]?.head.rssAfterMiB,
              rssSettledMiB: settled[t.name],
            },
          },
        ];
      }),
    );
    const W = results.wharf;
    const C = results.cncf;
    if (!W || !C) throw new Error('missing results');
    const rows: Array<[string, number | undefined, number | undefined, string]> = [
      [`push ${settings.imageMiB} MiB, median s (lower is better)`, W.pushSeconds.median, C.pushSeconds.median, ''],
      [`pull ${settings.imageMiB} MiB, median s (lower is better)`, W.pullSeconds.median, C.pullSeconds.median, ''],
      ['manifest GET req/s, autocannon (higher is better)', W.manifestGet?.requestsPerSecond, C.manifestGet?.requestsPerSecond, ''],
      ['manifest GET p99 ms, autocannon', W.manifestGet?.latencyP99Ms, C.manifestGet?.latencyP99Ms, ''],
      ['manifest GET req/s, keep-alive loop (higher is better)', W.manifestGetLoop?.requestsPerSecond, C.manifestGetLoop?.requestsPerSecond, ''],
      ['manifest GET p99 ms, keep-alive loop', W.manifestGetLoop?.latencyP99Ms, C.manifestGetLoop?.latencyP99Ms, ''],
      ['manifest HEAD req/s, keep-alive loop (higher is better)', W.manifestHead?.requestsPerSecond, C.manifestHead?.requestsPerSecond, ''],
      ['manifest HEAD p99 ms, keep-alive loop', W.manifestHead?.latencyP99Ms, C.manifestHead?.latencyP99Ms, ''],
      ['peak RSS MiB (VmHWM)', W.memory.peakHwmMiB, C.memory.peakHwmMiB, ''],
      ['peak RSS MiB under the manifest load (sampled)', W.memory.peakRssUnderLoadMiB, C.memory.peakRssUnderLoadMiB, ''],
      ['RSS before load MiB', W.memory.rssBeforeLoadMiB, C.memory.rssBeforeLoadMiB, ''],
      ['RSS after load MiB', W.memory.rssAfterLoadMiB, C.memory.rssAfterLoadMiB, ''],
      ['RSS 3 s after load MiB', W.memory.rssSettledMiB, C.memory.rssSettledMiB, ''],
    ];
    const ratios: Record<string, number> = {};
    for (const row of rows) {
      const [label, a, b] = row;
      if (a !== undefined && b !== undefined && b !== 0) {
        ratios[label] = round(a / b);
        row[3] = (a / b).toFixed(2);
      }
    }
    const widths = [52, 10, 10, 12];
    const line = (cells: string[]) => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i] ?? 0) : s.padStart(widths[i] ?? 0))).join('  ');
    console.log('\n' + line(['', 'wharf', 'cncf', 'wharf/cncf']));
    for (const [label, a, b, r] of rows) console.log(line([label, String(a ?? '-'), String(b ?? '-'), r]));

    const totalSeconds = round((performance.now() - started) / 1000, 1);
    const report = {
      benchmark: 'registry',
      date: new Date().toISOString(),
      quick,
      settings: { ...settings, imageBytes },
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryMiB: Math.round(totalmem() / 1048576), node: process.version },
      versions: {
        wharf: git(['rev-parse', '--short', 'HEAD']),
        cncf: peerVersion,
        skopeo: execFileSync('skopeo', ['--version'], { encoding: 'utf8' }).trim(),
      },
      notes: [
        'Both servers on 127.0.0.1 on the same machine as skopeo and autocannon (which share its cores).',
        'Wharf: wharf serve, SQLite + filesystem blobs, log level warn, pushes with admin credentials, pulls anonymous from the public library project; every manifest GET records a pull event.',
        'The manifest load sends no Authorization header (anonymous, public project), so it does not include the cost of verifying a Bearer token that skopeo would send.',
        'CNCF registry: docker-registry serve, filesystem storage, no auth, no notifications, access log off.',
        'Push: a distinct image per round (no blob already present). Pull: into a fresh oci: folder each time.',
        'Manifest GET by tag with autocannon; HEAD (and GET again) with a closed loop over keep-alive sockets (bench/keepalive-loop.ts): autocannon 8 stalls on HEAD responses that carry Content-Length, and undici closes the connection after every HEAD.',
        'The load generator (autocannon or the loop) runs in the benchmark process, on the same 2 cores as the server under test.',
      ],
      results,
      ratios,
      totalSeconds,
    };
    const outDir = join(import.meta.dirname, 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `registry-${report.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`\nwrote ${file} (${totalSeconds} s)`);
  } finally {
    for (const s of samplers.values()) s.stop();
    for (const t of targets) await t.stop();
    src.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
