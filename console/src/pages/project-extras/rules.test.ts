import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessFromKeys,
  duration,
  emptyRuleForm,
  formFromRule,
  immutableRule,
  immutableRuleText,
  permissionSummary,
  retentionPolicy,
  retentionRuleText,
  robotCreateBody,
  robotDuration,
  robotExpiry,
  robotNameProblem,
  ruleFromForm,
  scheduleLabel,
} from './rules.ts';

test('ruleFromForm builds Harbor’s retention rule and formFromRule reads it back', () => {
  const f = { ...emptyRuleForm(), repoPattern: 'app/**', template: 'nDaysSinceLastPush', param: '7', tagDecoration: 'excludes' as const, tagPattern: 'latest', untagged: false };
  const r = ruleFromForm(f);
  assert.deepEqual(r, {
    disabled: false,
    action: 'retain',
    template: 'nDaysSinceLastPush',
    params: { nDaysSinceLastPush: 7 },
    tag_selectors: [{ kind: 'doublestar', decoration: 'excludes', pattern: 'latest', extras: '{"untagged":false}' }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: 'app/**' }] },
  });
  assert.deepEqual(formFromRule(r), f);
  assert.deepEqual(ruleFromForm({ ...emptyRuleForm(), template: 'always', param: 'x' }).params, {});
  assert.throws(() => ruleFromForm({ ...emptyRuleForm(), param: '-1' }), /whole number/);
  assert.throws(() => ruleFromForm({ ...emptyRuleForm(), param: '' }), /whole number/);
  assert.equal(ruleFromForm({ ...emptyRuleForm(), repoPattern: ' ', tagPattern: '' }).tag_selectors[0]!.pattern, '**');
});

test('rules read as sentences', () => {
  const r = ruleFromForm(emptyRuleForm());
  assert.equal(retentionRuleText(r), 'For the repositories matching **, retain the most recently pushed 10 artifacts with tags matching ** (untagged included)');
  const a = ruleFromForm({ ...emptyRuleForm(), template: 'always', repoDecoration: 'repoExcludes', repoPattern: 'tmp/**', tagPattern: 'latest', untagged: false });
  assert.equal(retentionRuleText({ ...a, disabled: true }), 'For the repositories excluding tmp/**, always retain the artifacts with tags matching latest (untagged excluded) — disabled');
  const meta = { templates: [{ rule_template: 'latestPushedK', display_text: 'the newest # pushed', action: 'retain', params: [] }], scope_selectors: [], tag_selectors: [] };
  assert.match(retentionRuleText(r, meta), /retain the newest 10 pushed/);
  assert.equal(immutableRuleText(immutableRule('repoMatches', 'a/**', 'excludes', 'dev-*')), 'For the repositories matching a/**, tags excluding dev-* are immutable');
});

test('retentionPolicy and schedules', () => {
  const p = retentionPolicy(3, [], '0 0 0 * * *');
  assert.deepEqual(p, { algorithm: 'or', rules: [], trigger: { kind: 'Schedule', settings: { cron: '0 0 0 * * *' }, references: {} }, scope: { level: 'project', ref: 3 } });
  const kept = retentionPolicy(3, [], '', { ...p, id: 8, summary_event: true });
  assert.equal(kept.id, 8);
  assert.equal(kept.summary_event, true);
  assert.equal(kept.trigger.settings.cron, '');
  assert.equal(scheduleLabel(''), 'None');
  assert.equal(scheduleLabel('0 0 * * * *'), 'Hourly');
  assert.equal(scheduleLabel('0 5 4 * * *'), 'Custom');
});

test('robot helpers: names, duration, body, expiry, summary', () => {
  assert.equal(robotNameProblem('ci-bot.1'), null);
  assert.match(robotNameProblem('') ?? '', /required/);
  assert.match(robotNameProblem('Bad') ?? '', /lower-case/);
  assert.match(robotNameProblem('a--b') ?? '', /lower-case/);
  assert.equal(robotDuration(true, 'x'), -1);
  assert.equal(robotDuration(false, '30'), 30);
  assert.throws(() => robotDuration(false, '0'), /whole number/);
  const access = accessFromKeys(new Set(['repository:push', 'repository:pull', 'bogus:x']));
  assert.deepEqual(access, [
    { resource: 'repository', action: 'pull' },
    { resource: 'repository', action: 'push' },
  ]);
  assert.deepEqual(robotCreateBody('project', 'ci', 'd', 7, ['lib'], access), {
    name: 'ci',
    description: 'd',
    level: 'project',
    duration: 7,
    disable: false,
    permissions: [{ kind: 'project', namespace: 'lib', access }],
  });
  assert.equal(robotExpiry(-1), 'Never');
  assert.equal(robotExpiry(100, 200_000), 'Expired');
  assert.notEqual(robotExpiry(Math.floor(Date.now() / 1000) + 3600), 'Expired');
  assert.equal(permissionSummary([{ kind: 'project', namespace: '*', access }, { kind: 'project', namespace: 'x', access: [] }]), '*: repository:pull, repository:push; x: none');
});

test('duration between two API times', () => {
  assert.equal(duration('2026-01-01T00:00:00Z', '2026-01-01T00:00:00.250Z'), '250 ms');
  assert.equal(duration('2026-01-01T00:00:00Z', '2026-01-01T00:00:01.500Z'), '1.5 s');
  assert.equal(duration('2026-01-01T00:00:00Z', '2026-01-01T00:00:42Z'), '42 s');
  assert.equal(duration('2026-01-01T00:00:00Z', '2026-01-01T00:03:00Z'), '3 min');
  assert.equal(duration('2026-01-01T00:00:00Z', '0001-01-01T00:00:00Z'), '');
  assert.equal(duration('2026-01-01T00:00:01Z', '2026-01-01T00:00:00Z'), '');
  assert.equal(duration(null, undefined), '');
});
