/**
 * Development aid: two compiled Wharf builds (two checkouts, each built with `npm run build`;
 * e.g. `git worktree add /tmp/old <commit>`, its node_modules linked) under the same manifest
 * GET (or HEAD) load AT THE SAME TIME, round after round, on SQLite (or PostgreSQL with
 * WHARF_TEST_DATABASE=postgres): the machine's speed, which moves by a third or more within
 * minutes here, then moves both alike, so their ratio in one round means more than two runs
 * minutes apart. Prints req/s, cores, CPU µs per request and VmRSS at the round's end (peak
 * VmHWM at the end) of each, and the ratio B / A.
 *   node --import tsx bench/get-ab.ts --dirs=/tmp/old,/work/main [--s=8] [--rounds=4] [--method=HEAD]
 * The same build twice with different node options: --dirs=$PWD,$PWD --node-args='|--max-semi-space-size=8'
 * (A's options, a bar, B's options).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminAuth, spawnWharf } from '../test/helpers/wharf.ts';
import { pushSmallImage, smallImage } from '../test/helpers/webhook-client.ts';
import { keepAliveLoop } from './keepalive-loop.ts';
const arg = (k: string, d: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? d;
const dirs = arg('dirs', '').split(',').filter(Boolean);
if (dirs.length !== 2) throw new Error('--dirs=A,B: two checkouts, each built');
const seconds = Number(arg('s', '8'));
const rounds = Number(arg('rounds', '4'));
const method = arg('method', 'GET') as 'GET' | 'HEAD';
const env: Record<string, string> = { WHARF_LOG_LEVEL: 'warn', ...Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('WHARF_') && e[1] !== undefined)) };
const nodeArgs = arg('node-args', '|').split('|').map((a) => a.split(' ').filter(Boolean));
const servers = [];
for (const [i, d] of dirs.entries()) {
  process.chdir(d); // spawnWharf runs `node dist/main.js` in the current folder
  const dataDir = mkdtempSync(join(tmpdir(), 'ab-'));
  const w = await spawnWharf({ dataDir, env, compiled: true, nodeArgs: nodeArgs[i] ?? [] });
  await pushSmallImage(w.url, 'library/prof', smallImage('prof'), { tag: 'v1', auth: adminAuth });
  servers.push({ d: `${'AB'[i]} ${d}${nodeArgs[i]?.length ? ` ${nodeArgs[i]?.join(' ')}` : ''}`, w, dataDir });
}
const statusMiB = (pid: number, key: string) => Math.round(Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024);
const cpu = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []; return (Number(f[11]) + Number(f[12])) / 100; };
const headers = { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json' };
const res: Record<string, number[]> = {};
try {
  for (let r = 0; r < rounds; r++) {
    const c0 = servers.map((s) => cpu(s.w.proc.pid ?? 0));
    const out = await Promise.all(servers.map((s) => keepAliveLoop({ url: s.w.url, method, path: '/v2/library/prof/manifests/v1', headers, connections: 25, seconds })));
    const line = servers.map((s, i) => {
      const c = (cpu(s.w.proc.pid ?? 0) - (c0[i] ?? 0)) / seconds;
      const o = out[i] as (typeof out)[number];
      (res[s.d] ??= []).push(o.requestsPerSecond);
      return `${s.d}: ${o.requestsPerSecond} req/s, ${c.toFixed(2)} cores, ${(c / o.requestsPerSecond * 1e6).toFixed(0)} µs/req, RSS ${statusMiB(s.w.proc.pid ?? 0, 'VmRSS')} MiB`;
    });
    console.log(`round ${r + 1}: ${line.join(' | ')}  ratio ${((out[1]?.requestsPerSecond ?? 0) / (out[0]?.requestsPerSecond ?? 1)).toFixed(3)}`);
  }
  console.log(`peak RSS (VmHWM): ${servers.map((s) => `${s.d} ${statusMiB(s.w.proc.pid ?? 0, 'VmHWM')} MiB`).join(' | ')}`);
} finally {
  for (const s of servers) { await s.w.stop(); rmSync(s.dataDir, { recursive: true, force: true }); }
}
const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
const [a, b] = servers.map((s) => sum(res[s.d] ?? []));
console.log(`total ${a} / ${b}; ratio ${((b ?? 0) / (a ?? 1)).toFixed(3)}`);
