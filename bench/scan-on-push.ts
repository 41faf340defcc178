/**
 * Scan on push, as a user sees it: a compiled `wharf serve` (SQLite, log level warn) with the
 * `library` project's `auto_scan` on and one webhook policy for SCANNING_COMPLETED to a real
 * loopback receiver. Each push is a new one-layer image (this machine's /etc/os-release and
 * /var/lib/dpkg/status plus a file that makes its digest new) put over HTTP; the time is from the
 * manifest PUT's response to the receiver holding the SCANNING_COMPLETED of that digest: the
 * scan-on-push consumer, the job, the built-in scanner's pull and analysis, the report and the
 * delivery. Pushes are one at a time, after 3 unmeasured ones. No peer: Harbor with Trivy does not
 * install here. Prints a table and writes bench/results/scan-on-push-<timestamp>.json.
 *
 *   npm run bench:scan-on-push               # 20 pushes
 *   npm run bench:scan-on-push -- --quick    # 5 pushes
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startReceiver } from '../test/helpers/receiver.ts';
import { adminAuth, spawnWharf, tempDataDir } from '../test/helpers/wharf.ts';
import { createPolicy, pushBlob, putManifest } from '../test/helpers/webhook-client.ts';
import { sha256 } from '../test/helpers/oci-layout.ts';
import { hostImage } from '../test/helpers/host-image.ts';
import { git } from './git.ts';

const quick = process.argv.includes('--quick');
const pushes = quick ? 5 : 20;
const warmups = 3;
const repo = 'library/scan-on-push';

/** One new image: returns its manifest bytes after pushing its blobs. */
async function image(base: string, n: number): Promise<Buffer> {
  const { layer, config, manifest } = await hostImage({ name: 'bench-push', data: Buffer.from(`push ${n} ${Date.now()}\n`) });
  await pushBlob(base, repo, layer, adminAuth);
  await pushBlob(base, repo, config, adminAuth);
  return manifest;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

const recv = await startReceiver();
const w = await spawnWharf({ dataDir: tempDataDir('wharf-bench-scan-on-push-'), compiled: true, env: { WHARF_LOG_LEVEL: 'warn' } });
const latencies: number[] = [];
let missing = 0;
try {
  const meta = await request(`${w.url}/api/v2.0/projects/library`, { method: 'PUT', headers: { authorization: adminAuth, 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { auto_scan: 'true' } }) });
  await meta.body.dump();
  if (meta.statusCode !== 200) throw new Error(`PUT /projects/library answered ${meta.statusCode}`);
  await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', { name: 'scanned', event_types: ['SCANNING_COMPLETED'], targets: [{ type: 'http', address: `${recv.url}/scanned` }] });
  for (let i = 0; i < warmups + pushes; i++) {
    const manifest = await image(w.url, i);
    const digest = sha256(manifest);
    await putManifest(w.url, repo, `v${i}`, manifest, { auth: adminAuth });
    const t0 = performance.now();
    const deadline = Date.now() + 60_000;
    let got: number | null = null;
    while (got === null && Date.now() < deadline) {
      const hit = recv.requests.find((r) => r.body.includes(digest));
      if (hit) got = hit.receivedAtHr - t0;
      else await sleep(2);
    }
    if (i < warmups) continue;
    if (got === null) missing++;
    else latencies.push(got);
  }
} finally {
  await w.stop();
  await recv.close();
}

const row = (name: string, value: string): string => `${name.padEnd(48)} | ${value}`;
console.log(row('measure', 'Wharf (built-in scanner)'));
console.log(row('pushes measured / SCANNING_COMPLETED missing', `${latencies.length} / ${missing}`));
console.log(row('manifest PUT -> SCANNING_COMPLETED p50 (ms)', pct(latencies, 50).toFixed(1)));
console.log(row('manifest PUT -> SCANNING_COMPLETED p90 (ms)', pct(latencies, 90).toFixed(1)));
console.log(row('manifest PUT -> SCANNING_COMPLETED max (ms)', Math.max(...latencies).toFixed(1)));
console.log(`${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const dir = join(import.meta.dirname, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `scan-on-push-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ commit: git(['rev-parse', 'HEAD']), pushes, warmups, missing, latenciesMs: latencies, p50: pct(latencies, 50), p90: pct(latencies, 90), max: Math.max(...latencies), cpus: cpus().length, loadavg: loadavg() }, null, 2) + '\n');
console.log(`wrote ${file}`);
