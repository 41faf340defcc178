/**
 * The peer for the benchmark: the CNCF registry (`docker-registry serve`, distribution 2.8) as a
 * child process, started as the tests start it (test/helpers/cncf-registry.ts: filesystem storage
 * in a temporary folder, 127.0.0.1 on a free port, no auth, no notifications).
 */
import { spawnSync } from 'node:child_process';
import { cncfBinary, startCncf } from '../test/helpers/cncf-registry.ts';

/** A running CNCF registry. */
export interface CncfRegistry {
  pid: number;
  url: string;
  host: string;
  dir: string;
  /** Kills it and removes the temporary folder. */
  stop(): Promise<void>;
}

/** The binary's version line, or null when it is not installed. */
export function cncfVersion(): string | null {
  const r = spawnSync(cncfBinary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Starts the CNCF registry; resolves once `/v2/` answers. */
export async function startCncfRegistry(): Promise<CncfRegistry> {
  const c = await startCncf();
  return { pid: c.pid(), url: c.url, host: c.host, dir: c.dir, stop: () => c.remove() };
}
