import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { countItems, fallbackScoreV3, ingestSbomReport, ingestVulnerabilityReport, maxSeverity, normalizeSeverity } from './report-ingest.ts';

const scanner = { name: 'Trivy', vendor: 'Aqua Security', version: 'v0.50.1' };

describe('report ingest', () => {
  it('normalises severities: Negligible is None, unknown words are Unknown, any case', () => {
    assert.equal(normalizeSeverity('Negligible'), 'None');
    assert.equal(normalizeSeverity('NONE'), 'None');
    assert.equal(normalizeSeverity('critical'), 'Critical');
    assert.equal(normalizeSeverity('High'), 'High');
    assert.equal(normalizeSeverity('moderate'), 'Unknown');
    assert.equal(normalizeSeverity(''), 'Unknown');
    assert.equal(normalizeSeverity(4), 'Unknown');
    assert.equal(maxSeverity('Low', 'High'), 'High');
    assert.equal(maxSeverity('None', 'Unknown'), 'None');
  });

  it('takes a missing score_v3 from vendor_attributes.CVSS: nvd first, then any vendor', () => {
    assert.equal(fallbackScoreV3({ CVSS: { redhat: { V3Score: 6.1 }, nvd: { V3Score: 7.5 } } }), 7.5);
    assert.equal(fallbackScoreV3({ CVSS: { redhat: { V3Score: 6.1 }, ghsa: { V3Score: 5 } } }), 5);
    assert.equal(fallbackScoreV3({ CVSS: { nvd: { V2Score: 5 } } }), null);
    assert.equal(fallbackScoreV3({}), null);
  });

  it('counts per severity, fixable and the overall severity', () => {
    const r = ingestVulnerabilityReport({
      generated_at: '2024-06-10T06:12:55Z',
      scanner,
      severity: 'Critical',
      vulnerabilities: [
        { id: 'CVE-1', package: 'a', version: '1', fix_version: '2', severity: 'High', links: ['x', 3] },
        { id: 'CVE-2', package: 'b', version: '1', fix_version: '', severity: 'Negligible', preferred_cvss: { score_v3: 2.1, vector_v3: 'v' } },
        { id: 'CVE-3', package: 'c', version: '1', severity: 'weird', vendor_attributes: { CVSS: { nvd: { V3Score: 9.8 } } } },
      ],
    });
    assert.equal(r.severity, 'High');
    assert.deepEqual(r.counts, { total: 3, fixable: 1, Critical: 0, High: 1, Medium: 0, Low: 0, None: 1, Unknown: 1 });
    assert.deepEqual(r.items[0]?.links, ['x']);
    assert.deepEqual(r.items[1]?.preferred_cvss, { score_v3: 2.1, score_v2: null, vector_v3: 'v', vector_v2: '' });
    assert.equal(r.items[2]?.preferred_cvss.score_v3, 9.8);
    assert.equal(r.items[2]?.fix_version, '');
    assert.deepEqual(r.scanner, scanner);
  });

  it('a clean report is None; only Unknown findings are Unknown', () => {
    assert.equal(ingestVulnerabilityReport({ scanner, vulnerabilities: [] }).severity, 'None');
    assert.equal(ingestVulnerabilityReport({ scanner, vulnerabilities: null }).severity, 'None');
    assert.equal(ingestVulnerabilityReport({ scanner, vulnerabilities: [{ id: 'X', severity: '?' }] }).severity, 'Unknown');
    assert.equal(ingestVulnerabilityReport({ scanner, vulnerabilities: [{ id: 'X', severity: 'Negligible' }] }).severity, 'None');
  });

  it('refuses what is not a report, with a message for the task log', () => {
    assert.throws(() => ingestVulnerabilityReport('x'), /not a JSON object/);
    assert.throws(() => ingestVulnerabilityReport({ scanner, vulnerabilities: {} }), /no vulnerabilities array/);
    assert.throws(() => ingestVulnerabilityReport({ vulnerabilities: [] }), /no scanner object/);
    assert.throws(() => ingestVulnerabilityReport({ scanner, vulnerabilities: [{ package: 'a' }] }), /vulnerabilities\[0\] has no id/);
    assert.throws(() => ingestSbomReport({ scanner, sbom: [] }), /no sbom object/);
    assert.deepEqual(ingestSbomReport({ scanner, media_type: 'application/spdx+json', sbom: { a: 1 }, generated_at: 't' }), { generatedAt: 't', scanner, mediaType: 'application/spdx+json', sbom: { a: 1 } });
  });

  it('countItems on nothing', () => {
    assert.deepEqual(countItems([]), { total: 0, fixable: 0, Critical: 0, High: 0, Medium: 0, Low: 0, None: 0, Unknown: 0 });
  });
});
