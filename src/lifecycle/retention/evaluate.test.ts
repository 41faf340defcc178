import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateRetention, retentionLogTable, rulesForRepository, type RetentionCandidate } from './evaluate.ts';
import type { RetentionRule, RetentionSelector, RetentionTemplate } from './policy.ts';

const hour = 3_600_000;
const day = 24 * hour;
const now = Date.UTC(2026, 7, 21, 6, 0, 0);

function cand(id: number, tags: string[], pushedAgo: number, pulledAgo: number | null): RetentionCandidate {
  return {
    id,
    digest: `sha256:${String(id).repeat(64).slice(0, 64)}`,
    tags,
    pushedMs: now - pushedAgo,
    pulledMs: pulledAgo === null ? 0 : now - pulledAgo,
    createdMs: now - pushedAgo,
    labels: [],
    kind: 'image',
  };
}

/** One repository: multi-tag, untagged, equal push times (5 and 6), never pulled (3 and 4). */
const repo: RetentionCandidate[] = [
  cand(1, ['latest', '1.2'], 1 * day, 12 * hour),
  cand(2, ['1.1'], 5 * day, 40 * day),
  cand(3, ['1.0', 'stable'], 40 * day, null),
  cand(4, [], 2 * day, null),
  cand(5, ['dev-abc'], 3 * day, 2 * day),
  cand(6, ['dev-xyz'], 3 * day, 60 * day),
  cand(7, [], 100 * day, 1 * hour),
];

const tag = (pattern: string, decoration: 'matches' | 'excludes' = 'matches', untagged?: boolean): RetentionSelector => ({
  kind: 'doublestar',
  decoration,
  pattern,
  extras: untagged === undefined ? '' : JSON.stringify({ untagged }),
});
const repoSel = (pattern: string, decoration: 'repoMatches' | 'repoExcludes' = 'repoMatches'): RetentionSelector => ({ kind: 'doublestar', decoration, pattern, extras: '' });

function rule(template: RetentionTemplate, n: number | null, tags: RetentionSelector[] = [tag('**', 'matches', true)], over: Partial<RetentionRule> = {}): RetentionRule {
  return {
    id: 0,
    priority: 0,
    disabled: false,
    action: 'retain',
    template,
    params: n === null ? {} : { [template]: n },
    tag_selectors: tags,
    scope_selectors: { repository: [repoSel('**')] },
    ...over,
  };
}

function retainedIds(rules: RetentionRule[], candidates: RetentionCandidate[] = repo): number[] {
  const out = evaluateRetention(rules, candidates, now, null);
  assert.deepEqual(
    out.map((o) => o.candidate.id),
    candidates.map((c) => c.id),
    'the output follows the candidates',
  );
  for (const o of out) assert.ok(o.decision === 'RETAIN' || o.decision === 'DEL');
  return out.filter((o) => o.decision === 'RETAIN').map((o) => o.candidate.id);
}

