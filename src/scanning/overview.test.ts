import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mergeStatus, mergedOverview, mergedReportId, reportOverview, sbomOverview, splitReportId, vulnerabilitiesAddition, zeroTime, type ReportState } from './overview.ts';
import type { IngestedItem } from './report-ingest.ts';

const scanner = { name: 'Trivy', vendor: 'Aqua Security', version: 'v0.50.1' };
const u1 = 'af0546c1-67dc-4e9d-927e-372900ead0df';
const u2 = 'a2573415-c727-4723-bc92-376c1d978637';
const t0 = Date.parse('2024-06-10T06:12:47.000Z');
const counts = { total: 3, fixable: 2, Critical: 0, High: 1, Medium: 2, Low: 0, None: 0, Unknown: 0 };
const ok: ReportState = { uuid: u1, status: 'Success', startTime: t0, endTime: t0 + 8000, severity: 'High', counts, scanner };

function item(id: string, pkg: string, extra: Partial<IngestedItem> = {}): IngestedItem {
  return { id, package: pkg, version: '1', fix_version: '', severity: 'Low', status: '', description: '', links: [], cwe_ids: [], preferred_cvss: { score_v3: null, score_v2: null, vector_v3: '', vector_v2: '' }, vendor_attributes: {}, ...extra };
}

describe('overviews', () => {
  it('one report: Harbor’s NativeReportSummary', () => {
    assert.deepEqual(reportOverview(ok), {
      report_id: u1,
      scan_status: 'Success',
      severity: 'High',
      duration: 8,
      summary: { total: 3, fixable: 2, summary: { High: 1, Medium: 2 } },
      start_time: '2024-06-10T06:12:47.000Z',
      end_time: '2024-06-10T06:12:55.000Z',
      complete_percent: 100,
      scanner,
    });
  });

  it('drops empty fields: a running or failed report has no severity, duration or summary; zero times are Go’s', () => {
    assert.deepEqual(reportOverview({ uuid: u2, status: 'Running', startTime: null, endTime: null, severity: '', counts: null, scanner: null }), {
      report_id: u2,
      scan_status: 'Running',
      start_time: zeroTime,
      end_time: zeroTime,
      complete_percent: 0,
    });
    const clean = reportOverview({ ...ok, severity: 'None', counts: { total: 0, fixable: 0, Critical: 0, High: 0, Medium: 0, Low: 0, None: 0, Unknown: 0 }, endTime: t0 });
    assert.equal(clean.severity, 'None');
    assert.deepEqual(clean.summary, { total: 0, fixable: 0, summary: {} });
    assert.equal('duration' in clean, false);
  });

  it('merges statuses as Harbor: Running, then Stopped, then any Success, else the last', () => {
    assert.equal(mergeStatus(['Success', 'Running']), 'Running');
    assert.equal(mergeStatus(['Success', 'Pending']), 'Running');
    assert.equal(mergeStatus(['Success', 'Stopped', 'Error']), 'Stopped');
    assert.equal(mergeStatus(['Error', 'Success']), 'Success');
    assert.equal(mergeStatus(['Error', 'Error']), 'Error');
  });

  it('an index: merged id base64("u1|u2"), summed counts, max severity, max(end) - min(start)', () => {
    const other: ReportState = { uuid: u2, status: 'Error', startTime: t0 + 1000, endTime: t0 + 20000, severity: '', counts: null, scanner };
    const m = mergedOverview([ok, other]);
    assert.equal(m.report_id, Buffer.from(`${u1}|${u2}`).toString('base64'));
    assert.deepEqual(splitReportId(String(m.report_id)), [u1, u2]);
    assert.deepEqual(splitReportId(u1), [u1]);
    assert.deepEqual(splitReportId('bm9wZQ=='), ['bm9wZQ==']);
    assert.equal(m.scan_status, 'Success');
    assert.equal(m.severity, 'High');
    assert.equal(m.duration, 20);
    assert.equal(m.complete_percent, 100);
    assert.deepEqual(m.summary, { total: 3, fixable: 2, summary: { High: 1, Medium: 2 } });
    assert.equal(mergedReportId([u1]), u1);
    const running = mergedOverview([ok, { ...other, status: 'Running', endTime: null }]);
    assert.equal(running.scan_status, 'Running');
    assert.equal(running.complete_percent, 50);
    assert.equal('summary' in running, false);
  });

  it('sbom_overview: the summary on Success (events add sbom_repository), report_id and status otherwise', () => {
    const s = { uuid: u1, status: 'Success', startTime: t0, endTime: t0 + 3000, sbomDigest: 'sha256:aa', sbomRepository: 'library/alpine', scanner };
    assert.deepEqual(sbomOverview(s), { start_time: '2024-06-10T06:12:47.000Z', end_time: '2024-06-10T06:12:50.000Z', scan_status: 'Success', sbom_digest: 'sha256:aa', duration: 3, scanner });
    assert.equal(sbomOverview(s, true).sbom_repository, 'library/alpine');
    assert.deepEqual(sbomOverview({ ...s, status: 'Running' }), { report_id: u1, scan_status: 'Running' });
  });

  it('the vulnerabilities addition: [""] for empty lists, an index merged by id-package-version', () => {
    const a = vulnerabilitiesAddition([
      { digest: 'sha256:a', generatedAt: '2024-01-01T00:00:00Z', scanner, severity: 'Low', items: [item('CVE-1', 'p'), item('CVE-2', 'q', { severity: 'High', links: ['l'], cwe_ids: ['CWE-1'] })] },
      { digest: 'sha256:b', generatedAt: '2024-01-02T00:00:00Z', scanner, severity: 'Low', items: [item('CVE-1', 'p')] },
    ]);
    assert.equal(a.generated_at, '2024-01-02T00:00:00Z');
    assert.equal(a.severity, 'Low');
    const v = a.vulnerabilities as Array<Record<string, unknown>>; // built just above
    assert.equal(v.length, 2);
    assert.deepEqual(v[0]?.artifact_digests, ['sha256:a', 'sha256:b']);
    assert.deepEqual(v[0]?.links, ['']);
    assert.deepEqual(v[0]?.cwe_ids, ['']);
    assert.deepEqual(v[1]?.links, ['l']);
    assert.deepEqual(vulnerabilitiesAddition([{ digest: 'd', generatedAt: 'g', scanner, severity: 'None', items: [] }]).vulnerabilities, []);
  });
});
