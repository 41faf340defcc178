/**
 * Replication and proxy-cache benchmark (issue 13), side by side with skopeo and the CNCF registry
 * in one run. Wharf runs as `wharf serve` (compiled, a child process, SQLite, log level warn); the
 * peers are Debian's CNCF registry (`docker-registry`) and a second Wharf, all on loopback.
 *
 * 1. Push replication of a 200 MiB three-layer image (random bytes, gzip layers built by
 *    test/helpers/oci-layout.ts, pushed into Wharf A as `bench/big:1`):
 *    - `skopeo copy docker://A/bench/big:1 docker://<dest>/copied/big:1` (a fresh HOME per run and
 *      skopeo's root blob-info cache removed), against
 *    - a Wharf execution of a manual push policy to `<dest>` (`dest_namespace` `copied`): wall
 *      time from `POST /replication/executions` to the first final status read (polled every
 *      50 ms), so the job framework's scheduling is included.
 *    Every copy goes to a destination started empty for it (a fresh CNCF registry process, or a
 *    fresh Wharf B), so every blob is uploaded and nothing can be mounted. Destinations: the CNCF
 *    registry and Wharf B. The table shows medians of `--runs` runs (default 3) and Wharf / skopeo
 *    (target ≤ 1.2). Wharf A's peak resident memory above its idle level during its runs (VmHWM
 *    after clear_refs) shows that blobs are streamed, not held.
 * 2. Proxy cache: the same image pushed to the CNCF registry as `bench/big:1`; a proxy-cache
 *    project of Wharf A per run in front of it. `skopeo copy … oci:<fresh dir>` of
 *    - `docker://cncf/bench/big:1` (direct),
 *    - `docker://A/proxy<i>/bench/big:1` the first time (cold: fetched upstream and cached),
 *    - the same again (warm: served from the cache).
 * 3. Checks (the benchmark fails when one does not hold): every execution ends `Succeed` with one
 *    task; the manifest digest at every destination equals the source's (HEAD); proxied pulls
 *    give the upstream digest.
 *
 *   npm run bench:replication                 # about a minute on 2 cores
 *   npm run bench:replication -- --runs 5
 *   npm run bench:replication -- --size 50    # MiB; a quicker look
 *
 * Prints a table and writes bench/results/replication-<timestamp>.json.
 */
import { git } from './git.ts';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCncfRegistry, cncfVersion, type CncfRegistry } from './cncf-registry.ts';
import { OciLayout, writeMultiLayerImage } from '../test/helpers/oci-layout.ts';
import { adminAuth, adminPassword, spawnWharf, tempDataDir, type SpawnedWharf } from '../test/helpers/wharf.ts';
import { api, explain, type ApiAnswer } from '../test/helpers/webhook-client.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

const runs = arg('--runs', 3);
const sizeMiB = arg('--size', 200);
const creds = `admin:${adminPassword}`;
const finalStatuses = new Set(['Succeed', 'Failed', 'Stopped']);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

function log(msg: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Runs skopeo with a fresh HOME (no blob-info cache, no stored credentials); throws unless it exits 0. */
async function skopeo(args: string[]): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'wharf-bench-skopeo-'));
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn('skopeo', ['--insecure-policy', '--tmpdir', home, ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: home, DOCKER_CONFIG: home, REGISTRY_AUTH_FILE: join(home, 'auth.json') },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`skopeo ${args.join(' ')} exited ${code}: ${err}`))));
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function call(url: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, status: number, body?: unknown): Promise<ApiAnswer> {
  const a = await api(url, method, `/api/v2.0${path}`, { auth: adminAuth, ...(body === undefined ? {} : { body }) });
  if (a.status !== status) throw new Error(`expected ${status}: ${explain(method, path, a)}`);
  return a;
}

function idFrom(a: ApiAnswer): number {
  return Number(String(a.headers.location).split('/').pop());
}

/** The digest a registry serves for `repo:ref` (HEAD, anonymous or admin). */
async function digestAt(base: string, repo: string, ref: string, auth?: string): Promise<string> {
  const accept = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');
  const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { accept, ...(auth ? { authorization: auth } : {}) } });
  if (r.status !== 200) throw new Error(`HEAD ${base}/v2/${repo}/manifests/${ref} answered ${r.status}`);
  return r.headers.get('docker-content-digest') ?? '';
}

