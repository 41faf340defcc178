/**
 * Runs the real skopeo binary for the e2e tests and the benchmark: a timeout per call, captured
 * output, no trust policy checks, and an empty auth file so credentials never leak in from the host.
 * When skopeo is missing the e2e tests skip, unless WHARF_REQUIRE_E2E=1 (CI), where they fail.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminPassword } from './wharf.ts';

/** What one skopeo run produced. */
export interface SkopeoResult {
  /** Exit code; null when killed (timeout). */
  code: number | null;
  stdout: string;
  stderr: string;
  /** The command line, for failure messages. */
  command: string;
  timedOut: boolean;
}

let available: boolean | undefined;

/** True when a working `skopeo` is on PATH. */
export function skopeoAvailable(): boolean {
  if (available === undefined) {
    const r = spawnSync('skopeo', ['--version'], { encoding: 'utf8', timeout: 10_000 });
    available = r.status === 0;
  }
  return available;
}

/**
 * True when the e2e tests must run (the test harness variable WHARF_REQUIRE_E2E=1, set by CI):
 * a missing skopeo is then a failure, not a skip.
 */
export function e2eRequired(): boolean {
  return process.env.WHARF_REQUIRE_E2E === '1';
}

/**
 * The `skip` option for an e2e test: a reason when skopeo is missing and e2e is not required,
 * else false (the test runs, and {@link requireSkopeo} fails it if skopeo is missing).
 */
export function skipWithoutSkopeo(): string | false {
  if (skopeoAvailable() || e2eRequired()) return false;
  return 'skopeo is not installed (apt-get install -y skopeo); set WHARF_REQUIRE_E2E=1 to fail instead';
}

/** Throws when skopeo is missing; call first in every e2e test. */
export function requireSkopeo(): void {
  if (!skopeoAvailable()) throw new Error('skopeo is not installed but WHARF_REQUIRE_E2E=1 requires the e2e tests to run');
}

let isolation: { dir: string; authFile: string } | undefined;

function isolated(): { dir: string; authFile: string } {
  if (!isolation) {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-skopeo-'));
    const authFile = join(dir, 'auth.json');
    writeFileSync(authFile, '{"auths":{}}');
    isolation = { dir, authFile };
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return isolation;
}

/** Options for {@link skopeo}. */
export interface SkopeoOptions {
  /** Kill skopeo after this many milliseconds (default 120 s). */
  timeoutMs?: number;
}

/** Runs `skopeo <args>` (with `--insecure-policy`); never throws for a non-zero exit. */
export function skopeo(args: string[], opts: SkopeoOptions = {}): Promise<SkopeoResult> {
  const iso = isolated();
  const full = ['--insecure-policy', '--tmpdir', iso.dir, ...args];
  const command = ['skopeo', ...full].join(' ');
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: iso.dir,
      REGISTRY_AUTH_FILE: iso.authFile,
      XDG_RUNTIME_DIR: iso.dir,
      DOCKER_CONFIG: iso.dir,
    };
    const child = spawn('skopeo', full, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, command, timedOut });
    });
  });
}

/** Formats a result for an assertion message. */
export function describeRun(r: SkopeoResult): string {
  return `${r.command}\nexit ${r.code}${r.timedOut ? ' (timed out)' : ''}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`;
}

/** Runs skopeo and throws (with the full command and output) unless it exits 0; returns stdout. */
export async function skopeoOk(args: string[], opts: SkopeoOptions = {}): Promise<string> {
  const r = await skopeo(args, opts);
  if (r.code !== 0) throw new Error(`skopeo failed:\n${describeRun(r)}`);
  return r.stdout;
}

/** The admin credentials as skopeo's `--creds` value. */
export const adminCreds = `admin:${adminPassword}`;
