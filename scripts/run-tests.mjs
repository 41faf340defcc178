#!/usr/bin/env node
// Runs every *.test.ts below the given folders or files (default: src, console/src and test) with Node's test
// runner and tsx's loader. Node 20's runner does not discover .ts files by itself, hence this list.
//
//   node scripts/run-tests.mjs [folder|file ...] [--services] [--test-* options passed to node]
//
// Test harness variables: WHARF_TEST_CONCURRENCY (files run at once, default 2: with 3 on 2 cores the
// postgres pass got slower and a timing-bound webhook test timed out),
// WHARF_TEST_REPORTER (e.g. `tap`, which .ci/run uses so its greps do not depend on a TTY),
// WHARF_REQUIRE_E2E=1 (the e2e tests fail instead of skipping when skopeo is missing).
//
// Services mode (--services or WHARF_TEST_SERVICES=1): starts a private PostgreSQL and S3 server
// (Ceph radosgw) with scripts/dev-services.sh in a temporary folder, hands them to the tests as
// WHARF_TEST_PG_ADMIN_URL and WHARF_TEST_S3_{ENDPOINT,REGION,BUCKET,ACCESS_KEY,SECRET_KEY}, and runs
// the test files twice: pass `sqlite` (as without services) and pass `postgres` (with
// WHARF_TEST_DATABASE=postgres). Each pass starts with the line `# run-tests: pass NAME` and ends
// with `# run-tests: end of pass NAME: ...`; the exit status is non-zero when either pass fails.
// WHARF_TEST_PASSES=sqlite or =postgres runs one pass only. When the services cannot start, only
// the sqlite pass runs, after a warning; with WHARF_REQUIRE_E2E=1 that is a failure instead.
// The services are stopped and their folder removed at the end, on failure and on signals.
// The postgres pass leaves out the unit tests under src/ and console/src/ that touch no database
// (nothing in them reads WHARF_TEST_DATABASE, directly or through a helper): they ran in the
// sqlite pass and would run identically again. It also leaves out the files that say
// `// run-tests: sqlite pass only (why)`: the end-to-end tests whose subject no query reaches (the
// console in a browser, whose API calls run on PostgreSQL in test/integration; TLS; the build).
//
// Shards: starting a test process costs about 2 s of CPU (Node, tsx and Wharf's modules), more than
// many test files take to run, so consecutive files of one folder (all unit tests count as one)
// share a process: a generated shard file imports them, and their tests run one after another as
// in a process of their own (up to 20 unit test files under src/ or console/src/, or 4 under test/,
// per shard). Hooks at a file's top level belong to the shard: `before` hooks all run before its first test and `after`
// hooks after its last (each file's own instance lives that long), so a file with a top-level
// `beforeEach` or `afterEach`, which would reach the other files' tests, runs alone, as does a file
// that says `// run-tests: own process` (a test that measures the process, e.g. its memory).
// WHARF_TEST_SHARDS=0 runs every file in a process of its own.
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { spawn, spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const nodeOptions = args.filter((a) => a.startsWith('--test-'));
const unknown = args.filter((a) => a.startsWith('--') && !a.startsWith('--test-') && a !== '--services');
if (unknown.length) {
  console.error(`run-tests: unknown option ${unknown.join(' ')}`);
  process.exit(2);
}
const given = args.filter((a) => !a.startsWith('--'));
const roots = given.length ? given : ['src', 'console/src', 'test'];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
};
for (const r of roots) {
  if (!existsSync(r)) {
    console.error(`run-tests: no such file or folder: ${r}`);
    process.exit(2);
  }
  if (statSync(r).isDirectory()) walk(r);
  else files.push(r);
}
if (files.length === 0) {
  console.error('run-tests: no test files found under', roots.join(' '));
  process.exit(1);
}
const concurrency = process.env.WHARF_TEST_CONCURRENCY ?? '2';
const reporter = process.env.WHARF_TEST_REPORTER;
// Before anything else in each test process: Node's fetch keeps its own dispatcher (the module says why).
const builtinFetch = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'test', 'helpers', 'builtin-fetch.ts')).href;
const argsFor = (list) => [
  '--import',
  'tsx',
  '--import',
  builtinFetch,
  '--test',
  `--test-concurrency=${concurrency}`,
  ...(reporter ? [`--test-reporter=${reporter}`, '--test-reporter-destination=stdout'] : []),
  ...nodeOptions,
  ...list,
];

