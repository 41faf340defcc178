import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventRule, parsePolicy, policyText, policyView, readPolicy, retentionMetadata, type RetentionRule } from './policy.ts';

const tagSel = (pattern = '**', decoration = 'matches', extras = '{"untagged":true}') => ({ kind: 'doublestar', decoration, pattern, extras });
const repoSel = (pattern = '**', decoration = 'repoMatches') => ({ kind: 'doublestar', decoration, pattern });
const rule = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  template: 'latestPushedK',
  params: { latestPushedK: 5 },
  tag_selectors: [tagSel()],
  scope_selectors: { repository: [repoSel()] },
  ...over,
});
const body = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  algorithm: 'or',
  scope: { level: 'project', ref: 3 },
  trigger: { kind: 'Schedule', settings: { cron: '0 0 0 * * *' }, references: {} },
  rules: [rule()],
  ...over,
});
/** The rule `parsePolicy` makes of `rule()` at index `i`. */
const parsedRule = (i: number, over: Partial<RetentionRule> = {}): RetentionRule => ({
  id: i,
  priority: 0,
  disabled: false,
  action: 'retain',
  template: 'latestPushedK',
  params: { latestPushedK: 5 },
  tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**', extras: '{"untagged":true}' }],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**', extras: '' }] },
  ...over,
});

test('parsePolicy: Harbor’s UI body, and the defaults of a minimal one', () => {
  assert.deepEqual(parsePolicy(body({ id: 99, summary_event: true })), {
    projectId: 3,
    spec: { algorithm: 'or', rules: [parsedRule(0)], cron: '0 0 0 * * *', summary_event: true },
  });
  assert.deepEqual(parsePolicy({ scope: { level: 'project', ref: 7 } }), { projectId: 7, spec: { algorithm: 'or', rules: [], cron: '', summary_event: false } });
  assert.deepEqual(parsePolicy(body({ trigger: null })).spec.cron, '');
  assert.deepEqual(parsePolicy(body({ trigger: {} })).spec.cron, '');
  assert.deepEqual(parsePolicy(body({ trigger: { settings: { cron: '' } } })).spec.cron, '');
  // The cron's syntax is the service's check.
  assert.deepEqual(parsePolicy(body({ trigger: { settings: { cron: 'not a cron' } } })).spec.cron, 'not a cron');
  const kept = parsePolicy(body({ rules: [rule({ id: 12, priority: 4, disabled: true, action: 'retain' }), rule({ template: 'always', params: undefined })] })).spec.rules;
  assert.deepEqual(kept, [parsedRule(12, { priority: 4, disabled: true }), parsedRule(1, { template: 'always', params: {} })]);
});

test('parsePolicy: template parameters as Harbor reads them, with defaults and Wharf’s bounds', () => {
  const cases: Array<[string, unknown, Record<string, number>]> = [
    ['latestPushedK', 5, { latestPushedK: 5 }],
    ['latestPushedK', '12', { latestPushedK: 12 }],
    ['latestPushedK', 7.9, { latestPushedK: 7 }],
    ['latestPushedK', 0, { latestPushedK: 0 }],
    ['latestPushedK', 32766, { latestPushedK: 32766 }],
    ['latestPushedK', undefined, { latestPushedK: 10 }],
    ['latestPushedK', 'ten', { latestPushedK: 10 }],
    ['latestPushedK', '1.5', { latestPushedK: 10 }],
    ['latestPushedK', true, { latestPushedK: 10 }],
    ['latestPushedK', null, { latestPushedK: 10 }],
    ['latestPulledN', undefined, { latestPulledN: 10 }],
    ['nDaysSinceLastPush', undefined, { nDaysSinceLastPush: 30 }],
    ['nDaysSinceLastPush', 20190904, { nDaysSinceLastPush: 20190904 }],
    ['nDaysSinceLastPull', '7', { nDaysSinceLastPull: 7 }],
    ['nDaysSinceLastPull', undefined, { nDaysSinceLastPull: 30 }],
    ['latestActiveK', undefined, { latestActiveK: 10 }],
    ['lastXDays', undefined, { lastXDays: 10 }],
    ['lastXDays', 3, { lastXDays: 3 }],
    ['always', 3, {}],
  ];
  for (const [template, value, expected] of cases) {
    // Another key is ignored (Harbor reads only the template's own).
    const params = value === undefined ? { other: 1 } : { [template]: value, other: 1 };
    const got = parsePolicy(body({ rules: [rule({ template, params })] })).spec.rules[0]?.params;
    assert.deepEqual(got, expected, `${template} ${JSON.stringify(value)}`);
  }
  assert.deepEqual(parsePolicy(body({ rules: [rule({ params: null })] })).spec.rules[0]?.params, { latestPushedK: 10 });
});

