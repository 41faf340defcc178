import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileGlob, filterMatches, globLimits, globMatch, globPatternProblem, GlobSyntaxError, matchGlob, type GlobMeter } from './glob.ts';

/** Matches and returns the number of state visits it took. */
function measured(pattern: string, value: string): { matched: boolean; steps: number } {
  const meter: GlobMeter = { steps: 0 };
  const matched = matchGlob(compileGlob(pattern), value, meter);
  return { matched, steps: meter.steps };
}

/** The bound the matcher promises: (pattern length + 1) × (value length + 1) state visits. */
const bound = (pattern: string, value: string): number => (pattern.length + 1) * (value.length + 1);

test('the ReDoS patterns of issue 8 cost at most (pattern+1) × (value+1) steps', () => {
  for (const stars of [10, 12]) {
    for (const as of [40, 1000]) {
      const pattern = `p1/${'*a'.repeat(stars)}!`;
      const value = `p1/${'a'.repeat(as)}`;
      const { matched, steps } = measured(pattern, value);
      assert.equal(matched, false, `${stars} stars, ${as} a's`);
      assert.ok(steps <= bound(pattern, value), `${stars} stars, ${as} a's: ${steps} steps > ${bound(pattern, value)}`);
      assert.ok(steps > value.length, 'the meter counts the work');
      // The same pattern without the `!` matches, within the same bound.
      const ok = measured(pattern.slice(0, -1), value);
      assert.equal(ok.matched, true);
      assert.ok(ok.steps <= bound(pattern, value));
    }
  }
});

test('other classic blow-ups stay within the bound: runs of **, alternatives, classes', () => {
  const value = 'a/'.repeat(300) + 'b';
  const patterns = [
    '**a**a**a**a**a**a**a**a**a**a**a**a**c',
    '**/'.repeat(20) + 'c',
    '{a,a/,a*,*a,**}'.repeat(8) + 'c',
    '*[a/]*[a/]*[a/]*[a/]*[a/]*[a/]*[a/]*[!b]',
    '?*?*?*?*?*?*?*?*?*?*?*x',
    'a/'.repeat(100) + '**',
    'x'.repeat(5000) + '*', // longer than the limit: stored by an older version, still linear
  ];
  for (const p of patterns) {
    const { steps } = measured(p, value);
    assert.ok(steps <= bound(p, value), `${p.slice(0, 40)}: ${steps} > ${bound(p, value)}`);
    assert.ok(compileGlob(p).size <= p.length + 1, `${p.slice(0, 40)}: states`);
  }
});

test('compiling is linear too: many unclosed [ and {', () => {
  // A quadratic indexOf scan per `[` would be 10^10 character reads here.
  const p = '['.repeat(100_000) + '{'.repeat(100_000);
  const g = compileGlob(p);
  assert.equal(g.size, p.length + 1);
  assert.equal(matchGlob(g, p), true);
  assert.equal(matchGlob(g, p.slice(1)), false);
});

test('the documented semantics, edge cases included', () => {
  const cases: Array<[string, string, boolean]> = [
    ['library/*', 'library/alpine', true],
    ['library/*', 'library/', true],
    ['library/*', 'library/a/b', false],
    ['team/**', 'team', true],
    ['team/**', 'team/', true],
    ['team/**', 'team/a/b', true],
    ['team/**', 'teamx', false],
    ['**/alpine', 'alpine', true],
    ['**/alpine', '/alpine', true],
    ['**/alpine', 'x/alpine', true],
    ['**/alpine', 'xalpine', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'a//b', true],
    ['a/**/b', 'ab', false],
    ['a**b', 'a/x/b', true],
    ['a**/b', 'a/b', true],
    ['a**/b', 'ab', false], // `**/` not at the start of a segment is just `**` then `/`
    ['**', '', true],
    ['**/**', 'a/b', true],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['?', '', false],
    ['[]a]', ']', true],
    ['[]a]', 'a', true],
    ['[!]a]', 'ba]', true], // `]` closes only from the second character on: `[!]` then `a]`
    ['[!]a]', ']', false],
    ['[!a]', '/', false],
    ['[/]', '/', true],
    ['[!]', 'x', true], // an empty negated set: any character but `/`
    ['[a-c-e]', '-', true],
    ['[a-c-e]', 'd', false],
    ['[--a]', 'Z', true],
    ['[\\]', '\\', true],
    ['[^^]', '^', false],
    ['[é-ë]', 'ê', true],
    ['{a,b/**}', 'b', true],
    ['{a,b/**}', 'b/c/d', true],
    ['x/{**/y,z}', 'x/a/b/y', true],
    ['x/{**/y,z}', 'x/y', true],
    ['{}', '', true],
    ['{,v}1', '1', true],
    ['{,v}1', 'v1', true],
    ['{a,{b,c}}', '{b}', true], // no nesting: the first `}` closes the group
    ['{a,{b,c}}', 'c}', true],
    ['{[a,b]}', '[a', true],
    ['a{b', 'a{b', true],
    ['.*', '.x', true],
    ['a\nb', 'a\nb', true],
  ];
  for (const [p, v, want] of cases) {
    assert.equal(globMatch(p, v), want, `${JSON.stringify(p)} vs ${JSON.stringify(v)}`);
    if (!v.includes('\n')) assert.equal(new RegExp(`^${oldTranslate(p)}$`).test(v), want, `old code: ${JSON.stringify(p)} vs ${JSON.stringify(v)}`);
  }
});

