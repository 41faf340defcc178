/**
 * The peer for the benchmark: the CNCF registry (`docker-registry serve`, distribution 2.8) as a
 * child process with a temporary config: filesystem storage in a temporary folder, 127.0.0.1 on a
 * free port, no auth, no notifications.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../test/helpers/wharf.ts';

/** A running CNCF registry. */
export interface CncfRegistry {
  proc: ChildProcess;
  url: string;
  host: string;
  dir: string;
  /** SIGTERM, wait for the exit, remove the temporary folder. */
  stop(): Promise<void>;
}

/** The registry binary (Debian's `docker-registry`). */
export const cncfBinary = 'docker-registry';

/** The binary's version line, or null when it is not installed. */
export function cncfVersion(): string | null {
  const r = spawnSync(cncfBinary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Starts the CNCF registry; resolves once `/v2/` answers. */
export async function startCncfRegistry(): Promise<CncfRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-cncf-'));
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: wharf-bench-not-a-secret',
    '',
  ].join('\n');
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, config);
  const proc = spawn(cncfBinary, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited with ${proc.exitCode}:\n${out}`);
    try {
      const r = await fetch(`${url}/v2/`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`docker-registry did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    url,
    host: `127.0.0.1:${port}`,
    dir,
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