function statusKb(pid: number, key: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Runs one execution of `policyId` on A; resolves with its wall time in seconds and A's peak RSS growth in MiB. */
async function replicate(a: SpawnedWharf, policyId: number): Promise<{ seconds: number; peakMiB: number }> {
  const pid = a.proc.pid ?? 0;
  const idle = statusKb(pid, 'VmRSS');
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
  const t0 = performance.now();
  const id = idFrom(await call(a.url, 'POST', '/replication/executions', 201, { policy_id: policyId }));
  for (;;) {
    const e = (await call(a.url, 'GET', `/replication/executions/${id}`, 200)).json as { status: string; total: number; succeed: number; status_text: string };
    if (finalStatuses.has(e.status)) {
      const seconds = (performance.now() - t0) / 1000;
      if (e.status !== 'Succeed' || e.total !== 1 || e.succeed !== 1) throw new Error(`execution ${id} ended ${JSON.stringify(e)}`);
      return { seconds, peakMiB: Math.max(0, statusKb(pid, 'VmHWM') - idle) / 1024 };
    }
    await sleep(50);
  }
}

interface Row {
  case: string;
  peer: string;
  peerSeconds: number[];
  wharfSeconds: number[];
  wharfPeakMiB?: number[];
}

async function main(): Promise<void> {
  const version = cncfVersion();
  if (!version) throw new Error('docker-registry is not installed (apt-get install -y docker-registry)');
  log(`building a ${sizeMiB} MiB three-layer image`);
  const layout = OciLayout.create();
  const image = await writeMultiLayerImage(layout, 'big', { totalMiB: sizeMiB, layers: 3 });
  const digest = image.manifest.digest;
  const dirA = tempDataDir('wharf-bench-repl-a-');
  const env = { WHARF_LOG_LEVEL: 'warn', WHARF_JOBS__POLL_MS: '100' };
  const a = await spawnWharf({ dataDir: dirA, compiled: true, env });
  const cncf: CncfRegistry = await startCncfRegistry();
  const rows: Row[] = [];
  try {
    await call(a.url, 'POST', '/projects', 201, { project_name: 'bench', metadata: { public: 'false' } });
    log('pushing the image into Wharf A and the upstream CNCF registry');
    await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds, layout.ref('big'), `docker://${a.host}/bench/big:1`]);
    await skopeo(['copy', '--dest-tls-verify=false', layout.ref('big'), `docker://${cncf.host}/bench/big:1`]);
    const cncfId = idFrom(await call(a.url, 'POST', '/registries', 201, { name: 'cncf', type: 'docker-registry', url: cncf.url, insecure: true }));

    // Every copy goes to a destination registry started empty for it (a fresh CNCF registry or
    // Wharf B), so neither tool can skip or mount a blob the destination already has.
    type Dest = { base: string; host: string; auth?: string; close(): Promise<void> };
    const freshCncf = async (): Promise<Dest> => {
      const c = await startCncfRegistry();
      return { base: c.url, host: c.host, close: () => c.stop() };
    };
    const freshWharf = async (): Promise<Dest> => {
      const dir = tempDataDir('wharf-bench-repl-b-');
      const w = await spawnWharf({ dataDir: dir, compiled: true, env });
      return {
        base: w.url,
        host: w.host,
        auth: adminAuth,
        async close() {
          await w.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    };
    for (const kind of [
      { name: 'CNCF registry', type: 'docker-registry', fresh: freshCncf },
      { name: 'Wharf B', type: 'harbor', fresh: freshWharf },
    ]) {
      const row: Row = { case: `push replication, ${sizeMiB} MiB image, to the ${kind.name}`, peer: 'skopeo copy', peerSeconds: [], wharfSeconds: [], wharfPeakMiB: [] };
      for (let i = 0; i < runs; i++) {
        const tag = `${kind.type === 'harbor' ? 'b' : 'c'}${i}`;
        const forSkopeo = await kind.fresh();
        try {
          if (forSkopeo.auth) await call(forSkopeo.base, 'POST', '/projects', 201, { project_name: 'copied', metadata: { public: 'false' } });
          rmSync('/var/lib/containers/cache', { recursive: true, force: true }); // skopeo's blob-info cache when run as root
          const t0 = performance.now();
          await skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds, '--dest-tls-verify=false', ...(forSkopeo.auth ? ['--dest-creds', creds] : []), `docker://${a.host}/bench/big:1`, `docker://${forSkopeo.host}/copied/big:1`]);
          row.peerSeconds.push((performance.now() - t0) / 1000);
          if ((await digestAt(forSkopeo.base, 'copied/big', '1', forSkopeo.auth)) !== digest) throw new Error(`skopeo's copy to ${kind.name} has another digest`);
        } finally {
          await forSkopeo.close();
        }
        const forWharf = await kind.fresh();
        try {
          const registry = idFrom(
            await call(a.url, 'POST', '/registries', 201, {
              name: `dest-${tag}`,
              type: kind.type,
              url: forWharf.base,
              insecure: true,
              ...(forWharf.auth ? { credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword } } : {}),
            }),
          );
          const policy = idFrom(
            await call(a.url, 'POST', '/replication/policies', 201, {
              name: `bench-${tag}`,
              dest_registry: { id: registry },
              dest_namespace: 'copied',
              filters: [{ type: 'name', value: 'bench/big' }],
              trigger: { type: 'manual' },
              override: true,
              enabled: true,
            }),
          );
          const r = await replicate(a, policy);
          row.wharfSeconds.push(r.seconds);
          row.wharfPeakMiB?.push(r.peakMiB);
          if ((await digestAt(forWharf.base, 'copied/big', '1', forWharf.auth)) !== digest) throw new Error(`Wharf's replication to ${kind.name} has another digest`);
          log(`${kind.name} run ${i + 1}: skopeo ${round(row.peerSeconds[i] ?? 0)} s, Wharf ${round(r.seconds)} s (peak +${round(r.peakMiB, 0)} MiB)`);
        } finally {
          await forWharf.close();
        }
      }
      rows.push(row);
    }

    const cold: Row = { case: `proxy cache, cold pull of the ${sizeMiB} MiB image`, peer: 'direct pull from the CNCF registry', peerSeconds: [], wharfSeconds: [] };
    const warm: Row = { case: `proxy cache, warm pull of the ${sizeMiB} MiB image`, peer: 'direct pull from the CNCF registry', peerSeconds: [], wharfSeconds: [] };
    for (let i = 0; i < runs; i++) {
      const project = `proxy${i}`;
      await call(a.url, 'POST', '/projects', 201, { project_name: project, registry_id: cncfId, metadata: { public: 'true' } });
      const out = mkdtempSync(join(tmpdir(), 'wharf-bench-pull-'));
      try {
        let t0 = performance.now();
        await skopeo(['copy', '--src-tls-verify=false', `docker://${cncf.host}/bench/big:1`, `oci:${join(out, 'direct')}:x`]);
        const direct = (performance.now() - t0) / 1000;
        cold.peerSeconds.push(direct);
        warm.peerSeconds.push(direct);
        t0 = performance.now();
        await skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${a.host}/${project}/bench/big:1`, `oci:${join(out, 'cold')}:x`]);
        cold.wharfSeconds.push((performance.now() - t0) / 1000);
        // The cache is filled behind the first pull: wait until Wharf has the artifact before the warm pull.
        const deadline = Date.now() + 120_000;
        while ((await api(a.url, 'GET', `/api/v2.0/projects/${project}/repositories/bench%252Fbig/artifacts/${digest}`, { auth: adminAuth })).status !== 200) {
          if (Date.now() > deadline) throw new Error('the proxied image was not cached within 120 s');
          await sleep(100);
        }
        t0 = performance.now();
        await skopeo(['copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${a.host}/${project}/bench/big:1`, `oci:${join(out, 'warm')}:x`]);
        warm.wharfSeconds.push((performance.now() - t0) / 1000);
        if ((await digestAt(a.url, `${project}/bench/big`, '1', adminAuth)) !== digest) throw new Error('the proxied image has another digest');
        log(`proxy run ${i + 1}: direct ${round(direct)} s, cold ${round(cold.wharfSeconds[i] ?? 0)} s, warm ${round(warm.wharfSeconds[i] ?? 0)} s`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    rows.push(cold, warm);
  } finally {
    await a.stop();
    await cncf.stop();
    rmSync(dirA, { recursive: true, force: true });
    rmSync(layout.dir, { recursive: true, force: true });
  }

  const table = rows.map((r) => ({
    case: r.case,
    peer: r.peer,
    'peer s (median)': round(median(r.peerSeconds)),
    'Wharf s (median)': round(median(r.wharfSeconds)),
    'Wharf / peer': round(median(r.wharfSeconds) / median(r.peerSeconds)),
    ...(r.wharfPeakMiB ? { 'Wharf peak RSS +MiB': round(Math.max(...r.wharfPeakMiB), 0) } : {}),
  }));
  console.table(table);
  const result = {
    benchmark: 'replication',
    date: new Date().toISOString(),
    commit: git(['rev-parse', '--short', 'HEAD']),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', memGiB: round(totalmem() / 2 ** 30, 1), load: loadavg() },
    peers: { cncf: version, skopeo: 'skopeo copy, fresh HOME per run' },
    settings: { runs, sizeMiB, layers: 3 },
    rows,
    table,
  };
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  const file = join(import.meta.dirname, 'results', `replication-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${file}`);
}

await main();
