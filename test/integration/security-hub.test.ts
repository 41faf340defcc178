/**
 * Harbor's security hub over real HTTP (SQLite, and PostgreSQL in that pass): images pushed to
 * Wharf, vulnerability reports stored for them through the scan report store (the scan service's
 * own writes), then `GET /security/summary` and `GET /security/vul` checked value by value: the
 * counts (a digest in two repositories counts twice; a 1.0 report is ignored when a 1.1 exists; a
 * failed report and another registration's report do not count), the dangerous lists and their
 * order, every `q` key, paging headers, tune_count past 1000, with_tag, Harbor's 400s for `q`, and
 * 401/403 for anyone but the system admin.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';
import { pushSmallImage, putManifest, smallImage } from '../helpers/webhook-client.ts';
import { finding, harborFetch, storeReport as storeReportIn, vulnMime, type Finding } from '../helpers/scan-reports.ts';
import type { VulnerabilityItemView } from '../../src/scanning/index.ts';
import { error, ok } from '../helpers/answers.ts';

const { v11, v10 } = vulnMime;
const devAuth = 'Basic ' + Buffer.from('sec-dev:DevPass123').toString('base64');
const projectAdminAuth = 'Basic ' + Buffer.from('sec-pa:DevPass123').toString('base64');

let tw: TestWharf;
const api = harborFetch(() => tw.url);
const f = finding;

/** Stores one report for `digest` through the scan report store: Pending, then finished. */
const storeReport = (digest: string, registration: string, mime: string, status: 'Success' | 'Error', findings: readonly Finding[]) => storeReportIn(tw.wharf.db.kysely, digest, registration, mime, status, findings);

const a = [
  f('CVE-2024-0001', 'openssl', '3.0.1', 'Critical', 9.8, { fix: '3.0.2', status: 'fixed' }),
  f('CVE-2024-0002', 'zlib', '1.2.11', 'High', 7.5, { status: 'affected' }),
  f('CVE-2024-0003', 'curl', '7.68.0', 'Medium', 5.3, { fix: '7.69.0' }),
  f('CVE-2024-0004', 'bash', '5.0', 'Low', 3.1),
  f('CVE-2024-0005', 'tzdata', '2024a', 'None', null),
];
const b = [f('CVE-2024-0001', 'openssl', '3.0.1', 'Critical', 9.8, { fix: '3.0.2' }), f('CVE-2024-0006', 'glibc', '2.31', 'Critical', 9.1, { fix: '2.32' }), f('CVE-2024-0007', 'libx', '1.0', 'Unknown', null)];
const fF = [f('CVE-2024-0008', 'libf', '1.0', 'Critical', 9.1), f('CVE-2024-0000', 'libf', '1.0', 'High', 9.8), f('CVE-2024-0010', 'libf', '1.0', 'High', 7.0)];
const g = [f('CVE-2024-0011', 'libg', '1', 'Medium', 6.5, { fix: '2' })];
const h = [f('CVE-2024-0012', 'libh', '1', 'Low', 2.0)];

const d = { a: '', web: '', f: '', g: '', h: '', clean: '', db: '', none: '' };
let teamId = 0;
let registration = '';

/** A row of the list as the API documents it. */
type Item = VulnerabilityItemView;

/** The list's rows as `repository:cve`. */
const rows = (items: Item[]) => items.map((i) => `${i.repository_name}:${i.cve_id}`);

async function list(query: string, auth?: string | null): Promise<{ items: Item[]; total: string | null; link: string | null }> {
  const r = await api(`/security/vul${query}`, { auth });
  const items = await ok<Item[]>(r);
  return { items, total: r.headers.get('x-total-count'), link: r.headers.get('link') };
}