test('a range out of order is a syntax error; globMatch treats it as matching nothing', () => {
  assert.throws(() => compileGlob('v[z-a]'), GlobSyntaxError);
  assert.equal(globMatch('v[z-a]', 'vz'), false);
  assert.equal(filterMatches(['v[z-a]', 'v*'], 'vz'), true);
  assert.match(globPatternProblem('v[z-a]') ?? '', /range z-a is out of order/);
});

test('globPatternProblem enforces the stored-pattern bounds', () => {
  assert.equal(globPatternProblem('library/**'), null);
  assert.equal(globPatternProblem('x'.repeat(globLimits.maxPatternLength)), null);
  assert.match(globPatternProblem('x'.repeat(globLimits.maxPatternLength + 1)) ?? '', /longer than 256/);
  const alts = (n: number): string => `{${Array.from({ length: n }, (_, i) => `a${i}`).join(',')}}`;
  assert.equal(globPatternProblem(alts(globLimits.maxAlternatives)), null);
  assert.match(globPatternProblem(alts(globLimits.maxAlternatives + 1)) ?? '', /more than 32/);
  assert.match(globPatternProblem(`${alts(20)}-${alts(20)}`) ?? '', /more than 32/, 'alternatives count over all groups');
});

// ---- Differential: the RegExp translation Wharf used before (a copy, as the oracle). ----

function escapeRe(c: string): string {
  return /[\\^$.*+?()[\]{}|]/.test(c) ? `\\${c}` : c;
}

function oldTranslate(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (c === '*') {
      if (glob.charAt(i + 1) === '*') {
        const atStart = i === 0 || glob.charAt(i - 1) === '/';
        i++;
        while (glob.charAt(i + 1) === '*') i++;
        if (atStart && glob.charAt(i + 1) === '/') {
          out += '(?:.*/)?';
          i++;
        } else if (i === glob.length - 1 && out.endsWith('/')) {
          out = `${out.slice(0, -1)}(?:/.*)?`;
        } else {
          out += '.*';
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      let negate = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        negate = true;
        body = body.slice(1);
      }
      const cls = body.replace(/[\\\]^]/g, (m) => `\\${m}`);
      out += negate ? `[^/${cls}]` : `[${cls}]`;
      i = end;
    } else if (c === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end === -1) {
        out += '\\{';
        continue;
      }
      out += `(?:${glob.slice(i + 1, end).split(',').map(oldTranslate).join('|')})`;
      i = end;
    } else {
      out += escapeRe(c);
    }
  }
  return out;
}

/** A small seeded generator (mulberry32), so a failure names a reproducible seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('differential: same answers as the old RegExp translation on 30,000 small random cases', () => {
  // Line terminators are left out: the old `.` did not match them (names and tags cannot hold them).
  const patternAlphabet = ['a', 'b', '/', '*', '*', '?', '[', ']', '!', '^', '-', '{', '}', ',', '.', '\\', '+', '(', ')', '|', '$'];
  const valueAlphabet = ['a', 'b', '/', '-', '.', ']', '[', '{', '}', ',', '!', '^', '\\', '*', '?'];
  const seed = 8;
  const next = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  let compared = 0;
  let matches = 0;
  for (let n = 0; n < 30_000; n++) {
    const pattern = Array.from({ length: Math.floor(next() * 9) }, () => pick(patternAlphabet)).join('');
    let re: RegExp;
    try {
      re = new RegExp(`^${oldTranslate(pattern)}$`);
    } catch {
      assert.throws(() => compileGlob(pattern), GlobSyntaxError, `old code refused ${JSON.stringify(pattern)}; so must the new`);
      continue;
    }
    const glob = compileGlob(pattern);
    for (let k = 0; k < 4; k++) {
      // Values drawn from the alphabet, and values built from the pattern's own characters.
      const from = k % 2 === 0 ? valueAlphabet : [...pattern, 'a', '/'];
      const value = Array.from({ length: Math.floor(next() * 8) }, () => pick(from)).join('');
      const want = re.test(value);
      assert.equal(matchGlob(glob, value), want, `seed ${seed} case ${n}: ${JSON.stringify(pattern)} vs ${JSON.stringify(value)}`);
      compared++;
      if (want) matches++;
    }
  }
  assert.ok(compared > 100_000 && matches > 2_000, `a meaningful sample: ${compared} compared, ${matches} matches`);
});