test('evaluateRetention: templates and tag selectors keep exactly the expected sets', () => {
  const cases: Array<[string, RetentionRule[], number[]]> = [
    // Push order: 1 (1d), 4 (2d), 6 and 5 (3d, tie: higher id first), 2 (5d), 3 (40d), 7 (100d).
    ['latestPushedK 2', [rule('latestPushedK', 2)], [1, 4]],
    ['latestPushedK 3: a tie goes to the higher id', [rule('latestPushedK', 3)], [1, 4, 6]],
    ['latestPushedK 4: both of a tie', [rule('latestPushedK', 4)], [1, 4, 5, 6]],
    ['latestPushedK 2 without untagged', [rule('latestPushedK', 2, [tag('**', 'matches', false)])], [1, 6]],
    ['latestPushedK 0', [rule('latestPushedK', 0)], []],
    ['latestPushedK with no parameter: the default 10', [rule('latestPushedK', null)], [1, 2, 3, 4, 5, 6, 7]],
    ['latestPushedK 1 over dev-* only', [rule('latestPushedK', 1, [tag('dev-*', 'matches', false)])], [6]],
    // Pull order: 7 (1h), 1 (12h), 5 (2d), 2 (40d), 6 (60d), then never pulled 4 and 3 (tie).
    ['latestPulledN 2', [rule('latestPulledN', 2)], [1, 7]],
    ['latestPulledN 5: never pulled sorts last', [rule('latestPulledN', 5)], [1, 2, 5, 6, 7]],
    ['latestPulledN 6: a never-pulled tie goes to the higher id', [rule('latestPulledN', 6)], [1, 2, 4, 5, 6, 7]],
    ['nDaysSinceLastPush 3: the boundary is kept', [rule('nDaysSinceLastPush', 3)], [1, 4, 5, 6]],
    ['nDaysSinceLastPush 0', [rule('nDaysSinceLastPush', 0)], []],
    ['nDaysSinceLastPull 2: the boundary is kept', [rule('nDaysSinceLastPull', 2)], [1, 5, 7]],
    ['nDaysSinceLastPull 100000: never pulled never passes', [rule('nDaysSinceLastPull', 100000)], [1, 2, 5, 6, 7]],
    // Activity = max(push, pull): 7 (1h), 1 (12h), 5 and 4 (2d, tie), 6 (3d), 2 (5d), 3 (40d).
    ['latestActiveK 2', [rule('latestActiveK', 2)], [1, 7]],
    ['latestActiveK 3: a tie goes to the higher id', [rule('latestActiveK', 3)], [1, 5, 7]],
    ['lastXDays 2', [rule('lastXDays', 2)], [1, 4]],
    ['lastXDays 5', [rule('lastXDays', 5)], [1, 2, 4, 5, 6]],
    ['always ** with untagged', [rule('always', null)], [1, 2, 3, 4, 5, 6, 7]],
    ['always ** without untagged', [rule('always', null, [tag('**', 'matches', false)])], [1, 2, 3, 5, 6]],
    ['always, empty pattern, empty extras: untagged included', [rule('always', null, [tag('')])], [1, 2, 3, 4, 5, 6, 7]],
    ['always, matches with unreadable extras: untagged included', [rule('always', null, [{ ...tag('dev-*'), extras: 'oops' }])], [4, 5, 6, 7]],
    ['always matches dev-* without untagged', [rule('always', null, [tag('dev-*', 'matches', false)])], [5, 6]],
    ['always matches {1.*,stable}', [rule('always', null, [tag('{1.*,stable}', 'matches', false)])], [1, 2, 3]],
    // `latest,1.2` passes "excludes latest": one tag does not match.
    ['always excludes latest, untagged true', [rule('always', null, [tag('latest', 'excludes', true)])], [1, 2, 3, 5, 6]],
    ['always excludes latest, untagged false', [rule('always', null, [tag('latest', 'excludes', false)])], [1, 2, 3, 4, 5, 6, 7]],
    ['always excludes latest, empty extras: untagged included', [rule('always', null, [tag('latest', 'excludes')])], [1, 2, 3, 4, 5, 6, 7]],
    ['always excludes dev-*, untagged true', [rule('always', null, [tag('dev-*', 'excludes', true)])], [1, 2, 3]],
    ['always excludes **: only untagged (flag false)', [rule('always', null, [tag('**', 'excludes', false)])], [4, 7]],
    ['always excludes an empty pattern: nothing tagged', [rule('always', null, [tag('', 'excludes', true)])], []],
    ['tag selectors are ANDed', [rule('always', null, [tag('**', 'matches', false), tag('dev-*', 'excludes', true)])], [1, 2, 3]],
    ['ANDed over one multi-tag artifact', [rule('always', null, [tag('1.*', 'matches', false), tag('stable', 'matches', false)])], [3]],
    ['rules are ORed', [rule('latestPushedK', 1), rule('always', null, [tag('stable', 'matches', false)])], [1, 3]],
    ['a disabled rule keeps nothing', [rule('always', null, undefined, { disabled: true }), rule('latestPushedK', 1)], [1]],
    ['no rule: everything goes', [], []],
  ];
  for (const [name, rules, expected] of cases) assert.deepEqual(retainedIds(rules), expected, name);
});

