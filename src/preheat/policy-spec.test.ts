import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../domain/index.ts';
import { candidateMatches, parseExtraAttrs, parseFilters, parseTrigger, projectSecurityFilters, severityCode, type Candidate } from './policy-spec.ts';
import { dragonflyProgress } from './providers.ts';

const base: Candidate = { repository: 'p/team/app', shortName: 'team/app', tag: 'v1.2', digest: 'sha256:aa', labels: ['prod', 'eu'], severity: 2, signed: false };

function message(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof DomainError);
    return err.message;
  }
  assert.fail('no error');
}

test('repository, tag and label filters', () => {
  const f = parseFilters(JSON.stringify([
    { type: 'repository', value: 'team/**' },
    { type: 'tag', value: 'v1.*' },
    { type: 'label', value: 'prod,eu' },
  ]));
  assert.equal(candidateMatches(f, base), true);
  assert.equal(candidateMatches(f, { ...base, shortName: 'other/app' }), false);
  assert.equal(candidateMatches(f, { ...base, tag: 'v2.0' }), false);
  assert.equal(candidateMatches(f, { ...base, labels: ['prod'] }), false);
  assert.equal(candidateMatches([], base), true);
});

test('the project replaces the policy’s signature and vulnerability filters', () => {
  const own = parseFilters(JSON.stringify([
    { type: 'signature', value: true },
    { type: 'vulnerability', value: 1 },
  ]));
  const none = projectSecurityFilters(own, { contentTrust: false, preventVul: false, severity: '' });
  assert.deepEqual(none, []);
  const strict = projectSecurityFilters(own, { contentTrust: true, preventVul: true, severity: 'High' });
  assert.equal(candidateMatches(strict, base), false, 'unsigned');
  assert.equal(candidateMatches(strict, { ...base, signed: true }), true, 'low < high');
  assert.equal(candidateMatches(strict, { ...base, signed: true, severity: 4 }), false, 'high is not below high');
  assert.equal(candidateMatches(strict, { ...base, signed: true, severity: 99 }), false, 'never scanned');
  assert.equal(severityCode('Critical'), 5);
  assert.equal(severityCode(null), 99);
  assert.equal(severityCode('constructor'), 99);
});

test('Harbor’s messages for bad filters, triggers and extra attributes', () => {
  assert.equal(message(() => parseFilters('')), 'missing filters in preheat policy schema');
  assert.equal(message(() => parseFilters('[{"type":"signature","value":"yes"}]')), 'invalid boolean pattern format(string) for filter: signature');
  assert.equal(message(() => parseFilters('[{"type":"vulnerability","value":1.5}]')), 'invalid integer pattern format(float64) for filter: vulnerability');
  assert.equal(message(() => parseFilters('[{"type":"tag"}]')), 'pattern value is missing for filter: tag');
  assert.equal(message(() => parseTrigger('')), 'missing trigger settings in preheat policy schema');
  assert.deepEqual(parseTrigger('{"type":"scheduled","trigger_setting":{"cron":"0 0 3 * * *"}}'), { type: 'scheduled', cron: '0 0 3 * * *' });
  assert.deepEqual(parseTrigger('{"type":"manual","trigger_setting":{"cron":"0 0 3 * * *"}}'), { type: 'manual', cron: '' });
  assert.equal(message(() => parseExtraAttrs('{"scope":"all"}')), 'invalid scope: all');
  assert.deepEqual(parseExtraAttrs('{"scope":"all_peers","cluster_ids":[1,2]}'), { scope: 'all_peers', clusterIds: [1, 2] });
});

test('Dragonfly job answers', () => {
  assert.equal(dragonflyProgress('7', { state: 'PENDING' }).state, 'RUNNING');
  assert.deepEqual(dragonflyProgress('7', { state: 'FAILURE', result: { job_states: [{ error: 'a' }, { error: 'b' }] } }), { taskId: '7', state: 'FAIL', error: 'a; b' });
  const ok = dragonflyProgress('7', { state: 'SUCCESS', result: { job_states: [{ results: [{ scheduler_cluster_id: 3, success_tasks: [{ url: 'u', hostname: 'h', ip: '1.2.3.4' }], failure_tasks: [{ url: 'u2', hostname: 'h2', ip: '5.6.7.8', description: 'd' }] }] }] } });
  assert.deepEqual(ok.detail, ['SUCCESS u h 1.2.3.4 cluster 3', 'FAILURE u2 h2 5.6.7.8 cluster 3: d']);
  assert.equal(dragonflyProgress('7', { state: 'WEIRD' }).error, 'unknown state: WEIRD');
});