test('parsePolicy refuses with Harbor’s messages, or one naming the field', () => {
  const long = 'a'.repeat(257);
  const templates = '"latestPushedK", "latestPulledN", "nDaysSinceLastPush", "nDaysSinceLastPull", "always", "latestActiveK", "lastXDays"';
  const bad = (code: string, b: unknown, message: string) => assert.throws(() => parsePolicy(b), { code, message }, message);
  const badRule = (over: Record<string, unknown>, message: string) => bad('BAD_REQUEST', body({ rules: [rule(), rule(over)] }), message);
  bad('BAD_REQUEST', [], 'the request body must be a RetentionPolicy object');
  bad('BAD_REQUEST', null, 'the request body must be a RetentionPolicy object');
  bad('BAD_REQUEST', body({ scope: undefined }), 'scope must be an object: {"level":"project","ref":<project id>}');
  bad('BAD_REQUEST', body({ scope: { level: 'system', ref: 0 } }), 'scope system is not support');
  bad('BAD_REQUEST', body({ scope: { ref: 3 } }), 'scope null is not support');
  bad('BAD_REQUEST', body({ scope: { level: 'project', ref: 0 } }), 'invalid Project id 0');
  bad('BAD_REQUEST', body({ scope: { level: 'project', ref: -4 } }), 'invalid Project id -4');
  bad('BAD_REQUEST', body({ scope: { level: 'project', ref: 1.5 } }), 'invalid Project id 1.5');
  bad('BAD_REQUEST', body({ scope: { level: 'project', ref: '3' } }), 'invalid Project id "3"');
  bad('BAD_REQUEST', body({ scope: { level: 'project' } }), 'invalid Project id null');
  bad('BAD_REQUEST', body({ algorithm: 'and' }), 'algorithm "and" is not supported: only "or"');
  bad('BAD_REQUEST', body({ algorithm: 1 }), 'algorithm of this type is not supported: only "or"');
  bad('BAD_REQUEST', body({ rules: {} }), 'rules must be an array');
  bad('BAD_REQUEST', body({ rules: Array.from({ length: 16 }, (_, i) => rule({ params: { latestPushedK: i } })) }), 'only 15 rules are allowed at most');
  // Equal once `id` is ignored: Harbor's 409, naming the later rule first.
  bad('CONFLICT', body({ rules: [rule({ id: 1 }), rule({ template: 'always' }), rule({ id: 2 })] }), 'rule 2 is conflict with rule 0');
  bad('CONFLICT', body({ rules: [rule(), rule({ params: { latestPushedK: '5' } })] }), 'rule 1 is conflict with rule 0');
  assert.equal(parsePolicy(body({ rules: [rule(), rule({ disabled: true })] })).spec.rules.length, 2);
  assert.equal(parsePolicy(body({ rules: Array.from({ length: 15 }, (_, i) => rule({ params: { latestPushedK: i } })) })).spec.rules.length, 15);
  bad('BAD_REQUEST', body({ rules: ['x'] }), 'rules[0] must be an object');
  badRule({ id: 1.5 }, 'rules[1].id must be an integer');
  badRule({ priority: 'high' }, 'rules[1].priority must be an integer');
  badRule({ disabled: 'yes' }, 'rules[1].disabled must be true or false');
  badRule({ action: 'delete' }, 'rules[1].action must be "retain"');
  badRule({ template: 'bogus' }, `rules[1].template must be one of ${templates}, not "bogus"`);
  badRule({ template: undefined }, `rules[1].template must be one of ${templates}`);
  badRule({ template: 'immutable_template' }, `rules[1].template must be one of ${templates}, not "immutable_template"`);
  badRule({ params: [] }, 'rules[1].params must be an object');
  badRule({ params: { latestPushedK: -1 } }, 'rules[1].params.latestPushedK must be an integer from 0 to 32766');
  badRule({ params: { latestPushedK: '-3' } }, 'rules[1].params.latestPushedK must be an integer from 0 to 32766');
  badRule({ params: { latestPushedK: 32767 } }, 'rules[1].params.latestPushedK must be an integer from 0 to 32766');
  badRule({ template: 'latestPulledN', params: { latestPulledN: 1e9 } }, 'rules[1].params.latestPulledN must be an integer from 0 to 32766');
  badRule({ template: 'nDaysSinceLastPull', params: { nDaysSinceLastPull: 20190905 } }, 'rules[1].params.nDaysSinceLastPull must be an integer from 0 to 20190904');
  badRule({ template: 'lastXDays', params: { lastXDays: -2 } }, 'rules[1].params.lastXDays must be an integer from 0 to 20190904');
  badRule({ tag_selectors: undefined }, 'rules[1].tag_selectors must be a non-empty array of selectors');
  badRule({ tag_selectors: [] }, 'rules[1].tag_selectors must be a non-empty array of selectors');
  badRule({ tag_selectors: Array.from({ length: 9 }, () => tagSel()) }, 'rules[1].tag_selectors: at most 8 selectors');
  badRule({ tag_selectors: [tagSel(), 'x'] }, 'rules[1].tag_selectors[1] must be an object');
  badRule({ tag_selectors: [{ ...tagSel(), kind: 'regexp' }] }, 'rules[1].tag_selectors[0].kind must be "doublestar"');
  badRule({ tag_selectors: [tagSel('**', 'repoMatches')] }, 'rules[1].tag_selectors[0].decoration must be one of "matches", "excludes"');
  badRule({ tag_selectors: [{ ...tagSel(), pattern: 5 }] }, 'rules[1].tag_selectors[0].pattern must be a string');
  badRule({ tag_selectors: [tagSel('[z-a]')] }, 'rules[1].tag_selectors[0].pattern is not a valid glob: range z-a is out of order');
  badRule({ tag_selectors: [tagSel(long)] }, 'rules[1].tag_selectors[0].pattern is longer than 256 characters');
  badRule({ tag_selectors: [tagSel('**', 'matches', 'x'.repeat(1025))] }, 'rules[1].tag_selectors[0].extras is longer than 1024 characters');
  badRule({ tag_selectors: [{ ...tagSel(), extras: { untagged: true } }] }, 'rules[1].tag_selectors[0].extras must be a string');
  for (const extras of ['nope', '{"untagged":"yes"}', '{"untagged":true,"x":1}', '{}', '[true]', 'true']) {
    badRule({ tag_selectors: [tagSel('**', 'matches', extras)] }, 'rules[1].tag_selectors[0].extras must be empty or {"untagged":true|false}');
  }
  badRule({ scope_selectors: undefined }, 'rules[1].scope_selectors must be an object with a "repository" list');
  badRule({ scope_selectors: [] }, 'rules[1].scope_selectors must be an object with a "repository" list');
  badRule({ scope_selectors: { repository: [] } }, 'rules[1].scope_selectors.repository must be a non-empty array of selectors');
  badRule({ scope_selectors: { repository: [repoSel('**', 'matches')] } }, 'rules[1].scope_selectors.repository[0].decoration must be one of "repoMatches", "repoExcludes"');
  badRule({ scope_selectors: { repository: [repoSel('**', 'nsMatches')] } }, 'rules[1].scope_selectors.repository[0].decoration must be one of "repoMatches", "repoExcludes"');
  // Harbor's doublestar v1 fails such a pattern at run time (#14259); Wharf's glob matches it.
  assert.equal(parsePolicy(body({ rules: [rule({ scope_selectors: { repository: [repoSel('{a/b,c/d}')] } })] })).spec.rules[0]?.scope_selectors.repository[0]?.pattern, '{a/b,c/d}');
  bad('BAD_REQUEST', body({ trigger: 'daily' }), 'trigger must be an object');
  bad('BAD_REQUEST', body({ trigger: { kind: 'Event' } }), 'trigger.kind must be "Schedule"');
  bad('BAD_REQUEST', body({ trigger: { settings: 'x' } }), 'trigger.settings must be an object');
  bad('BAD_REQUEST', body({ trigger: { kind: 'Schedule', settings: { cron: 5 } } }), 'cron must be a string');
  bad('BAD_REQUEST', body({ summary_event: 'yes' }), 'summary_event must be true or false');
});