test('evaluateRetention: Harbor #10555, "retain the latest 2 excluding latest" deletes latest', () => {
  const images = [cand(1, ['latest'], 1 * hour, null), cand(2, ['v2'], 1 * day, null), cand(3, ['v1'], 2 * day, null), cand(4, ['v0'], 3 * day, null)];
  const excluding = rule('latestPushedK', 2, [tag('latest', 'excludes', true)]);
  assert.deepEqual(retainedIds([excluding], images), [2, 3]);
  // The fix: an extra `always` rule for latest.
  assert.deepEqual(retainedIds([excluding, rule('always', null, [tag('latest', 'matches', false)])], images), [1, 2, 3]);
});

test('evaluateRetention: immutable tags spare what no rule keeps', () => {
  const immutable = (t: string): boolean => t === 'stable' || t === 'dev-abc' || t === 'latest';
  const out = evaluateRetention([rule('latestPushedK', 1)], repo, now, immutable);
  assert.deepEqual(
    out.map((o) => [o.candidate.id, o.decision]),
    [
      [1, 'RETAIN'],
      [2, 'DEL'],
      [3, 'IMMUTABLE'],
      [4, 'DEL'],
      [5, 'IMMUTABLE'],
      [6, 'DEL'],
      [7, 'DEL'],
    ],
  );
  assert.ok(out.every((o, i) => o.candidate === repo[i]));
});

test('rulesForRepository: enabled rules whose repository selectors (ANDed) pass', () => {
  const scoped = (id: number, repository: RetentionSelector[], disabled = false) => rule('always', null, undefined, { id, disabled, scope_selectors: { repository } });
  const rules = [
    scoped(1, [repoSel('**')]),
    scoped(2, [repoSel('team/**')]),
    scoped(3, [repoSel('team/**', 'repoExcludes')]),
    scoped(4, [repoSel('**'), repoSel('*/legacy', 'repoExcludes')]),
    scoped(5, [repoSel('**')], true),
    scoped(6, [repoSel('')]),
    scoped(7, [repoSel('{nginx,redis}')]),
  ];
  const cases: Array<[string, number[]]> = [
    ['nginx', [1, 3, 4, 6, 7]],
    ['team', [1, 2, 4, 6]],
    ['team/app', [1, 2, 4, 6]],
    ['team/legacy', [1, 2, 6]],
    ['a/legacy', [1, 3, 6]],
    ['a/nginx', [1, 3, 4, 6]],
  ];
  for (const [path, expected] of cases) {
    assert.deepEqual(
      rulesForRepository(rules, path).map((r) => r.id),
      expected,
      path,
    );
  }
  assert.deepEqual(rulesForRepository([], 'nginx'), []);
});

test('retentionLogTable: Harbor’s pipe table, UTC times, empty when never', () => {
  const tagged: RetentionCandidate = {
    id: 1,
    digest: 'sha256:aa',
    tags: ['latest', '1.2'],
    pushedMs: Date.UTC(2026, 7, 21, 6, 0, 9, 999),
    pulledMs: 0,
    createdMs: Date.UTC(2026, 0, 2, 3, 4, 5),
    labels: ['prod', 'team-a'],
    kind: 'image',
  };
  const untagged: RetentionCandidate = { id: 2, digest: 'sha256:bb', tags: [], pushedMs: Date.UTC(2025, 11, 31, 23, 59, 59), pulledMs: -5, createdMs: 0, labels: [], kind: 'image' };
  assert.deepEqual(
    retentionLogTable([
      { candidate: tagged, decision: 'RETAIN' },
      { candidate: untagged, decision: 'DEL' },
      { candidate: untagged, decision: 'ERR' },
      { candidate: tagged, decision: 'IMMUTABLE' },
    ]),
    [
      'Digest | Tag | Kind | Labels | PushedTime | PulledTime | CreatedTime | Retention',
      'sha256:aa | latest,1.2 | image | prod,team-a | 2026/08/21 06:00:09 |  | 2026/01/02 03:04:05 | RETAIN',
      'sha256:bb |  | image |  | 2025/12/31 23:59:59 |  |  | DEL',
      'sha256:bb |  | image |  | 2025/12/31 23:59:59 |  |  | ERR',
      'sha256:aa | latest,1.2 | image | prod,team-a | 2026/08/21 06:00:09 |  | 2026/01/02 03:04:05 | IMMUTABLE',
    ],
  );
  assert.deepEqual(retentionLogTable([]), ['Digest | Tag | Kind | Labels | PushedTime | PulledTime | CreatedTime | Retention']);
});