// --- shards (see the header) ---------------------------------------------------------------------
const sharding = process.env.WHARF_TEST_SHARDS !== '0';
const shardDir = sharding ? mkdtempSync(join(tmpdir(), 'wharf-test-shards-')) : null;
process.on('exit', () => shardDir && rmSync(shardDir, { recursive: true, force: true }));
const isUnit = (f) => /^(src|console\/src)\//.test(f.replaceAll('\\', '/'));
const alone = (f) => /^(beforeEach|afterEach)\(|^\/\/ run-tests: own process/m.test(readFileSync(f, 'utf8'));
let shardCount = 0;
/** The files to hand to `node --test` for `list`: shard files, and the files that run alone. */
const shardsOf = (list) => {
  if (!sharding) return list;
  const out = [];
  let group = [];
  let groupDir = null;
  let weight = 0;
  const flush = () => {
    if (group.length === 1) out.push(group[0]);
    else if (group.length > 1) {
      const file = join(shardDir, `${String(++shardCount).padStart(3, '0')}-${basename(group[0], '.test.ts')}-and-${group.length - 1}-more.test.mjs`);
      const lines = group.map((f) => `import ${JSON.stringify(pathToFileURL(resolve(f)).href)};`);
      writeFileSync(file, `// Generated by scripts/run-tests.mjs: these test files in one process.\n${lines.join('\n')}\n`);
      out.push(file);
    }
    group = [];
    weight = 0;
  };
  for (const f of list) {
    if (alone(f)) {
      out.push(f);
      continue;
    }
    const w = isUnit(f) ? 1 : 5;
    const area = isUnit(f) ? 'unit' : dirname(f);
    if (area !== groupDir || weight + w > 20) flush();
    groupDir = area;
    group.push(f);
    weight += w;
  }
  flush();
  return out;
};
const runnerArgs = argsFor(shardsOf(files));

/** A unit test (see isUnit) that reaches no database (same in both passes). */
const databaseUse = /openDatabase|startWharf|spawnWharf|helpers\/db|WHARF_TEST_DATABASE|onPostgres|Kysely|db\/index/;
const withoutDatabase = (f) => isUnit(f) && !databaseUse.test(readFileSync(f, 'utf8'));
/** A test file whose subject no query reaches (a browser on the console, TLS, the build): it says `// run-tests: sqlite pass only (why)`. */
const sqliteOnly = (f) => /^\/\/ run-tests: sqlite pass only\b/m.test(readFileSync(f, 'utf8'));

const servicesMode = process.env.WHARF_TEST_SERVICES === '1' || args.includes('--services');

if (!servicesMode) {
  // Without services: one run, exactly as before.
  const res = spawnSync(process.execPath, runnerArgs, { stdio: 'inherit' });
  if (res.error) {
    console.error('run-tests: could not start node:', res.error.message);
    process.exit(1);
  }
  if (res.signal) {
    console.error(`run-tests: the test runner was killed by ${res.signal}`);
    process.exit(1);
  }
  process.exit(res.status ?? 1);
}

// --- services mode -------------------------------------------------------------------------------
const PASSES = ['sqlite', 'postgres'];
const wanted = (process.env.WHARF_TEST_PASSES ?? PASSES.join(','))
  .split(/[\s,]+/)
  .filter(Boolean);
const badPass = wanted.find((p) => !PASSES.includes(p));
if (badPass || wanted.length === 0) {
  console.error(`run-tests: WHARF_TEST_PASSES must name sqlite and/or postgres, not "${process.env.WHARF_TEST_PASSES}"`);
  process.exit(2);
}
const requireServices = process.env.WHARF_REQUIRE_E2E === '1';
const script = join(dirname(fileURLToPath(import.meta.url)), 'dev-services.sh');

let child = null; // the process running now (dev-services.sh start or a test pass)
let servicesDir = null;
let stopped = false;
let interrupted = null;

const stopServices = () => {
  if (!servicesDir || stopped) return;
  stopped = true;
  const r = spawnSync('bash', [script, 'stop', '--dir', servicesDir, '--clean'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 180_000,
  });
  if (r.status !== 0) {
    console.error(`run-tests: warning: could not stop the services in ${servicesDir}; stop them with: bash ${script} stop --dir ${servicesDir} --clean`);
  }
};
process.on('exit', stopServices); // last resort (uncaught errors); normally already stopped
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`run-tests: ${sig}: stopping`);
    if (child && child.exitCode === null) child.kill(sig);
  });
}