test('policyText has a fixed key order; readPolicy reads it back', () => {
  const spec = parsePolicy(body({ summary_event: true })).spec;
  const text = policyText(spec);
  assert.equal(
    text,
    '{"algorithm":"or","rules":[{"id":0,"priority":0,"disabled":false,"action":"retain","template":"latestPushedK","params":{"latestPushedK":5},' +
      '"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"**","extras":"{\\"untagged\\":true}"}],' +
      '"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**","extras":""}]}}],"cron":"0 0 0 * * *","summary_event":true}',
  );
  assert.deepEqual(readPolicy(text), spec);
  // The same policy sent with its keys in another order stores the same text.
  const reordered = {
    summary_event: true,
    rules: [{ scope_selectors: { repository: [{ pattern: '**', decoration: 'repoMatches', kind: 'doublestar' }] }, tag_selectors: [{ extras: '{"untagged":true}', pattern: '**', decoration: 'matches', kind: 'doublestar' }], params: { latestPushedK: 5 }, template: 'latestPushedK' }],
    trigger: { settings: { cron: '0 0 0 * * *' } },
    scope: { ref: 3, level: 'project' },
  };
  assert.equal(policyText(parsePolicy(reordered).spec), text);
  const empty = { algorithm: 'or' as const, rules: [], cron: '', summary_event: false };
  assert.equal(policyText(empty), '{"algorithm":"or","rules":[],"cron":"","summary_event":false}');
  assert.deepEqual(readPolicy(policyText(empty)), empty);
  assert.throws(() => readPolicy('{"algorithm":"or","rules":[],"summary_event":false}'), { code: 'BAD_REQUEST', message: 'cron must be a string' });
  assert.throws(() => readPolicy('[]'), { code: 'BAD_REQUEST', message: 'a stored retention policy must be a JSON object' });
});

