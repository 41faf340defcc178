/**
 * Test harness: a real Wharf on an ephemeral loopback port with its own temporary data folder
 * (a real SQLite file and real blob storage), in-process or as a child process for kill -9 tests.
 */
// First: Node's fetch keeps its own dispatcher (see the module).
import './builtin-fetch.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { pino, type Logger } from 'pino';
import { loadConfig } from '../../src/config/index.ts';
import { createWharf, type Wharf } from '../../src/main.ts';
import { databaseOverrides, dropDatabaseOf } from './db.ts';

/** The admin password every test instance uses. */
export const adminPassword = 'Harbor12345';
/** `Authorization` header value for the admin. */
export const adminAuth = 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64');

/** A running in-process test instance. */
export interface TestWharf {
  wharf: Wharf;
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT (for skopeo image references). */
  host: string;
  dataDir: string;
  /** Stops the server; removes the data folder unless `keepData`. */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/** Makes a fresh temporary data folder. */
export function tempDataDir(prefix = 'wharf-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts Wharf in this process on 127.0.0.1 with an ephemeral port. `overrides` are config keys;
 * `logger` replaces the silent one (a test that reads the log passes its own). `sqlite` keeps the
 * SQLite file of the folder in the PostgreSQL pass too (a test of what an older release left there).
 */
export async function startWharf(opts: { dataDir?: string; overrides?: Record<string, unknown>; logger?: Logger; sqlite?: boolean } = {}): Promise<TestWharf> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const config = loadConfig({
    // No test reaches the network: the vulnerability database is never updated on a schedule (overrides can still set one).
    env: { WHARF_SCANNING__VULNDB__UPDATE_SCHEDULE: 'None' },
    file: null,
    // In the PostgreSQL pass of `npm test`, the folder's own database (test/helpers/db.ts).
    overrides: { host: '127.0.0.1', port: 0, data_dir: dataDir, admin_password: adminPassword, log_level: 'silent', ...(opts.sqlite ? {} : await databaseOverrides(dataDir)), ...opts.overrides },
  });
  const logger = opts.logger ?? pino({ level: process.env.WHARF_TEST_LOG ?? 'silent' });
  const wharf = await createWharf(config, { logger, defaultMetrics: false });
  const url = await wharf.listen();
  // external_url follows the real port unless a test set it.
  if (!opts.overrides?.external_url) (wharf.config as { external_url: string }).external_url = url;
  return {
    wharf,
    url,
    host: url.replace(/^http:\/\//, ''),
    dataDir,
    async close(o = {}) {
      await wharf.close();
      if (!o.keepData) {
        rmSync(dataDir, { recursive: true, force: true });
        await dropDatabaseOf(dataDir);
      }
    },
  };
}

/** A Wharf child process (`wharf serve`), for crash and restart tests. */
export interface SpawnedWharf {
  proc: ChildProcess;
  url: string;
  host: string;
  /** kill -9 and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** Everything the process wrote to stdout/stderr so far. */
  output(): string;
}

let built = false;
/** Compiles src/ to dist/ (`npm run build`) once per process. */
function buildOnce(): void {
  if (built) return;
  const tsc = join(import.meta.dirname, '../../node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.status}):\n${r.stdout}${r.stderr}`);
  built = true;
}

/**
 * Starts `wharf serve` as a child process on `port` (0 picks one) with `dataDir`; resolves when it listens.
 * `compiled`: build first and run `node dist/main.js` (what `npm start` runs) instead of tsx over src/.
 * `nodeArgs`: extra options for node itself (e.g. `--cpu-prof`, which NODE_OPTIONS refuses).
 * `https`: Wharf serves TLS (`env` sets the tls section): the URLs are https and readiness is
 * polled without verifying the certificate (the test checks it with the CA it downloads).
 */
export async function spawnWharf(opts: { dataDir: string; port?: number; env?: Record<string, string>; compiled?: boolean; nodeArgs?: string[]; https?: boolean }): Promise<SpawnedWharf> {
  const port = opts.port ?? (await freePort());
  if (opts.compiled) buildOnce();
  const args = opts.compiled ? ['dist/main.js', 'serve'] : ['--import', 'tsx', 'src/main.ts', 'serve'];
  const db = (await databaseOverrides(opts.dataDir)).database;
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      WHARF_HOST: '127.0.0.1',
      WHARF_PORT: String(port),
      WHARF_DATA_DIR: opts.dataDir,
      WHARF_ADMIN_PASSWORD: adminPassword,
      WHARF_EXTERNAL_URL: `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`,
      WHARF_LOG_LEVEL: 'info',
      WHARF_SCANNING__VULNDB__UPDATE_SCHEDULE: 'None',
      ...(db ? { WHARF_DATABASE__URL: db.url } : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  // Only an https Wharf needs undici's own fetch (an unverified agent for the readiness poll); the
  // package is loaded just then, since loading it swaps the dispatcher of the process's global fetch.
  const undici = opts.https ? await import('undici') : undefined;
  const unverified = undici ? new undici.Agent({ connect: { rejectUnauthorized: false } }) : undefined;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`wharf exited with ${proc.exitCode}:\n${out}`);
    try {
      const r = undici && unverified ? await undici.fetch(`${url}/readyz`, { dispatcher: unverified }) : await fetch(`${url}/readyz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`wharf did not become ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await unverified?.close();
  return {
    proc,
    url,
    host: `127.0.0.1:${port}`,
    async kill9() {
      proc.kill('SIGKILL');
      await exited;
    },
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    output: () => out,
  };
}

/** Finds a free loopback port. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
