/**
 * Vulnerability reports stored the way the scan service stores them (through ScanReportStore),
 * for tests of what reads reports (the security hub, the CVE export), and a fetch of /api/v2.0
 * that answers plain Responses (for test/helpers/answers.ts).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ScanReportStore, type Database, type ReportResult } from '../../src/db/index.ts';
import { adminAuth } from './wharf.ts';

/** The report MIME types. */
export const vulnMime = {
  v11: 'application/vnd.security.vulnerability.report; version=1.1',
  v10: 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
} as const;

/** One finding of a report. */
export interface Finding {
  cve: string;
  pkg: string;
  version: string;
  severity: 'Critical' | 'High' | 'Medium' | 'Low' | 'None' | 'Unknown';
  score: number | null;
  fix?: string;
  status?: string;
  cwe?: string[];
}

/** A finding in a line. */
export const finding = (cve: string, pkg: string, version: string, severity: Finding['severity'], score: number | null, extra: { fix?: string; status?: string; cwe?: string[] } = {}): Finding => ({ cve, pkg, version, severity, score, ...extra });

/** The report result the scan service would store for these findings. */
export function reportResult(findings: readonly Finding[]): ReportResult {
  const counts = { total: 0, fixable: 0, Critical: 0, High: 0, Medium: 0, Low: 0, None: 0, Unknown: 0 };
  for (const x of findings) {
    counts.total++;
    counts[x.severity]++;
    if (x.fix) counts.fixable++;
  }
  return {
    severity: findings[0]?.severity ?? 'None',
    counts,
    scanner: JSON.stringify({ name: 'Wharf', vendor: 'Wharf', version: 'test' }),
    generatedAt: '2026-01-02T03:04:05Z',
    items: findings.map((x) => ({
      cve_id: x.cve,
      package: x.pkg,
      version: x.version,
      fix_version: x.fix ?? '',
      severity: x.severity,
      status: x.status ?? '',
      description: `${x.cve} in ${x.pkg}`,
      links: JSON.stringify([`https://avd.example/${x.cve}`]),
      cwe_ids: JSON.stringify(x.cwe ?? []),
      preferred_cvss: JSON.stringify({ score_v3: x.score, score_v2: null, vector_v3: '', vector_v2: '' }),
      vendor_attributes: '{}',
    })),
  };
}

/** Stores one report for `digest` through the scan report store: Pending, then finished. */
export async function storeReport(db: Kysely<Database>, digest: string, registration: string, mime: string, status: 'Success' | 'Error', findings: readonly Finding[]): Promise<void> {
  const store = new ScanReportStore(db);
  const uuid = randomUUID();
  await db.transaction().execute(async (trx) => {
    await store.insertReports(trx, [{ uuid, digest, registration_uuid: registration, mime_type: mime, execution_id: 0, task_id: null }], Date.now());
    assert.equal(await store.finishReport(trx, uuid, status, status === 'Error' ? 'the adapter failed' : '', status === 'Success' ? reportResult(findings) : null, Date.now()), true);
  });
}

/** `api(path, {method, body, auth})` on `/api/v2.0` of the Wharf at `base()`: admin unless `auth` says otherwise (null: anonymous). */
export function harborFetch(base: () => string) {
  return (path: string, init: { method?: string; body?: unknown; auth?: string | null } = {}): Promise<Response> => {
    const headers = new Headers();
    const auth = init.auth === undefined ? adminAuth : init.auth;
    if (auth) headers.set('authorization', auth);
    if (init.body !== undefined) headers.set('content-type', 'application/json');
    return fetch(`${base()}/api/v2.0${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  };
}