test('policyView: Harbor’s wire shape, next_scheduled_time only when known', () => {
  const spec = parsePolicy(body()).spec;
  const view = policyView({ id: 5, projectId: 3, spec, nextRunMs: Date.UTC(2026, 7, 22, 0, 0, 0, 250) });
  assert.deepEqual(view, {
    id: 5,
    algorithm: 'or',
    rules: [parsedRule(0)],
    trigger: { kind: 'Schedule', settings: { cron: '0 0 0 * * *', next_scheduled_time: '2026-08-22T00:00:00Z' }, references: {} },
    scope: { level: 'project', ref: 3 },
    summary_event: false,
  });
  assert.deepEqual(Object.keys(view), ['id', 'algorithm', 'rules', 'trigger', 'scope', 'summary_event']);
  const unscheduled = policyView({ id: 5, projectId: 3, spec: { ...spec, cron: '' }, nextRunMs: null });
  assert.deepEqual(unscheduled.trigger, { kind: 'Schedule', settings: { cron: '' }, references: {} });
});

test('retentionMetadata advertises the five public templates and the selector kinds', () => {
  const count = [{ type: 'int', unit: 'COUNT', required: true }];
  const days = [{ type: 'int', unit: 'DAYS', required: true }];
  assert.deepEqual(retentionMetadata, {
    templates: [
      { rule_template: 'latestPushedK', display_text: 'the most recently pushed # artifacts', action: 'retain', params: count },
      { rule_template: 'latestPulledN', display_text: 'the most recently pulled # artifacts', action: 'retain', params: count },
      { rule_template: 'nDaysSinceLastPush', display_text: 'pushed within the last # days', action: 'retain', params: days },
      { rule_template: 'nDaysSinceLastPull', display_text: 'pulled within the last # days', action: 'retain', params: days },
      { rule_template: 'always', display_text: 'always', action: 'retain', params: [] },
    ],
    scope_selectors: [{ display_text: 'Repositories', kind: 'doublestar', decorations: ['repoMatches', 'repoExcludes'] }],
    tag_selectors: [{ display_text: 'Tags', kind: 'doublestar', decorations: ['matches', 'excludes'] }],
  });
});

test('eventRule: TAG_RETENTION’s retention_rule item, params left out when empty', () => {
  const [always, pulled] = parsePolicy(body({ rules: [rule({ template: 'always', tag_selectors: [tagSel('xxxxxxxxxx')] }), rule({ template: 'latestPulledN', params: { latestPulledN: 1 } })] })).spec.rules;
  assert.ok(always && pulled);
  assert.equal(
    JSON.stringify(eventRule(always)),
    '{"template":"always","tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"xxxxxxxxxx","extras":"{\\"untagged\\":true}"}],' +
      '"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**","extras":""}]}}',
  );
  assert.deepEqual(eventRule(pulled), {
    template: 'latestPulledN',
    params: { latestPulledN: 1 },
    tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**', extras: '{"untagged":true}' }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**', extras: '' }] },
  });
});
