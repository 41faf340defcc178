import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compareVersions, isValidVersion } from './compare.ts';
import { assertIncreasing, assertInvalid, assertSame } from './assert-order.ts';

test('dpkg: the reference examples', () => {
  assertIncreasing('dpkg', ['1.0~rc1', '1.0', '1.0+b1']);
  assertIncreasing('dpkg', ['1.0~rc1', '1.0', '1.0-1']);
  // The reference also writes `1.0+b1 < 1.0-1`; dpkg disagrees (upstream `1.0+b1` > `1.0`), and
  // so do we. A binNMU suffix on the revision is the case it describes:
  assertIncreasing('dpkg', ['1.0-1', '1.0-1+b1', '1.0+b1']);
  assert.equal(compareVersions('dpkg', '2:1.0', '1:9.9') > 0, true);
  assert.equal(compareVersions('dpkg', '1:9.9', '2:1.0') < 0, true);
});

test('dpkg: tilde, end, letters, other characters; digit runs numerically', () => {
  assertIncreasing('dpkg', ['1.0~~', '1.0~~a', '1.0~', '1.0', '1.0a', '1.0z', '1.0+', '1.0.1', '1.0.2', '1.0.10', '1.1']);
  assertIncreasing('dpkg', ['9', '10', '99', '100', '1:0', '1:1', '10:0']);
  assertIncreasing('dpkg', ['2.30-1', '2.30-1+b1', '2.30-1.1', '2.30-2', '2.30-10', '2.31-1']);
  assertIncreasing('dpkg', ['1.2.3-0ubuntu0.22.04.1', '1.2.3-0ubuntu0.22.04.2', '1.2.3-0ubuntu1', '1.2.3-1ubuntu1']);
  assertIncreasing('dpkg', ['3.0.11-1~deb12u1', '3.0.11-1~deb12u2', '3.0.11-1', '3.0.13-1~deb12u1']);
  assertIncreasing('dpkg', ['0.0~git20230123.b2528b0-1', '0.0~git20230124.0-1', '0.0', '0.0.1']);
});

test('dpkg: the revision is what follows the last hyphen; no revision equals revision 0', () => {
  assertSame('dpkg', ['1.0', '1.0-0', '0:1.0', '0:1.0-0', '00:1.0', '1.00', '01.0']);
  assertIncreasing('dpkg', ['1.2-3-1', '1.2-3-2', '1.2-4-1']);
  assert.equal(compareVersions('dpkg', '1-2-3', '1-2') > 0, true); // upstream 1-2 > upstream 1
});

test('dpkg: numbers of any length are exact', () => {
  assertIncreasing('dpkg', ['1.99999999999999999998', '1.99999999999999999999', '1.100000000000000000000']);
  assertSame('dpkg', ['1.00000000000000000000000001', '1.1']);
});

test('dpkg: validity follows dpkg parseversion without warnings', () => {
  assertInvalid('dpkg', ['', ' 1.0', '1.0 ', 'a1.0', ':1.0', 'x:1.0', '-1:1.0', '2147483648:1', '1.0-', '1.0-a_b', '1.0_1', '1.0-a:b', 'x'.repeat(257)]);
  assert.equal(isValidVersion('dpkg', '2147483647:1'), true);
  assert.equal(isValidVersion('dpkg', '1:2.3:4-5'), true); // colons in upstream once there is an epoch
  assert.equal(isValidVersion('dpkg', '1.0-1-'), false);
  assert.equal(isValidVersion('dpkg', `1.${'0'.repeat(254)}`), true);
});

/** The versions installed on this machine plus some awkward ones, cross-checked with dpkg itself. */
test('dpkg: agrees with dpkg --compare-versions on this machine', (t) => {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Version}\n'], { encoding: 'utf8' });
  if (query.error !== undefined || query.status !== 0) {
    t.skip('dpkg-query is not available');
    return;
  }
  const installed = [...new Set(query.stdout.split('\n').filter((v) => v.length > 0))];
  const extra = ['1.0~rc1', '1.0', '1.0+b1', '1.0-1', '2:1.0', '1:9.9', '1.0~', '1.0~~', '1.0a', '1.0+', '1.0.0', '1.00', '1.0-0', '0:1.0-0', '1.0-1~bpo1', '1.0-1+deb12u1', '1.0-1.1', '1:1.0~rc1-1'];
  const pool = [...new Set([...installed, ...extra])].filter((v) => isValidVersion('dpkg', v));
  assert.ok(pool.length >= extra.length, 'the pool holds at least the awkward versions');
  // Neighbours after sorting (the close calls) plus pseudo-random pairs from a fixed seed.
  const sorted = [...pool].sort((a, b) => compareVersions('dpkg', a, b));
  const pairs: [string, string][] = [];
  for (let i = 1; i < sorted.length && pairs.length < 200; i++) pairs.push([sorted[i - 1] ?? '', sorted[i] ?? '']);
  let seed = 12345;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % pool.length;
  };
  while (pairs.length < 400) pairs.push([pool[next()] ?? '', pool[next()] ?? '']);
  const script = 'while read a b; do if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi; done';
  const run = spawnSync('sh', ['-c', script], { input: pairs.map(([a, b]) => `${a} ${b}\n`).join(''), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const answers = run.stdout.trim().split('\n').map(Number);
  assert.equal(answers.length, pairs.length);
  const mismatches = pairs.flatMap(([a, b], i) => {
    const ours = Math.sign(compareVersions('dpkg', a, b));
    return ours === answers[i] ? [] : [`${a} vs ${b}: dpkg ${answers[i]}, ours ${ours}`];
  });
  assert.deepEqual(mismatches, []);
});
