/**
 * Retention benchmark (issue 12): Harbor's tag retention over 10,000 artifacts in 100 repositories,
 * a dry run and then a real run, against a real `wharf serve` (a child process, tsx over src/, log
 * level warn, on a temporary data folder; SQLite unless `--postgres URL` names an empty database).
 *
 * 1. Fill: project `bench`, repositories `bench/app-000` … `app-099`, 100 artifacts each, pushed over
 *    the OCI HTTP API with undici (8 requests at once; each repository's artifacts in order, so
 *    push times rise with the index): one shared layer blob per repository, then per artifact a
 *    distinct config blob (monolithic `POST …/blobs/uploads/?digest=`) and its manifest PUT. Artifact
 *    i is untagged when i % 10 = 3 (pushed by digest), has two tags when i % 10 = 7, else one.
 * 2. The policy: one rule, `latestPushedK` 10, tags `**` with untagged artifacts, repositories `**`,
 *    no schedule (`POST /api/v2.0/retentions`).
 * 3. A dry run, then a real run: `POST /retentions/{id}/executions`, then the execution read every
 *    100 ms until its status is final. Wall time is from the POST to the first final status read.
 *    Memory is the server's: idle VmRSS after 2 quiet seconds, then the peak (VmHWM, reset with
 *    `/proc/<pid>/clear_refs` 5 right before the run; and VmRSS sampled every 50 ms) above it.
 * 4. Checks (the benchmark fails when one does not hold): every run ends `Success` with one task
 *    per repository, each task `total` 100 and `retained` 10; after the dry run every repository
 *    still has 100 artifacts (sum of the repositories' `artifact_count`); after the real run every
 *    repository has 10, and in a sample of repositories the artifact list's `X-Total-Count` is 10.
 *    Whether the 10 kept are the 10 pushed last is reported for the sample (ties in push time may
 *    make it differ at the boundary, which is not an error: Harbor's sort is unstable).
 *
 *   npm run bench:retention                          # about 2 minutes on 2 cores
 *   npm run bench:retention -- --quick               # 10 repositories × 100 artifacts
 *   npm run bench:retention -- --postgres postgres://u@127.0.0.1:5432/empty_db
 *   npm run bench:retention -- --cpu-prof /tmp/prof   # the server's V8 CPU profile, written at exit
 *
 * Prints a table and writes bench/results/retention-<timestamp>.json.
 */
import { git } from './git.ts';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { sha256 } from '../test/helpers/oci-layout.ts';
import { adminAuth, spawnWharf, tempDataDir, type SpawnedWharf } from '../test/helpers/wharf.ts';
import { api, explain, putManifest, type ApiAnswer } from '../test/helpers/webhook-client.ts';

const quick = process.argv.includes('--quick');
const pgIndex = process.argv.indexOf('--postgres');
const postgresUrl = pgIndex >= 0 ? process.argv[pgIndex + 1] : undefined;
if (pgIndex >= 0 && !postgresUrl) throw new Error('--postgres needs the URL of an empty database');
/** `--cpu-prof DIR`: the server writes a V8 CPU profile there when it exits (node --cpu-prof). */
const profIndex = process.argv.indexOf('--cpu-prof');
const cpuProfDir = profIndex >= 0 ? process.argv[profIndex + 1] : undefined;
if (profIndex >= 0 && !cpuProfDir) throw new Error('--cpu-prof needs a folder');
const settings = { repositories: quick ? 10 : 100, perRepository: 100, keep: 10, concurrency: 8, sampleRepositories: 10, pollMs: 100 };
const project = 'bench';
const MiB = 1048576;
const finalStatuses = new Set(['Success', 'Error', 'Stopped']);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function log(msg: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** The repository name (without the project) of repository `r`. */
const repoName = (r: number) => `app-${String(r).padStart(3, '0')}`;

/** The tags of artifact `i`: none when i % 10 = 3, two when i % 10 = 7, else one. */
function tagsOf(i: number): string[] {
  if (i % 10 === 3) return [];
  if (i % 10 === 7) return [`v${i}`, `alias-${i}`];
  return [`v${i}`];
}

// ---------------------------------------------------------------------------------------------
// The server's memory

/** VmRSS and VmHWM of a process from /proc/<pid>/status, in bytes. */
function memOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 };
}