describe('security hub', { timeout: 120_000 }, () => {
  before(async () => {
    tw = await startWharf();
    const team = await api('/projects', { method: 'POST', body: { project_name: 'team', metadata: { public: 'false' } } });
    assert.equal(team.status, 201, await team.text());
    teamId = Number((team.headers.get('location') ?? '').split('/').pop());
    assert.ok(teamId > 1);
    for (const u of ['sec-dev', 'sec-pa']) await ok(await api('/users', { method: 'POST', body: { username: u, email: `${u}@example.com`, realname: u, password: 'DevPass123' } }), 201);
    await ok(await api('/projects/team/members', { method: 'POST', body: { role_id: 1, member_user: { username: 'sec-pa' } } }), 201);
    const scanners = await ok<Array<{ uuid: string; is_default: boolean }>>(await api('/scanners'));
    registration = scanners.find((s) => s.is_default)?.uuid ?? '';
    assert.notEqual(registration, '', 'a fresh install has a default scanner');

    // Artifacts, in this order (their ids grow with it): one digest in two repositories, then the rest.
    const imgA = smallImage('sec-a');
    d.a = await pushSmallImage(tw.url, 'library/app', imgA, { tag: 'v1', auth: adminAuth });
    await putManifest(tw.url, 'library/app', 'latest', imgA.manifest, { auth: adminAuth });
    assert.equal(await pushSmallImage(tw.url, 'team/app2', imgA, { tag: 'v1', auth: adminAuth }), d.a);
    for (const name of ['web', 'f', 'g', 'h', 'clean', 'db', 'none'] as const) d[name] = await pushSmallImage(tw.url, `library/${name}`, smallImage(`sec-${name}`), { tag: 'v1', auth: adminAuth });

    await storeReport(d.a, registration, v11, 'Success', a);
    // A 1.0 report of the same digest: ignored, the 1.1 one counts.
    await storeReport(d.a, registration, v10, 'Success', [f('CVE-2099-9999', 'ignored', '1', 'Critical', 10)]);
    // Only a 1.0 report: it counts.
    await storeReport(d.web, registration, v10, 'Success', b);
    await storeReport(d.f, registration, v11, 'Success', fF);
    await storeReport(d.g, registration, v11, 'Success', g);
    await storeReport(d.h, registration, v11, 'Success', h);
    await storeReport(d.clean, registration, v11, 'Success', []);
    // A failed scan, and another registration's report: neither counts.
    await storeReport(d.db, registration, v11, 'Error', []);
    await storeReport(d.db, 'another-registration', v11, 'Success', [f('CVE-2098-0001', 'other', '1', 'Critical', 10)]);
  });
  after(async () => tw?.close());

  test('summary: counts over artifact rows, one report per digest, the default scanner only', async () => {
    const s = await ok<Record<string, unknown>>(await api('/security/summary'));
    assert.deepEqual(s, {
      critical_cnt: 5,
      high_cnt: 4,
      medium_cnt: 3,
      low_cnt: 3,
      none_cnt: 2,
      unknown_cnt: 1,
      total_vuls: 18,
      scanned_cnt: 7,
      total_artifact: 9,
      fixable_cnt: 7,
    });
    // The flags off explicitly: the same answer.
    assert.deepEqual(await ok(await api('/security/summary?with_dangerous_cve=false&with_dangerous_artifact=false')), s);
  });

  test('summary: the five most dangerous CVEs and artifacts, in Harbor’s order', async () => {
    const s = await ok<Record<string, unknown>>(await api('/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true'));
    // By CVSS v3 score, then severity (CVE-2024-0000 is High at 9.8), then CVE id; one row per CVE, package and version.
    assert.deepEqual(s.dangerous_cves, [
      { cve_id: 'CVE-2024-0001', severity: 'Critical', cvss_score_v3: 9.8, desc: 'CVE-2024-0001 in openssl', package: 'openssl', version: '3.0.1' },
      { cve_id: 'CVE-2024-0000', severity: 'High', cvss_score_v3: 9.8, desc: 'CVE-2024-0000 in libf', package: 'libf', version: '1.0' },
      { cve_id: 'CVE-2024-0006', severity: 'Critical', cvss_score_v3: 9.1, desc: 'CVE-2024-0006 in glibc', package: 'glibc', version: '2.31' },
      { cve_id: 'CVE-2024-0008', severity: 'Critical', cvss_score_v3: 9.1, desc: 'CVE-2024-0008 in libf', package: 'libf', version: '1.0' },
      { cve_id: 'CVE-2024-0002', severity: 'High', cvss_score_v3: 7.5, desc: 'CVE-2024-0002 in zlib', package: 'zlib', version: '1.2.11' },
    ]);
    // By Critical, High, Medium (then Low) counts; a clean artifact is never listed; library/h is sixth.
    assert.deepEqual(s.dangerous_artifacts, [
      { project_id: 1, repository_name: 'library/web', digest: d.web, critical_cnt: 2, high_cnt: 0, medium_cnt: 0 },
      { project_id: 1, repository_name: 'library/f', digest: d.f, critical_cnt: 1, high_cnt: 2, medium_cnt: 0 },
      { project_id: 1, repository_name: 'library/app', digest: d.a, critical_cnt: 1, high_cnt: 1, medium_cnt: 1 },
      { project_id: teamId, repository_name: 'team/app2', digest: d.a, critical_cnt: 1, high_cnt: 1, medium_cnt: 1 },
      { project_id: 1, repository_name: 'library/g', digest: d.g, critical_cnt: 0, high_cnt: 0, medium_cnt: 1 },
    ]);
    // Only the asked list.
    const only = await ok<Record<string, unknown>>(await api('/security/summary?with_dangerous_artifact=true'));
    assert.equal('dangerous_cves' in only, false);
    assert.equal(Array.isArray(only.dangerous_artifacts), true);
    await error(await api('/security/summary?with_dangerous_cve=maybe'), 400, 'BAD_REQUEST', 'with_dangerous_cve must be true or false');
  });

  test('vul: every finding of every artifact row, highest score first, then artifact', async () => {
    const all = await list('?page_size=100');
    assert.equal(all.total, '18');
    assert.equal(all.link, null);
    assert.deepEqual(rows(all.items), [
      'library/app:CVE-2024-0001',
      'team/app2:CVE-2024-0001',
      'library/web:CVE-2024-0001',
      'library/f:CVE-2024-0000',
      'library/web:CVE-2024-0006',
      'library/f:CVE-2024-0008',
      'library/app:CVE-2024-0002',
      'team/app2:CVE-2024-0002',
      'library/f:CVE-2024-0010',
      'library/g:CVE-2024-0011',
      'library/app:CVE-2024-0003',
      'team/app2:CVE-2024-0003',
      'library/app:CVE-2024-0004',
      'team/app2:CVE-2024-0004',
      'library/h:CVE-2024-0012',
      'library/app:CVE-2024-0005',
      'team/app2:CVE-2024-0005',
      'library/web:CVE-2024-0007',
    ]);
    assert.deepEqual(all.items[0], {
      project_id: 1,
      repository_name: 'library/app',
      digest: d.a,
      cve_id: 'CVE-2024-0001',
      severity: 'Critical',
      status: 'fixed',
      cvss_v3_score: 9.8,
      package: 'openssl',
      version: '3.0.1',
      fixed_version: '3.0.2',
      desc: 'CVE-2024-0001 in openssl',
      links: ['https://avd.example/CVE-2024-0001'],
    });
    // No score: no cvss_v3_score.
    assert.equal('cvss_v3_score' in (all.items[17] ?? {}), false);
  });

  test('vul: paging with X-Total-Count and Link', async () => {
    const p1 = await list('?page=1&page_size=5');
    assert.equal(p1.total, '18');
    assert.equal(p1.items.length, 5);
    assert.equal(p1.link, '</api/v2.0/security/vul?page=2&page_size=5>; rel="next"');
    const p2 = await list('?page=2&page_size=5&q=cvss_score_v3%3D%5B0~10%5D');
    assert.equal(p2.total, '15');
    assert.deepEqual(rows(p2.items), ['library/f:CVE-2024-0008', 'library/app:CVE-2024-0002', 'team/app2:CVE-2024-0002', 'library/f:CVE-2024-0010', 'library/g:CVE-2024-0011']);
    assert.equal(p2.link, '</api/v2.0/security/vul?page=1&page_size=5&q=cvss_score_v3=[0~10]>; rel="prev" , </api/v2.0/security/vul?page=3&page_size=5&q=cvss_score_v3=[0~10]>; rel="next"');
    const p4 = await list('?page=4&page_size=5');
    assert.deepEqual(rows(p4.items), ['library/app:CVE-2024-0005', 'team/app2:CVE-2024-0005', 'library/web:CVE-2024-0007']);
    assert.equal(p4.link, '</api/v2.0/security/vul?page=3&page_size=5>; rel="prev"');
    // Default page size 10.
    assert.equal((await list('')).items.length, 10);
    await error(await api('/security/vul?page_size=101'), 422, 'UNPROCESSABLE_ENTITY', 'validation failure list:\npage_size in query should be less than or equal to 100');
  });

  test('vul: each q key', async () => {
    const q = async (expr: string) => {
      const r = await list(`?page_size=100&q=${encodeURIComponent(expr)}`);
      assert.equal(r.total, String(r.items.length));
      return rows(r.items);
    };
    assert.deepEqual(await q('cve_id=CVE-2024-0001'), ['library/app:CVE-2024-0001', 'team/app2:CVE-2024-0001', 'library/web:CVE-2024-0001']);
    assert.deepEqual(await q('cve_id=CVE-2099-9999'), [], 'the ignored 1.0 report lists nothing');
    assert.deepEqual(await q('cvss_score_v3=[9~10]'), ['library/app:CVE-2024-0001', 'team/app2:CVE-2024-0001', 'library/web:CVE-2024-0001', 'library/f:CVE-2024-0000', 'library/web:CVE-2024-0006', 'library/f:CVE-2024-0008']);
    assert.deepEqual(await q('cvss_score_v3=[~3.1]'), ['library/app:CVE-2024-0004', 'team/app2:CVE-2024-0004', 'library/h:CVE-2024-0012']);
    assert.equal((await q('cvss_score_v3=[7.5~]')).length, 8);
    assert.deepEqual(await q('severity=Critical'), ['library/app:CVE-2024-0001', 'team/app2:CVE-2024-0001', 'library/web:CVE-2024-0001', 'library/web:CVE-2024-0006', 'library/f:CVE-2024-0008']);
    assert.deepEqual(await q('status=fixed'), ['library/app:CVE-2024-0001', 'team/app2:CVE-2024-0001']);
    assert.deepEqual(await q('repository_name=team/app2'), ['team/app2:CVE-2024-0001', 'team/app2:CVE-2024-0002', 'team/app2:CVE-2024-0003', 'team/app2:CVE-2024-0004', 'team/app2:CVE-2024-0005']);
    assert.deepEqual(await q(`project_id=${teamId}`), await q('repository_name=team/app2'));
    assert.deepEqual(await q('package=libf'), ['library/f:CVE-2024-0000', 'library/f:CVE-2024-0008', 'library/f:CVE-2024-0010']);
    assert.deepEqual(await q('tag=latest'), ['library/app:CVE-2024-0001', 'library/app:CVE-2024-0002', 'library/app:CVE-2024-0003', 'library/app:CVE-2024-0004', 'library/app:CVE-2024-0005']);
    assert.deepEqual(await q(`digest=${d.web}`), ['library/web:CVE-2024-0001', 'library/web:CVE-2024-0006', 'library/web:CVE-2024-0007']);
    assert.deepEqual(await q('severity=High,repository_name=library/app'), ['library/app:CVE-2024-0002']);
    assert.deepEqual(await q('severity=High,cvss_score_v3=[8~10]'), ['library/f:CVE-2024-0000']);
  });

  test('vul: with_tag shows the artifact’s tags; without, none', async () => {
    const r = await list(`?with_tag=true&q=${encodeURIComponent('cve_id=CVE-2024-0001')}`);
    assert.deepEqual(
      r.items.map((i) => [i.repository_name, i.tags]),
      [
        ['library/app', ['v1', 'latest']],
        ['team/app2', ['v1']],
        ['library/web', ['v1']],
      ],
    );
    const plain = await list(`?q=${encodeURIComponent('cve_id=CVE-2024-0001')}`);
    assert.equal(plain.items.some((i) => 'tags' in i), false);
  });

  test('vul: a q this list does not take is a 400 in Harbor’s format', async () => {
    const bad = (expr: string) => api(`/security/vul?q=${encodeURIComponent(expr)}`);
    await error(await bad('name=x'), 400, 'BAD_REQUEST', 'keyword: name is not allowed');
    await error(await bad('cve_id=~CVE'), 400, 'BAD_REQUEST', 'keyword: cve_id, the query type is not allowed');
    await error(await bad('severity={High Critical}'), 400, 'BAD_REQUEST', 'keyword: severity, the query type is not allowed');
    await error(await bad('cvss_score_v3=9.8'), 400, 'BAD_REQUEST', 'keyword: cvss_score_v3, the query type is not allowed');
    await error(await bad('cvss_score_v3=[high~10]'), 400, 'BAD_REQUEST', 'q: cvss_score_v3 must be a number, not "high"');
    await error(await bad('project_id=team'), 400, 'BAD_REQUEST', 'q: project_id must be an integer, not "team"');
    await error(await bad('cve_id'), 400, 'BAD_REQUEST', 'the query string must contain "=" and the key/value cannot be empty');
    await error(await api('/security/vul?tune_count=yes'), 400, 'BAD_REQUEST', 'tune_count must be true or false');
  });

  test('only the system admin: 401 anonymous, 403 for users and project admins (also before a bad q)', async () => {
    for (const path of ['/security/summary', '/security/vul', '/security/vul?q=nope%3D1']) {
      const anon = await api(path, { auth: null });
      assert.equal(anon.status, 401, await anon.text());
      for (const auth of [devAuth, projectAdminAuth]) {
        const r = await api(path, { auth });
        const text = await r.text();
        assert.equal(r.status, 403, text);
        assert.equal((JSON.parse(text) as { errors: Array<{ code: string }> }).errors[0]?.code, 'FORBIDDEN'); // Harbor's error body
      }
    }
  });

  test('vul: tune_count answers -1 past 1000 findings, the real count below', async () => {
    assert.equal((await list('?tune_count=true')).total, '18');
    const many = Array.from({ length: 1000 }, (_, i) => f(`CVE-2025-${String(i).padStart(5, '0')}`, 'bulk', '1', 'Unknown', null));
    await storeReport(d.none, registration, v11, 'Success', many);
    const tuned = await list('?tune_count=true&page_size=5');
    assert.equal(tuned.total, '-1');
    assert.equal(tuned.link, null);
    assert.equal(tuned.items.length, 5);
    assert.equal((await list('?page_size=5')).total, '1018');
    // Filtered below the cap: the real count.
    assert.equal((await list(`?tune_count=true&q=${encodeURIComponent('package=bulk')}`)).total, '1000');
    const s = await ok<Record<string, unknown>>(await api('/security/summary'));
    assert.equal(s.unknown_cnt, 1001);
    assert.equal(s.total_vuls, 1018);
    assert.equal(s.scanned_cnt, 8);
  });

  test('no default scanner: an all-zero summary and an empty list, as in Harbor', async () => {
    const db = tw.wharf.db.kysely;
    await db.updateTable('scanners').set({ is_default: 0 }).where('uuid', '=', registration).execute();
    try {
      assert.deepEqual(await ok(await api('/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true')), {
        critical_cnt: 0,
        high_cnt: 0,
        medium_cnt: 0,
        low_cnt: 0,
        none_cnt: 0,
        unknown_cnt: 0,
        total_vuls: 0,
        scanned_cnt: 0,
        total_artifact: 0,
        fixable_cnt: 0,
      });
      const empty = await list('');
      assert.deepEqual(empty.items, []);
      assert.equal(empty.total, '0');
    } finally {
      await db.updateTable('scanners').set({ is_default: 1 }).where('uuid', '=', registration).execute();
    }
  });
});