// Runs a command; resolves { status, signal, stdout } (stdout only when captured).
const run = (cmd, cmdArgs, opts, capture = false) =>
  new Promise((resolve) => {
    let stdout = '';
    child = spawn(cmd, cmdArgs, { ...opts, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    if (capture) child.stdout.on('data', (d) => (stdout += d));
    child.on('error', (err) => resolve({ status: null, signal: null, error: err, stdout }));
    child.on('close', (status, signal) => resolve({ status, signal, stdout }));
  }).finally(() => {
    child = null;
  });

const finish = (code) => {
  stopServices();
  process.exit(code);
};

// Start the services in a private folder.
const serviceEnv = {};
let servicesUp = false;
{
  servicesDir = mkdtempSync(join(tmpdir(), 'wharf-services-'));
  // As root, PostgreSQL runs as the postgres user, which must be able to enter the folder.
  chmodSync(servicesDir, 0o755);
  console.error(`run-tests: starting PostgreSQL and S3 (radosgw) in ${servicesDir}`);
  const timer = setTimeout(() => child?.kill('SIGTERM'), 300_000);
  const r = await run('bash', [script, 'start', '--dir', servicesDir], {}, true);
  clearTimeout(timer);
  if (interrupted) finish(1);
  const exports = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^export (WHARF_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) exports[m[1]] = m[2];
  }
  const map = {
    WHARF_TEST_PG_ADMIN_URL: 'WHARF_TEST_PG_ADMIN_URL',
    WHARF_TEST_S3_ENDPOINT: 'WHARF_STORAGE__S3__ENDPOINT',
    WHARF_TEST_S3_REGION: 'WHARF_STORAGE__S3__REGION',
    WHARF_TEST_S3_BUCKET: 'WHARF_STORAGE__S3__BUCKET',
    WHARF_TEST_S3_ACCESS_KEY: 'WHARF_STORAGE__S3__ACCESS_KEY',
    WHARF_TEST_S3_SECRET_KEY: 'WHARF_STORAGE__S3__SECRET_KEY',
  };
  const missing = Object.values(map).filter((k) => !exports[k]);
  if (r.status === 0 && missing.length === 0) {
    for (const [to, from] of Object.entries(map)) serviceEnv[to] = exports[from];
    servicesUp = true;
  } else {
    const why = r.error
      ? r.error.message
      : r.signal
        ? `killed by ${r.signal} (300 s limit)`
        : r.status !== 0
          ? `exit status ${r.status}`
          : `missing ${missing.join(', ')} in its output`;
    stopServices();
    try {
      rmSync(servicesDir, { recursive: true, force: true });
    } catch {}
    if (requireServices) {
      console.error(`run-tests: error: the PostgreSQL and S3 services did not start (${why}) and WHARF_REQUIRE_E2E=1`);
      process.exit(1);
    }
    console.error(
      `run-tests: WARNING: the PostgreSQL and S3 services did not start (${why}); ` +
        'running only the sqlite pass, without PostgreSQL and S3 tests (see scripts/dev-services.sh)',
    );
  }
}

const passes = servicesUp ? wanted : ['sqlite'];
const results = [];
for (const pass of passes) {
  const env = { ...process.env, ...serviceEnv };
  delete env.WHARF_TEST_SERVICES;
  if (pass === 'postgres') env.WHARF_TEST_DATABASE = 'postgres';
  else delete env.WHARF_TEST_DATABASE;
  console.log(`# run-tests: pass ${pass}`);
  const passFiles = pass === 'postgres' ? files.filter((f) => !withoutDatabase(f) && !sqliteOnly(f)) : files;
  if (passFiles.length < files.length) {
    const unit = files.filter(withoutDatabase).length;
    console.log(`# run-tests: the ${pass} pass leaves out ${unit} unit test files that touch no database and ${files.length - passFiles.length - unit} files marked "sqlite pass only"`);
  }
  const t0 = Date.now();
  const r = await run(process.execPath, argsFor(shardsOf(passFiles)), { env });
  const secs = Math.round((Date.now() - t0) / 1000);
  let status;
  if (r.error) {
    console.error('run-tests: could not start node:', r.error.message);
    status = 1;
  } else if (r.signal) {
    console.error(`run-tests: the test runner was killed by ${r.signal}`);
    status = 1;
  } else status = r.status ?? 1;
  console.log(`# run-tests: end of pass ${pass}: ${status === 0 ? 'ok' : `failed (status ${status})`} in ${secs} s`);
  results.push({ pass, status });
  if (interrupted) break;
}
const failed = results.filter((r) => r.status !== 0);
if (failed.length) console.error(`run-tests: failed pass(es): ${failed.map((r) => r.pass).join(', ')}`);
finish(interrupted ? 1 : (failed[0]?.status ?? 0));
