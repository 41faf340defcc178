#!/usr/bin/env node
// Runs every *.test.ts below the given folders or files (default: src and test) with Node's test
// runner and tsx's loader. Node 20's runner does not discover .ts files by itself, hence this list.
//
//   node scripts/run-tests.mjs [folder|file ...] [--test-* options passed to node]
//
// Test harness variables: WHARF_TEST_CONCURRENCY (files run at once, default 2),
// WHARF_TEST_REPORTER (e.g. `tap`, which .ci/run uses so its greps do not depend on a TTY),
// WHARF_REQUIRE_E2E=1 (the e2e tests fail instead of skipping when skopeo is missing).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const nodeOptions = args.filter((a) => a.startsWith('--test-'));
const given = args.filter((a) => !a.startsWith('--'));
const roots = given.length ? given : ['src', 'test'];
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
const res = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${concurrency}`,
    ...(reporter ? [`--test-reporter=${reporter}`, '--test-reporter-destination=stdout'] : []),
    ...nodeOptions,
    ...files,
  ],
  { stdio: 'inherit' },
);
if (res.error) {
  console.error('run-tests: could not start node:', res.error.message);
  process.exit(1);
}
if (res.signal) {
  console.error(`run-tests: the test runner was killed by ${res.signal}`);
  process.exit(1);
}
process.exit(res.status ?? 1);