/** Memory of one phase: idle before it, the kernel's peak (VmHWM after a reset) and the highest sampled VmRSS. */
interface PhaseMemory {
  idleRssMiB: number;
  peakRssMiB: number;
  peakAboveIdleMiB: number;
  sampledPeakAboveIdleMiB: number;
  /** False when VmHWM could not be reset: the peak is then the sampled one. */
  hwmReset: boolean;
  rssAfterMiB: number;
}

/** Runs `fn` with the server's memory measured around it, after `quietMs` of quiet. */
async function withMemory<T>(pid: number, quietMs: number, fn: () => Promise<T>): Promise<{ value: T; memory: PhaseMemory }> {
  await sleep(quietMs);
  const idle = memOf(pid).rss;
  let hwmReset = true;
  try {
    // Resets VmHWM to the current RSS (Linux 4.0+): the peak read afterwards is this phase's.
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    hwmReset = false;
  }
  let sampled = idle;
  const timer = setInterval(() => {
    try {
      sampled = Math.max(sampled, memOf(pid).rss);
    } catch {
      /* the process is gone: the phase fails on its own */
    }
  }, 50);
  try {
    const value = await fn();
    const end = memOf(pid);
    sampled = Math.max(sampled, end.rss);
    const peak = hwmReset ? end.hwm : sampled;
    return {
      value,
      memory: {
        idleRssMiB: round(idle / MiB),
        peakRssMiB: round(peak / MiB),
        peakAboveIdleMiB: round((peak - idle) / MiB),
        sampledPeakAboveIdleMiB: round((sampled - idle) / MiB),
        hwmReset,
        rssAfterMiB: round(end.rss / MiB),
      },
    };
  } finally {
    clearInterval(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Fill

/** A monolithic blob upload: `POST /v2/<repo>/blobs/uploads/?digest=` with the blob as the body. */
async function pushBlobMonolithic(base: string, repo: string, data: Buffer, dispatcher: Pool): Promise<string> {
  const digest = sha256(data);
  const res = await request(`${base}/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
    method: 'POST',
    headers: { authorization: adminAuth, 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: data,
    dispatcher,
  });
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`POST /v2/${repo}/blobs/uploads/?digest=: ${res.statusCode} ${text.slice(0, 300)}`);
  return digest;
}

/** What was pushed to one repository: the manifest digests in push order. */
interface FilledRepository {
  name: string;
  digests: string[];
}

/** Pushes one repository's artifacts in order. */
async function fillRepository(base: string, r: number, dispatcher: Pool): Promise<FilledRepository> {
  const name = repoName(r);
  const repo = `${project}/${name}`;
  const layer = Buffer.from('wharf retention benchmark layer\n');
  const layerDigest = await pushBlobMonolithic(base, repo, layer, dispatcher);
  const digests: string[] = [];
  for (let i = 0; i < settings.perRepository; i++) {
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { 'org.wharf.bench': `${name}/${i}` } }, rootfs: { type: 'layers', diff_ids: [layerDigest] } }),
    );
    const configDigest = await pushBlobMonolithic(base, repo, config, dispatcher);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
      }),
    );
    const digest = sha256(manifest);
    const tags = tagsOf(i);
    for (const ref of tags.length ? tags : [digest]) {
      const got = await putManifest(base, repo, ref, manifest, { auth: adminAuth, dispatcher });
      if (got !== digest) throw new Error(`PUT ${repo}:${ref} answered digest ${got}, expected ${digest}`);
    }
    digests.push(digest);
  }
  return { name, digests };
}

/** Pushes every repository, `settings.concurrency` requests at once (one repository per worker at a time). */
async function fill(base: string, dispatcher: Pool): Promise<{ repositories: FilledRepository[]; requests: number }> {
  const out: FilledRepository[] = new Array<FilledRepository>(settings.repositories);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let r = next++; r < settings.repositories; r = next++) {
      out[r] = await fillRepository(base, r, dispatcher);
      if ((r + 1) % 10 === 0) log(`  filled ${r + 1} repositories`);
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, worker));
  let manifestPuts = 0;
  for (let i = 0; i < settings.perRepository; i++) manifestPuts += Math.max(1, tagsOf(i).length);
  return { repositories: out, requests: settings.repositories * (1 + settings.perRepository + manifestPuts) };
}

// ---------------------------------------------------------------------------------------------
// The API

/** Throws unless the answer has `status`. */
function expectStatus(a: ApiAnswer, status: number, method: string, path: string): ApiAnswer {
  if (a.status !== status) throw new Error(`expected ${status}: ${explain(method, path, a)}`);
  return a;
}

/** The id at the end of a Location header. */
function idFromLocation(a: ApiAnswer): number {
  const loc = a.headers.location;
  const id = Number(String(Array.isArray(loc) ? loc[0] : loc).split('/').pop());
  if (!Number.isInteger(id)) throw new Error(`no id in Location ${String(loc)}`);
  return id;
}

/** A field of a parsed JSON object, or undefined. */
function field(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null ? Reflect.get(o, key) : undefined;
}

/** Every item of a paged list (page_size 100), read until `X-Total-Count` items came. */
async function listAll(base: string, path: string): Promise<unknown[]> {
  const items: unknown[] = [];
  for (let page = 1; ; page++) {
    const p = `${path}${path.includes('?') ? '&' : '?'}page=${page}&page_size=100`;
    const a = expectStatus(await api(base, 'GET', p, { auth: adminAuth }), 200, 'GET', p);
    if (!Array.isArray(a.json)) throw new Error(`GET ${p}: not a list: ${a.text.slice(0, 300)}`);
    items.push(...a.json);
    const total = Number(a.headers['x-total-count']);
    if (a.json.length === 0 || items.length >= total) return items;
  }
}

function policyBody(projectId: number): unknown {
  return {
    algorithm: 'or',
    scope: { level: 'project', ref: projectId },
    trigger: { kind: 'Schedule', settings: { cron: '' }, references: {} },
    rules: [
      {
        disabled: false,
        action: 'retain',
        template: 'latestPushedK',
        params: { latestPushedK: settings.keep },
        tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**', extras: '{"untagged":true}' }],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
      },
    ],
  };
}

/** One retention run, as measured and as the API reports it. */
interface RunFigures {
  executionId: number;
  status: string;
  seconds: number;
  /** end_time − start_time of the execution as the API shows them. */
  serverSeconds: number | null;
  polls: number;
  tasks: number;
  taskStatuses: Record<string, number>;
  total: number;
  retained: number;
  /** Tasks whose total or retained is not the expected one. */
  unexpectedTasks: Array<{ repository: unknown; status: unknown; total: unknown; retained: unknown }>;
}

/** Launches a run and polls its execution until the status is final. */
async function runRetention(base: string, policyId: number, dryRun: boolean): Promise<RunFigures> {
  const path = `/api/v2.0/retentions/${policyId}/executions`;
  const t0 = performance.now();
  const created = expectStatus(await api(base, 'POST', path, { auth: adminAuth, body: { dry_run: dryRun } }), 201, 'POST', path);
  const executionId = idFromLocation(created);
  let polls = 0;
  let execution: unknown;
  for (;;) {
    polls++;
    const list = await listAll(base, path);
    execution = list.find((e) => field(e, 'id') === executionId);
    if (execution === undefined) throw new Error(`execution ${executionId} is not in GET ${path}`);
    if (finalStatuses.has(String(field(execution, 'status')))) break;
    if (performance.now() - t0 > 30 * 60_000) throw new Error(`execution ${executionId} not final after 30 minutes: ${JSON.stringify(execution)}`);
    await sleep(settings.pollMs);
  }
  const seconds = (performance.now() - t0) / 1000;
  const startMs = Date.parse(String(field(execution, 'start_time')));
  const endMs = Date.parse(String(field(execution, 'end_time')));
  const tasks = await listAll(base, `${path}/${executionId}/tasks`);
  const taskStatuses: Record<string, number> = {};
  let total = 0;
  let retained = 0;
  const unexpectedTasks: RunFigures['unexpectedTasks'] = [];
  for (const t of tasks) {
    const status = String(field(t, 'status'));
    taskStatuses[status] = (taskStatuses[status] ?? 0) + 1;
    total += Number(field(t, 'total'));
    retained += Number(field(t, 'retained'));
    if (field(t, 'total') !== settings.perRepository || field(t, 'retained') !== settings.keep || status !== 'Success') {
      unexpectedTasks.push({ repository: field(t, 'repository'), status: field(t, 'status'), total: field(t, 'total'), retained: field(t, 'retained') });
    }
  }
  return {
    executionId,
    status: String(field(execution, 'status')),
    seconds: round(seconds, 2),
    serverSeconds: Number.isFinite(startMs) && Number.isFinite(endMs) ? round((endMs - startMs) / 1000, 2) : null,
    polls,
    tasks: tasks.length,
    taskStatuses,
    total,
    retained,
    unexpectedTasks: unexpectedTasks.slice(0, 20),
  };
}

/** Sum of the repositories' `artifact_count`, and how many repositories there are. */
async function artifactCounts(base: string): Promise<{ repositories: number; artifacts: number; counts: number[] }> {
  const repos = await listAll(base, `/api/v2.0/projects/${project}/repositories`);
  const counts = repos.map((r) => Number(field(r, 'artifact_count')));
  return { repositories: repos.length, artifacts: counts.reduce((a, b) => a + b, 0), counts };
}

/** A sampled repository's artifact list: `X-Total-Count` and whether the digests left are the last pushed. */
interface SampleCheck {
  repository: string;
  totalCount: number;
  keptLastPushed: boolean;
}

async function sampleCheck(base: string, repos: FilledRepository[]): Promise<SampleCheck[]> {
  const step = Math.max(1, Math.floor(repos.length / settings.sampleRepositories));
  const out: SampleCheck[] = [];
  for (let r = 0; r < repos.length && out.length < settings.sampleRepositories; r += step) {
    const repo = repos[r];
    if (!repo) continue;
    const path = `/api/v2.0/projects/${project}/repositories/${repo.name}/artifacts?page_size=100`;
    const a = expectStatus(await api(base, 'GET', path, { auth: adminAuth }), 200, 'GET', path);
    const digests = Array.isArray(a.json) ? a.json.map((x) => String(field(x, 'digest'))) : [];
    const expected = new Set(repo.digests.slice(-settings.keep));
    out.push({ repository: repo.name, totalCount: Number(a.headers['x-total-count']), keptLastPushed: digests.length === expected.size && digests.every((d) => expected.has(d)) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The run


async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAvgAtStart = loadavg();
  // Read before the server starts: the code it runs is the checkout's at this moment.
  const versions = { wharf: git(['rev-parse', '--short', 'HEAD']), uncommittedFiles: git(['status', '--porcelain']).split('\n').filter(Boolean).length };
  const artifacts = settings.repositories * settings.perRepository;
  const dataDir = tempDataDir('wharf-bench-retention-');
  log(`starting wharf serve (${postgresUrl ? 'PostgreSQL' : 'SQLite'}) on ${dataDir}`);
  const w: SpawnedWharf = await spawnWharf({
    dataDir,
    env: { WHARF_LOG_LEVEL: 'warn', ...(postgresUrl ? { WHARF_DATABASE__URL: postgresUrl } : {}) },
    ...(cpuProfDir ? { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] } : {}),
  });
  const pid = w.proc.pid ?? 0;
  const dispatcher = new Pool(w.url, { connections: settings.concurrency });
  const failures: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failures.push(what);
  };
  try {
    const idleAtStartMiB = round(memOf(pid).rss / MiB);
    const cp = '/api/v2.0/projects';
    expectStatus(await api(w.url, 'POST', cp, { auth: adminAuth, body: { project_name: project, metadata: { public: 'false' } } }), 201, 'POST', cp);
    const projectId = Number(field(expectStatus(await api(w.url, 'GET', `${cp}/${project}`, { auth: adminAuth }), 200, 'GET', `${cp}/${project}`).json, 'project_id'));

    log(`fill: ${settings.repositories} repositories × ${settings.perRepository} artifacts over /v2, ${settings.concurrency} at once`);
    const filled = await withMemory(pid, 0, async () => {
      const t = performance.now();
      const r = await fill(w.url, dispatcher);
      return { ...r, seconds: (performance.now() - t) / 1000 };
    });
    const afterFill = await artifactCounts(w.url);
    check(afterFill.repositories === settings.repositories && afterFill.artifacts === artifacts, `after the fill: ${afterFill.repositories} repositories, ${afterFill.artifacts} artifacts (expected ${settings.repositories}, ${artifacts})`);
    log(`  ${artifacts} artifacts in ${round(filled.value.seconds)} s (${Math.round(artifacts / filled.value.seconds)}/s, ${Math.round(filled.value.requests / filled.value.seconds)} requests/s)`);

    const rp = '/api/v2.0/retentions';
    const policyId = idFromLocation(expectStatus(await api(w.url, 'POST', rp, { auth: adminAuth, body: policyBody(projectId) }), 201, 'POST', rp));

    log('dry run');
    const dry = await withMemory(pid, 2000, () => runRetention(w.url, policyId, true));
    const afterDry = await artifactCounts(w.url);
    log(`  ${dry.value.status} in ${dry.value.seconds} s: ${dry.value.tasks} tasks, total ${dry.value.total}, retained ${dry.value.retained}; ${afterDry.artifacts} artifacts left`);

    log('real run');
    const real = await withMemory(pid, 2000, () => runRetention(w.url, policyId, false));
    const afterReal = await artifactCounts(w.url);
    const samples = await sampleCheck(w.url, filled.value.repositories);
    log(`  ${real.value.status} in ${real.value.seconds} s: ${real.value.tasks} tasks, total ${real.value.total}, retained ${real.value.retained}; ${afterReal.artifacts} artifacts left`);

    for (const [name, run] of [['dry run', dry.value], ['real run', real.value]] as const) {
      check(run.status === 'Success', `${name}: execution status ${run.status}`);
      check(run.tasks === settings.repositories, `${name}: ${run.tasks} tasks, expected ${settings.repositories}`);
      check(run.total === artifacts, `${name}: sum of task totals ${run.total}, expected ${artifacts}`);
      check(run.retained === settings.repositories * settings.keep, `${name}: sum of task retained ${run.retained}, expected ${settings.repositories * settings.keep}`);
      check(run.unexpectedTasks.length === 0, `${name}: tasks not Success with ${settings.perRepository}/${settings.keep}: ${JSON.stringify(run.unexpectedTasks)}`);
    }
    check(afterDry.artifacts === artifacts, `after the dry run: ${afterDry.artifacts} artifacts, expected ${artifacts}`);
    check(afterReal.counts.every((c) => c === settings.keep) && afterReal.repositories === settings.repositories, `after the real run: artifact counts ${JSON.stringify(afterReal.counts)}, expected ${settings.keep} in each of ${settings.repositories}`);
    check(samples.every((s) => s.totalCount === settings.keep), `after the real run, X-Total-Count of sampled repositories: ${JSON.stringify(samples)}`);

    const phase = (label: string, seconds: number, memory: PhaseMemory) => ({ label, seconds: round(seconds, 2), artifactsPerSecond: Math.round(artifacts / seconds), ...memory });
    const phases = [
      phase(`fill (${artifacts} artifacts pushed)`, filled.value.seconds, filled.memory),
      phase('dry run (evaluate only)', dry.value.seconds, dry.memory),
      phase(`real run (${artifacts - settings.repositories * settings.keep} deleted)`, real.value.seconds, real.memory),
    ];
    const rows: string[][] = [
      ['phase', 'seconds', 'artifacts/s', 'peak RSS MiB above idle', 'idle RSS MiB', 'sampled peak above idle'],
      ...phases.map((p) => [p.label, String(p.seconds), String(p.artifactsPerSecond), String(p.peakAboveIdleMiB), String(p.idleRssMiB), String(p.sampledPeakAboveIdleMiB)]),
    ];
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    console.log('');
    for (const r of rows) console.log(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | '));
    console.log(
      `tasks: dry ${dry.value.tasks} (${JSON.stringify(dry.value.taskStatuses)}), real ${real.value.tasks} (${JSON.stringify(real.value.taskStatuses)}); retained ${dry.value.retained} / ${real.value.retained}; ` +
        `artifacts left after dry ${afterDry.artifacts}, after real ${afterReal.artifacts}; sampled repositories keeping the ${settings.keep} pushed last: ${samples.filter((s) => s.keptLastPushed).length}/${samples.length}`,
    );
    console.log(`server-side execution time (end_time − start_time): dry ${dry.value.serverSeconds ?? '-'} s, real ${real.value.serverSeconds ?? '-'} s; ${cpus().length} CPUs (${cpus()[0]?.model ?? ''}) shared by the server and the benchmark.`);
    console.log(failures.length ? `\nCHECKS FAILED:\n- ${failures.join('\n- ')}` : '\nall checks passed');

    const report = {
      benchmark: 'retention',
      date: startedAt.toISOString(),
      quick,
      database: postgresUrl ? 'postgres' : 'sqlite',
      cpuProfile: cpuProfDir !== undefined,
      settings,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryMiB: Math.round(totalmem() / MiB), node: process.version, loadAvgAtStart },
      versions,
      policy: policyBody(projectId),
      idleAtStartMiB,
      fill: { seconds: round(filled.value.seconds, 2), artifacts, requests: filled.value.requests, artifactsPerSecond: Math.round(artifacts / filled.value.seconds), memory: filled.memory },
      dryRun: { ...dry.value, memory: dry.memory, artifactsAfter: afterDry.artifacts },
      realRun: { ...real.value, memory: real.memory, artifactsAfter: afterReal.artifacts, samples },
      phases,
      checks: { passed: failures.length === 0, failures },
      notes: [
        'Wall time is from the POST of the execution to the first GET that shows a final status (polled every 100 ms).',
        'Memory is the wharf serve process: idle VmRSS after 2 s of quiet, peak VmHWM after clear_refs 5 just before the phase; the fill has no quiet period before it.',
        'The benchmark client (undici, 8 connections) and the server share the machine.',
        'No peer: the CNCF registry has no retention; Harbor was not run here.',
      ],
      loadAvgAtEnd: loadavg(),
    };
    const outDir = join(import.meta.dirname, 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `retention-${report.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}${postgresUrl ? '-postgres' : ''}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${file}`);
    if (failures.length) process.exitCode = 1;
  } catch (err) {
    console.error(`server output (tail):\n${w.output().slice(-4000)}`);
    throw err;
  } finally {
    await dispatcher.close();
    const code = await w.stop();
    if (code !== 0) console.error(`wharf exited with ${code}:\n${w.output().slice(-4000)}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
