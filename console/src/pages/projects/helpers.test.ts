import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessLevel,
  artifactPlatforms,
  auditLogQuery,
  containsTerm,
  isIndex,
  joinTerms,
  parseCveIds,
  sortVulnerabilities,
  vulnerabilityReport,
  parseRepoPath,
  platformText,
  projectType,
  quotaPercent,
  repoShortName,
  roleText,
  shortTime,
  scanInProgress,
  scanOverviewOf,
  scanText,
  severityCounts,
  splitBytes,
} from './helpers.ts';

const v11 = 'application/vnd.security.vulnerability.report; version=1.1';

test('severityCounts: worst first, zeros dropped, None counted as Negligible, odd words as Unknown', () => {
  const s = { scan_status: 'Success', summary: { total: 9, fixable: 2, summary: { Low: 1, Critical: 2, High: 0, None: 3, Weird: 1, Unknown: 2 } } };
  assert.deepEqual(severityCounts(s), [
    { severity: 'Critical', count: 2 },
    { severity: 'Low', count: 1 },
    { severity: 'Negligible', count: 3 },
    { severity: 'Unknown', count: 3 },
  ]);
  assert.deepEqual(severityCounts(null), []);
  assert.deepEqual(severityCounts({ scan_status: 'Success', summary: { total: 0, fixable: 0, summary: {} } }), []);
});

test('scanOverviewOf and scanText: not scanned, running, clean, findings, failed', () => {
  assert.equal(scanOverviewOf({ scan_overview: null }), null);
  const o = { scan_status: 'Success', summary: { total: 3, fixable: 1, summary: { High: 3 } } };
  assert.equal(scanOverviewOf({ scan_overview: { [v11]: o } }), o);
  assert.equal(scanText(null), 'Not scanned');
  assert.equal(scanText({ scan_status: 'Running', complete_percent: 50 }), 'Running 50%');
  assert.equal(scanText({ scan_status: 'Pending' }), 'Pending');
  assert.equal(scanText({ scan_status: 'Success', summary: { total: 0, fixable: 0, summary: {} } }), 'No vulnerabilities');
  assert.equal(scanText(o), '3 vulnerabilities (1 fixable)');
  assert.equal(scanText({ scan_status: 'Success', summary: { total: 1, fixable: 0 } }), '1 vulnerability');
  assert.equal(scanText({ scan_status: 'Error' }), 'Error');
});

test('scanInProgress: a running vulnerability scan or SBOM generation', () => {
  assert.equal(scanInProgress({ scan_overview: { [v11]: { scan_status: 'Running' } } }), true);
  assert.equal(scanInProgress({ scan_overview: { [v11]: { scan_status: 'Success' } }, sbom_overview: { scan_status: 'Pending' } }), true);
  assert.equal(scanInProgress({ scan_overview: { [v11]: { scan_status: 'Error' } } }), false);
  assert.equal(scanInProgress({}), false);
});

test('platforms: an image’s own, an index’s children', () => {
  assert.equal(platformText({ os: 'linux', architecture: 'arm64', variant: 'v8' }), 'linux/arm64/v8');
  assert.equal(platformText(null), '');
  assert.deepEqual(artifactPlatforms({ extra_attrs: { os: 'linux', architecture: 'amd64' }, references: [] }), ['linux/amd64']);
  assert.deepEqual(
    artifactPlatforms({
      extra_attrs: {},
      references: [
        { parent_id: 1, child_id: 2, child_digest: 'sha256:a', platform: { os: 'linux', architecture: 'amd64' } },
        { parent_id: 1, child_id: 3, child_digest: 'sha256:b', platform: { os: 'linux', architecture: 'arm64' } },
      ],
    }),
    ['linux/amd64', 'linux/arm64'],
  );
  assert.deepEqual(artifactPlatforms({ extra_attrs: null, references: null }), []);
  assert.equal(isIndex({ manifest_media_type: 'application/vnd.oci.image.index.v1+json' }), true);
  assert.equal(isIndex({ manifest_media_type: 'application/vnd.docker.distribution.manifest.list.v2+json' }), true);
  assert.equal(isIndex({ manifest_media_type: 'application/vnd.oci.image.manifest.v1+json' }), false);
});

