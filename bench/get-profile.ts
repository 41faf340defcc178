/**
 * Development aid: manifest GET and HEAD by tag against a compiled Wharf child (optionally under
 * --cpu-prof), with the keep-alive loop (bench/keepalive-loop.ts); prints req/s, the CPU the
 * client and the Wharf process used, and Wharf's VmRSS / VmHWM.
 *   node --import tsx bench/get-profile.ts [--s=5] [--c=50] [--only=get|head] [--prof=/tmp/prof] [--auth]
 * --auth sends the admin's Basic credentials instead of none (an authenticated pull of a public repo).
 * BENCH_NODE_ARGS='…' passes options to the server's node; GP_OUT=FILE writes the server's whole output
 * there at the end (with BENCH_NODE_ARGS=--trace-gc, its GC trace).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { adminAuth, spawnWharf } from '../test/helpers/wharf.ts';
import { pushSmallImage, smallImage } from '../test/helpers/webhook-client.ts';
import { keepAliveLoop } from './keepalive-loop.ts';

const arg = (k: string, d: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? d;
const seconds = Number(arg('s', '5'));
const connections = Number(arg('c', '50'));
const only = arg('only', '');
const prof = arg('prof', '');
const dataDir = mkdtempSync(join(tmpdir(), 'get-prof-'));
// WHARF_* variables of this shell reach the child (to try settings).
const env: Record<string, string> = { WHARF_LOG_LEVEL: 'warn', ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WHARF_') && e[1] !== undefined)) };
const nodeArgs = [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
const w = await spawnWharf({ dataDir, env, compiled: true, nodeArgs });
const pid = w.proc.pid ?? 0;
const mem = () => {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const f = (k: string) => Math.round(Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(s)?.[1]) / 1024);
  return `RSS ${f('VmRSS')} MiB, HWM ${f('VmHWM')} MiB`;
};
const wcpu = () => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / 100;
};
await pushSmallImage(w.url, 'library/prof', smallImage('prof'), { tag: 'v1', auth: adminAuth });
const headers: Record<string, string> = { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' };
if (process.argv.includes('--auth')) headers.authorization = adminAuth;
console.log(`idle: ${mem()}`);
try {
  for (const method of ['GET', 'HEAD'] as const) {
    if (only && only !== method.toLowerCase()) continue;
    const c0 = process.cpuUsage();
    const w0 = wcpu();
    const t0 = performance.now();
    const r = await keepAliveLoop({ url: w.url, method, path: '/v2/library/prof/manifests/v1', headers, connections, seconds });
    const secs = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    console.log(
      `${method}: ${r.requestsPerSecond} req/s p50 ${r.latencyP50Ms} p99 ${r.latencyP99Ms} ms, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.connects} connects; ` +
        `client ${((c1.user + c1.system) / 1e6 / secs).toFixed(2)} cores, wharf ${((wcpu() - w0) / secs).toFixed(2)} cores; ${mem()}`,
    );
  }
} finally {
  await w.stop();
  if (process.argv.includes('--output')) console.log(w.output().slice(-6000));
  if (process.env.GP_OUT) (await import('node:fs')).writeFileSync(process.env.GP_OUT, w.output());
  rmSync(dataDir, { recursive: true, force: true });
}
