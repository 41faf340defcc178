/**
 * End-to-end smoke test of what `npm start` runs: `npm run build` compiles src/ to dist/, then
 * `node dist/main.js serve` (no tsx) starts on a fresh data folder, answers, and stops cleanly.
 * Needs no skopeo, so it never skips.
 */
// run-tests: sqlite pass only (the subject is the build and the embedded default start, SQLite and a data folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { adminPassword, freePort, tempDataDir } from '../helpers/wharf.ts';

const root = join(import.meta.dirname, '../..');
const mainJs = join(root, 'dist/main.js');

let built = false;
/** `npm run build`, once for this file's tests. */
function buildOnce(): void {
  if (built) return;
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  assert.equal(build.status, 0, `npm run build failed:\n${build.stdout}${build.stderr}`);
  built = true;
}

/** The environment a child Wharf gets: nothing inherited but PATH and HOME, plus `extra`. */
const childEnv = (extra: Record<string, string>): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? '/tmp',
  ...extra,
});

test('e2e: npm run build, then node dist/main.js serve starts, answers and stops on SIGTERM', { timeout: 180_000 }, async (t) => {
  buildOnce();

  const dataDir = tempDataDir('wharf-start-');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Run from the data folder, not the checkout: the compiled server must not depend on its cwd.
  const proc = spawn(process.execPath, [mainJs, 'serve'], {
    cwd: dataDir,
    env: childEnv({
      WHARF_HOST: '127.0.0.1',
      WHARF_PORT: String(port),
      WHARF_DATA_DIR: dataDir,
      WHARF_ADMIN_PASSWORD: adminPassword,
      WHARF_EXTERNAL_URL: url,
      WHARF_LOG_LEVEL: 'info',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  const deadline = Date.now() + 30_000;
  for (;;) {
    assert.equal(proc.exitCode, null, `wharf exited early:\n${out}`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    assert.ok(Date.now() < deadline, `wharf did not become ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const v2 = await fetch(`${url}/v2/`);
  assert.equal(v2.status, 401);
  assert.match(v2.headers.get('www-authenticate') ?? '', new RegExp(`^Bearer realm="${url}/service/token"`));
  await v2.body?.cancel();

  const info = await fetch(`${url}/api/v2.0/systeminfo`);
  assert.equal(info.status, 200);
  const body: unknown = await info.json();
  assert.ok(body !== null && typeof body === 'object' && 'wharf_version' in body, `systeminfo: ${JSON.stringify(body)}`);

  // The fresh data folder got its admin (the password from the environment) and the library project.
  const auth = 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64');
  const lib = await fetch(`${url}/api/v2.0/projects/library`, { headers: { authorization: auth } });
  assert.equal(lib.status, 200);
  await lib.body?.cancel();

  proc.kill('SIGTERM');
  assert.equal(await exited, 0, `exit code after SIGTERM:\n${out}`);
});

test('e2e: node dist/main.js help prints the usage; a bad WHARF_PORT exits 2 naming the error', { timeout: 180_000 }, () => {
  buildOnce();

  const help = spawnSync(process.execPath, [mainJs, 'help'], { env: childEnv({}), encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: wharf <command>/);
  assert.match(help.stdout, /serve/);
  assert.match(help.stdout, /gc/);

  const dataDir = tempDataDir('wharf-start-bad-');
  try {
    const bad = spawnSync(process.execPath, [mainJs, 'serve'], {
      env: childEnv({ WHARF_PORT: 'abc', WHARF_DATA_DIR: dataDir }),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(bad.status, 2, `stdout:\n${bad.stdout}\nstderr:\n${bad.stderr}`);
    assert.match(bad.stderr, /invalid configuration/);
    assert.match(bad.stderr, /WHARF_PORT/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