test('projects: access level and type', () => {
  assert.equal(accessLevel({ metadata: { public: 'true' } }), 'Public');
  assert.equal(accessLevel({ metadata: { public: 'false' } }), 'Private');
  assert.equal(accessLevel({ metadata: {} }), 'Private');
  assert.equal(projectType({ registry_id: 3 }), 'Proxy Cache');
  assert.equal(projectType({ registry_id: null }), 'Project');
});

test('q terms: substring matches, quoting, joining, audit-log filters', () => {
  assert.equal(containsTerm('name', ' team '), 'name=~team');
  assert.equal(containsTerm('name', ''), undefined);
  assert.equal(containsTerm('name', 'a,b'), 'name=~"a,b"');
  assert.equal(joinTerms(undefined, 'a=1', '', 'b=~2'), 'a=1,b=~2');
  assert.equal(joinTerms(undefined), undefined);
  assert.equal(auditLogQuery({ username: 'alice', operation: 'create', resourceType: '' }), 'username=~alice,operation=create');
  const q = auditLogQuery({ from: '2026-12-06T10:00:00Z' });
  assert.equal(q, 'op_time=[2026-12-06 10:00:00~]');
  assert.equal(auditLogQuery({}), undefined);
});

test('storage: split into a unit, percent used', () => {
  assert.deepEqual(splitBytes(-1), { value: -1, unit: 'GiB' });
  assert.deepEqual(splitBytes(2 * 2 ** 30), { value: 2, unit: 'GiB' });
  assert.deepEqual(splitBytes(3 * 2 ** 40), { value: 3, unit: 'TiB' });
  assert.deepEqual(splitBytes(512 * 2 ** 20), { value: 512, unit: 'MiB' });
  assert.equal(quotaPercent(50, 200), 25);
  assert.equal(quotaPercent(500, 200), 100);
  assert.equal(quotaPercent(5, -1), null);
});

test('repository names in URLs', () => {
  assert.equal(repoShortName('library/a/b', 'library'), 'a/b');
  assert.equal(repoShortName('other/x', 'library'), 'other/x');
  assert.deepEqual(parseRepoPath('a%2Fb/artifacts-tab'), { repo: 'a/b', digest: null, tab: true });
  assert.deepEqual(parseRepoPath('a/b/artifacts-tab/artifacts/sha256:12'), { repo: 'a/b', digest: 'sha256:12', tab: true });
  assert.deepEqual(parseRepoPath('demo'), { repo: 'demo', digest: null, tab: false });
});

test('vulnerability reports: the report inside the addition, sorted worst first', () => {
  assert.equal(vulnerabilityReport({}), null);
  assert.equal(vulnerabilityReport(null), null);
  const v = (id: string, severity: string, score?: number) => ({ id, package: 'p', version: '1', severity, preferred_cvss: score === undefined ? null : { score_v3: score } });
  const r = vulnerabilityReport({ [v11]: { severity: 'High', vulnerabilities: [v('CVE-2', 'Low'), v('CVE-1', 'High', 7.5), v('CVE-3', 'High', 9.8), v('CVE-0', 'Critical')] } });
  assert.ok(r);
  assert.deepEqual(
    sortVulnerabilities(r.vulnerabilities).map((x) => x.id),
    ['CVE-0', 'CVE-3', 'CVE-1', 'CVE-2'],
  );
});

test('parseCveIds: lines, commas, repeats', () => {
  assert.deepEqual(parseCveIds(' CVE-1\nCVE-2, CVE-1\n\n GHSA-x '), ['CVE-1', 'CVE-2', 'GHSA-x']);
  assert.deepEqual(parseCveIds(''), []);
});

test('roles and short times', () => {
  assert.equal(roleText({ current_user_role_id: 2 }, false), 'Developer');
  assert.equal(roleText({ current_user_role_id: 0 }, true), 'System Admin');
  assert.equal(roleText({ current_user_role_id: 0 }, false), '');
  assert.equal(shortTime('0001-01-01T00:00:00.000Z'), '');
  assert.equal(shortTime(undefined), '');
  assert.notEqual(shortTime('2026-12-06T12:00:00.000Z'), '');
});
