/** The security hub's `q` rules (Harbor's for /security/vul): known keys, ranges for the score, exact values otherwise. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../domain/index.ts';
import { vulnerabilityFilters } from './security-hub.ts';

function refused(q: string, message: string): void {
  assert.throws(
    () => vulnerabilityFilters(q),
    (e) => isDomainError(e, 'BAD_REQUEST') && e.message === message,
  );
}

/** Key and typed condition of each filter. */
const conditions = (q: string) => vulnerabilityFilters(q).map((f) => [f.key, f.condition]);

test('vulnerabilityFilters: every key of the list, typed', () => {
  assert.deepEqual(conditions(''), []);
  assert.deepEqual(conditions('cve_id=CVE-2024-1,severity=High,status=fixed,package=openssl,repository_name=library/app,digest=sha256:ab,tag=v1,project_id=3'), [
    ['cve_id', { kind: 'exact', value: 'CVE-2024-1' }],
    ['severity', { kind: 'exact', value: 'High' }],
    ['status', { kind: 'exact', value: 'fixed' }],
    ['package', { kind: 'exact', value: 'openssl' }],
    ['repository_name', { kind: 'exact', value: 'library/app' }],
    ['digest', { kind: 'exact', value: 'sha256:ab' }],
    ['tag', { kind: 'exact', value: 'v1' }],
    ['project_id', { kind: 'exact', value: 3 }],
  ]);
  assert.deepEqual(conditions('cvss_score_v3=[7.5~10]'), [['cvss_score_v3', { kind: 'range', min: 7.5, max: 10 }]]);
  assert.deepEqual(conditions('cvss_score_v3=[~ 4]'), [['cvss_score_v3', { kind: 'range', max: 4 }]]);
  assert.deepEqual(conditions('cvss_score_v3=[9~]'), [['cvss_score_v3', { kind: 'range', min: 9 }]]);
  // Quoted values lose their quotes; `q` is unescaped once more, as Harbor does.
  assert.deepEqual(conditions('package="lib a"'), [['package', { kind: 'exact', value: 'lib a' }]]);
  assert.deepEqual(conditions('repository_name%3Dlibrary%2Fapp'), [['repository_name', { kind: 'exact', value: 'library/app' }]]);
});

test('vulnerabilityFilters: Harbor’s 400s', () => {
  refused('name=x', 'keyword: name is not allowed');
  refused('cve_id=CVE-1,sort=x', 'keyword: sort is not allowed');
  refused('cve_id=~CVE', 'keyword: cve_id, the query type is not allowed');
  refused('tag={a b}', 'keyword: tag, the query type is not allowed');
  refused('package=(a b)', 'keyword: package, the query type is not allowed');
  refused('digest=[a~b]', 'keyword: digest, the query type is not allowed');
  refused('cvss_score_v3=9', 'keyword: cvss_score_v3, the query type is not allowed');
  refused('cvss_score_v3=~9', 'keyword: cvss_score_v3, the query type is not allowed');
  refused('cvss_score_v3=[nine~10]', 'q: cvss_score_v3 must be a number, not "nine"');
  refused('cvss_score_v3=[1e3~]', 'q: cvss_score_v3 must be a number, not "1e3"');
  refused('project_id=library', 'q: project_id must be an integer, not "library"');
  refused('cve_id', 'the query string must contain "=" and the key/value cannot be empty');
});

test('vulnerabilityFilters: a long score is refused with its first 64 characters', () => {
  refused('cvss_score_v3=[' + '1'.repeat(100_000) + '.~]', `q: cvss_score_v3 must be a number, not "${'1'.repeat(64)}"`);
});
