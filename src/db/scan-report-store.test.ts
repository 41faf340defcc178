/** The scan report store on the test database (SQLite, or PostgreSQL with WHARF_TEST_DATABASE=postgres). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestDatabase } from '../../test/helpers/db.ts';
import { ScanReportStore, type ReportResult } from './scan-report-store.ts';

const digest = 'sha256:' + 'c'.repeat(64);

function item(i: number): ReportResult['items'][number] {
  return {
    cve_id: `CVE-2024-${String(10000 + i)}`,
    package: `pkg-${i % 37}`,
    version: `1.${i}.0`,
    fix_version: i % 3 === 0 ? `1.${i}.1` : '',
    severity: ['Critical', 'High', 'Medium', 'Low', 'None', 'Unknown'][i % 6] ?? 'Unknown',
    status: '',
    description: i === 7 ? 'quotes \' " and a line\nbreak, ünïcödé' : `finding ${i}`,
    links: JSON.stringify([`https://example.com/${i}`]),
    cwe_ids: '[]',
    preferred_cvss: '{}',
    vendor_attributes: '{}',
  };
}

test('finishReport stores thousands of items, all of them, in the report’s order, once', async () => {
  const db = await openTestDatabase();
  try {
    const store = new ScanReportStore(db.kysely);
    const reports = [
      { uuid: 'r-big', digest, registration_uuid: 'reg', mime_type: 'application/vnd.security.vulnerability.report; version=1.1', execution_id: 1, task_id: null },
      { uuid: 'r-empty', digest, registration_uuid: 'reg', mime_type: 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0', execution_id: 1, task_id: null },
    ];
    await db.kysely.transaction().execute((trx) => store.insertReports(trx, reports, 1));
    // 1,201 items: two full statements of 500 and a partial one.
    const items = Array.from({ length: 1201 }, (_, i) => item(i));
    const counts = { total: items.length, fixable: 401, Critical: 201, High: 200, Medium: 200, Low: 200, None: 200, Unknown: 200 };
    const result: ReportResult = { severity: 'Critical', counts, scanner: '{}', generatedAt: '2026-12-07T00:00:00Z', items };
    assert.equal(await db.kysely.transaction().execute((trx) => store.finishReport(trx, 'r-big', 'Success', '', result, 2)), true);
    assert.equal(await db.kysely.transaction().execute((trx) => store.finishReport(trx, 'r-empty', 'Success', '', { ...result, items: [] }, 2)), true);
    // A second finish changes nothing.
    assert.equal(await db.kysely.transaction().execute((trx) => store.finishReport(trx, 'r-big', 'Success', '', result, 3)), false);
    const [big, empty] = await store.reportsByUuid(['r-big', 'r-empty']).then((rows) => ['r-big', 'r-empty'].map((u) => rows.find((r) => r.uuid === u)));
    assert.ok(big && empty);
    const stored = await store.items([big.id]);
    assert.equal(stored.length, items.length);
    assert.deepEqual(
      stored.map(({ id: _id, report_id: _r, ...rest }) => rest),
      items,
    );
    assert.ok(stored.every((s, i) => i === 0 || s.id > (stored[i - 1]?.id ?? 0)), 'ids follow the report’s order');
    assert.deepEqual(await store.items([empty.id]), []);
  } finally {
    await db.close();
  }
});
