/**
 * Development aid: closed-loop manifest PUTs against a compiled Wharf child (optionally under
 * --cpu-prof), one webhook policy to a loopback receiver; prints PUTs/s.
 *   node --import tsx bench/put-profile.ts [--n=3000] [--c=32] [--prof=/tmp/prof]
 * Prints the CPU the client and the Wharf process used (cores) and the PUT rate; with --prof the
 * child writes a .cpuprofile there when it exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
import { Pool } from 'undici';
import { startReceiver } from '../test/helpers/receiver.ts';
import { adminAuth, spawnWharf } from '../test/helpers/wharf.ts';
import { createPolicy, pushBlob, putManifest, smallImage } from '../test/helpers/webhook-client.ts';

const arg = (k: string, d: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? d;
const n = Number(arg('n', '3000'));
const c = Number(arg('c', '32'));
const prof = arg('prof', '');
const recv = await startReceiver();
let got = 0;
recv.onRequest(() => got++);
const dataDir = mkdtempSync(join(tmpdir(), 'put-prof-'));
// WHARF_* variables of this shell reach the child (to try settings).
const env: Record<string, string> = { WHARF_LOG_LEVEL: 'warn', ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WHARF_') && e[1] !== undefined)) };
const w = await spawnWharf({ dataDir, env, compiled: true, nodeArgs: prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [] });
await createPolicy(w.url, adminAuth, '/api/v2.0/projects/library', {
  name: 'p',
  event_types: ['PUSH_ARTIFACT'],
  targets: [{ type: 'http', address: `${recv.url}/p`, payload_format: 'Default' }],
});
const pool = new Pool(w.url, { connections: c });
const repo = 'library/prof';
const shared = smallImage('shared', 'prof-blobs');
await pushBlob(w.url, repo, shared.layer, adminAuth, pool);
await pushBlob(w.url, repo, shared.config, adminAuth, pool);
const imgs = Array.from({ length: n }, (_, i) => smallImage(`prof-${i}`, 'prof-blobs'));
let next = 0;
const cpu0 = process.cpuUsage();
const wcpu = () => { const f = require('node:fs').readFileSync(`/proc/${w.proc.pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const w0 = wcpu();
const t0 = performance.now();
await Promise.all(
  Array.from({ length: c }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await putManifest(w.url, repo, `t${i}`, imgs[i]!.manifest, { auth: adminAuth, dispatcher: pool });
    }
  }),
);
const secs = (performance.now() - t0) / 1000;
const cpu1 = process.cpuUsage(cpu0);
console.log(`client CPU ${((cpu1.user + cpu1.system) / 1e6 / secs).toFixed(2)} cores; wharf CPU ${((wcpu() - w0) / secs).toFixed(2)} cores`);
const deadline = Date.now() + 20_000;
while (got < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
console.log(`${n} PUTs in ${secs.toFixed(2)} s = ${(n / secs).toFixed(0)}/s; deliveries ${got}`);
await pool.close();
await w.stop();
await recv.close();
rmSync(dataDir, { recursive: true, force: true });
