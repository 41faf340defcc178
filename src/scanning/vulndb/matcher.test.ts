import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { VulnerabilityItem } from '../adapter/protocol.ts';
import { coverage, cveIds, finalize, type Finding } from './matcher.ts';
import { maxDetails, parseRecord, type CompactAffected } from './osv.ts';

const entry = (over: Partial<CompactAffected>): CompactAffected => ({ ecosystem: 'npm', name: 'x', purl: '', ranges: [], versions: [], severity: [], severityWord: '', ...over });

test('coverage: versions[] or a range; fixed is exclusive, last_affected inclusive; the smallest fix above', () => {
  const e = entry({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { fixed: '1.2.6' }] }, { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '0.2.4' }] }] });
  assert.deepEqual(coverage('semver', '1.2.5', e), { fix: '1.2.6' });
  assert.deepEqual(coverage('semver', '0.2.3', e), { fix: '0.2.4' });
  assert.equal(coverage('semver', '1.2.6', e), null);
  assert.equal(coverage('semver', '0.2.4', e), null);
  const last = entry({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { last_affected: '1.11.0' }] }] });
  assert.deepEqual(coverage('pep440', '1.11.0', last), { fix: '' });
  assert.equal(coverage('pep440', '1.11.1', last), null);
  const listed = entry({ versions: ['3.1', '3.3.1'] });
  assert.deepEqual(coverage('pep440', '3.3.1', listed), { fix: '' });
  assert.deepEqual(coverage(null, '3.3.1', listed), { fix: '' });
  assert.equal(coverage(null, '3.3.1', entry({ ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] })), null);
});

test('cveIds: the record id, aliases and upstream that are CVEs, once each', () => {
  assert.deepEqual(cveIds({ id: 'DSA-5514-1', summary: '', details: '', aliases: [], upstream: ['CVE-2023-4911', 'DEBIAN-CVE-2023-4911'], severity: [], links: [], dbSeverity: '', cwe_ids: [] }), ['CVE-2023-4911']);
  assert.deepEqual(cveIds({ id: 'CVE-2021-0001', summary: '', details: '', aliases: ['GHSA-x', 'CVE-2021-0001', 'CVE-2021-0002', 'CVE-21-3'], upstream: [], severity: [], links: [], dbSeverity: '', cwe_ids: [] }), ['CVE-2021-0001', 'CVE-2021-0002']);
  assert.deepEqual(cveIds({ id: 'GHSA-x', summary: '', details: '', aliases: ['PYSEC-1'], upstream: [], severity: [], links: [], dbSeverity: '', cwe_ids: [] }), []);
});

test('finalize: one item per (id, package, version), the most specific advisory first; severity, id, package order', () => {
  const item = (id: string, pkg: string, severity: VulnerabilityItem['severity'], fix = ''): VulnerabilityItem => ({ id, package: pkg, version: '1', fix_version: fix, severity, description: '', links: [] });
  const f = (i: VulnerabilityItem, cves: number, osvId: string): Finding => ({ item: i, cves, osvId });
  const out = finalize([
    f(item('CVE-1', 'b', 'Low', 'from-dsa'), 2, 'DSA-1'),
    f(item('CVE-1', 'b', 'Low', 'from-debian-cve'), 1, 'DEBIAN-CVE-1'),
    f(item('CVE-1', 'a', 'Low'), 1, 'DEBIAN-CVE-1'),
    f(item('CVE-0', 'c', 'Critical'), 1, 'X'),
    f(item('GHSA-z', 'a', 'Unknown'), 0, 'GHSA-z'),
    f(item('CVE-2', 'a', 'Medium'), 1, 'B'),
    f(item('CVE-2', 'a', 'Medium', 'later'), 1, 'C'),
  ]);
  assert.deepEqual(
    out.map((i) => [i.id, i.package, i.fix_version]),
    [
      ['CVE-0', 'c', ''],
      ['CVE-2', 'a', ''],
      ['CVE-1', 'a', ''],
      ['CVE-1', 'b', 'from-debian-cve'],
      ['GHSA-z', 'a', ''],
    ],
  );
});

test('parseRecord: compact advisory and entries; GIT ranges, withdrawn entries and filtered ecosystems dropped', () => {
  const r = parseRecord({
    id: 'GHSA-aaaa',
    modified: '2024-06-01T12:00:00.5Z',
    aliases: ['CVE-2024-1', 7],
    summary: ' s ',
    details: 'd'.repeat(maxDetails + 10),
    references: [{ url: 'https://a' }, { url: 'https://a' }, { type: 'WEB' }, { url: 'https://b' }],
    database_specific: { severity: 'HIGH', cwe_ids: ['CWE-79'] },
    affected: [
      { package: { ecosystem: 'PyPI', name: 'Zope_Interface' }, ranges: [{ type: 'GIT', events: [{ introduced: 'abc' }] }, { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2' }, { bogus: '1' }] }], ecosystem_specific: { urgency: 'low' } },
      { package: { ecosystem: 'PyPI', name: 'only-git' }, ranges: [{ type: 'GIT', events: [{ introduced: 'abc' }] }] },
      { package: { ecosystem: 'npm', name: 'n' }, versions: ['1.0.0'] },
    ],
  }, (eco) => eco === 'PyPI');
  assert.ok(typeof r !== 'string');
  assert.equal(r.modified, Date.parse('2024-06-01T12:00:00.5Z'));
  assert.equal(r.withdrawn, null);
  assert.deepEqual(r.advisory, { id: 'GHSA-aaaa', summary: 's', details: 'd'.repeat(maxDetails), aliases: ['CVE-2024-1'], upstream: [], severity: [], links: ['https://a', 'https://b'], dbSeverity: 'HIGH', cwe_ids: ['CWE-79'] });
  assert.deepEqual(r.affected, [{ ecosystem: 'PyPI', name: 'zope-interface', purl: '', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '2' }] }], versions: [], severity: [], severityWord: 'low' }]);
  const w = parseRecord({ id: 'X', modified: '2024-01-01T00:00:00Z', withdrawn: '2024-02-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'n' }, versions: ['1'] }] });
  assert.ok(typeof w !== 'string');
  assert.equal(w.withdrawn, Date.parse('2024-02-01T00:00:00Z'));
  assert.deepEqual(w.affected, []);
  // No modified: published, else the epoch; an unparseable one is refused.
  const modifiedOf = (raw: unknown): number | string => {
    const p = parseRecord(raw);
    return typeof p === 'string' ? p : p.modified;
  };
  assert.equal(modifiedOf({ id: 'P', published: '2014-09-20T00:00:00Z' }), Date.parse('2014-09-20T00:00:00Z'));
  assert.equal(modifiedOf({ id: 'E' }), 0);
  assert.equal(parseRecord({ id: 'B', modified: 'yesterday' }), 'B: "modified" is not a valid time');
  assert.equal(parseRecord({ modified: '2024-01-01T00:00:00Z' }), 'no id');
  assert.equal(parseRecord([1]), 'not a JSON object');
});
