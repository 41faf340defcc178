/**
 * The built-in scanner's vulnerability database on a real database (SQLite, and PostgreSQL in
 * that pass): importing the OSV fixture (test/fixtures/scanning/osv, real advisories) from a
 * folder, a zip and a zip stream; exact findings for real package versions; upserts by
 * `modified`; withdrawn records; updates from a local HTTP server (never the network); the
 * VULNDB_UPDATE job and its schedule; `wharf vulndb import`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { zipSync } from 'fflate';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/index.ts';
import { JobService } from '../../src/jobs/index.ts';
import type { InstalledPackage, Inventory, OsInfo } from '../../src/scanning/analyzer/types.ts';
import { VulnDb, vulndbUpdateJob } from '../../src/scanning/vulndb/index.ts';
import { databaseTargetOf, onPostgres, openDataDirDatabase, openTestDatabase, dropDatabaseOf } from '../helpers/db.ts';
import { startWharf } from '../helpers/wharf.ts';

const fixture = join(import.meta.dirname, '../fixtures/scanning/osv');
const debian12: OsInfo = { family: 'debian', version: '12.11', name: 'Debian GNU/Linux 12 (bookworm)' };

/** Every file of the fixture, path relative to it -> bytes. */
function fixtureFiles(dir = fixture, prefix = ''): Record<string, Uint8Array> {
  const out: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) Object.assign(out, fixtureFiles(p, `${prefix}${name}/`));
    else if (name.endsWith('.json')) out[`${prefix}${name}`] = readFileSync(p);
  }
  return out;
}

function pkg(type: InstalledPackage['type'], name: string, version: string, src?: { name: string; version?: string }): InstalledPackage {
  return { type, name, version, srcName: src?.name, srcVersion: src?.version, licenses: [], path: 'test', purl: `pkg:${type}/${name}@${version}` };
}

function inventory(os: OsInfo | null, packages: InstalledPackage[]): Inventory {
  return { os, packages, layers: 1, compressedBytes: 0 };
}

/** [id, package, version, fix_version, severity] of each finding. */
async function findings(v: VulnDb, os: OsInfo | null, packages: InstalledPackage[]): Promise<string[][]> {
  return (await v.match(inventory(os, packages))).map((i) => [i.id, i.package, i.version, i.fix_version, i.severity]);
}

async function withDb<T>(fn: (v: VulnDb) => Promise<T>): Promise<T> {
  const db = await openTestDatabase();
  try {
    return await fn(new VulnDb({ db: db.kysely }));
  } finally {
    await db.close();
  }
}

/** A local HTTP server answering GET paths from `files` (404 otherwise); its base URL. */
async function serve(files: Record<string, Uint8Array>): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const body = files[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': body.length }).end(Buffer.from(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return { url: `http://127.0.0.1:${port}`, server, requests };
}

test('vulndb: the fixture folder imports, and a second import changes nothing', async () => {
  await withDb(async (v) => {
    assert.deepEqual(await v.meta(), { updatedAt: null, advisories: 0, source: null });
    const first = await v.importPath(fixture);
    assert.deepEqual({ ...first, ms: 0 }, { records: 12, written: 12, unchanged: 0, withdrawn: 1, invalid: 0, advisories: 11, affected: 17, ms: 0 });
    const meta = await v.meta();
    assert.equal(meta.source, fixture);
    assert.equal(meta.advisories, 11);
    assert.ok(meta.updatedAt !== null && Math.abs(Date.parse(meta.updatedAt) - Date.now()) < 60_000, String(meta.updatedAt));
    const again = await v.importPath(fixture);
    assert.deepEqual({ ...again, ms: 0 }, { records: 12, written: 0, unchanged: 12, withdrawn: 0, invalid: 0, advisories: 11, affected: 17, ms: 0 });
  });
});

test('vulndb: this machine\'s Debian 12 packages have exactly the fixture\'s advisories', async () => {
  await withDb(async (v) => {
    await v.importPath(fixture);
    // Versions as `dpkg-query -W` lists them on the development machine (see the fixture README).
    const packages = [
      pkg('deb', 'zlib1g', '1:1.2.13.dfsg-1', { name: 'zlib' }),
      pkg('deb', 'zlib1g-dev', '1:1.2.13.dfsg-1', { name: 'zlib' }),
      pkg('deb', 'libsqlite3-0', '3.40.1-2+deb12u2', { name: 'sqlite3' }),
      pkg('deb', 'libc6', '2.36-9+deb12u14', { name: 'glibc' }),
      pkg('deb', 'libssl3', '3.0.19-1~deb12u2', { name: 'openssl' }),
      pkg('deb', 'bash', '5.2.15-2+b8', { name: 'bash', version: '5.2.15-2' }),
      pkg('pypi', 'pip', '23.0.1'),
      pkg('pypi', 'cryptography', '38.0.4'),
      pkg('pypi', 'PyYAML', '6.0'),
      pkg('npm', 'minimist', '1.2.8'),
    ];
    assert.deepEqual(await findings(v, debian12, packages), [
      ['CVE-2023-45853', 'zlib1g', '1:1.2.13.dfsg-1', '', 'Critical'],
      ['CVE-2023-45853', 'zlib1g-dev', '1:1.2.13.dfsg-1', '', 'Critical'],
      ['CVE-2023-23931', 'cryptography', '38.0.4', '39.0.1', 'Medium'],
      ['CVE-2023-5752', 'pip', '23.0.1', '23.3', 'Medium'],
      ['CVE-2025-7458', 'libsqlite3-0', '3.40.1-2+deb12u2', '', 'Unknown'],
    ]);
    const [zlib] = await v.match(inventory(debian12, packages.slice(0, 1)));
    assert.deepEqual(zlib, {
      id: 'CVE-2023-45853',
      package: 'zlib1g',
      version: '1:1.2.13.dfsg-1',
      fix_version: '',
      severity: 'Critical',
      description: '',
      links: [],
      preferred_cvss: { score_v3: 9.8, vector_v3: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score_v2: null, vector_v2: '' },
      cwe_ids: [],
      vendor_attributes: { osv_id: 'DEBIAN-CVE-2023-45853', aliases: ['CVE-2023-45853'], purl: 'pkg:deb/zlib1g@1:1.2.13.dfsg-1', ecosystem: 'Debian:12' },
    });
  });
});

test('vulndb: exact findings per ecosystem, and none at the fixed version', async () => {
  await withDb(async (v) => {
    await v.importPath(fixture);
    assert.deepEqual(await findings(v, debian12, [pkg('deb', 'libc6', '2.36-9+deb12u2', { name: 'glibc' }), pkg('deb', 'libc-bin', '2.36-9+deb12u3', { name: 'glibc' })]), [['CVE-2023-4911', 'libc6', '2.36-9+deb12u2', '2.36-9+deb12u3', 'Unknown']]);
    // The Debian:11 entry of the same DSA is not read for Debian 12, nor the Debian:13 fix of zlib.
    assert.deepEqual(await findings(v, { family: 'debian', version: '11.9', name: 'Debian 11' }, [pkg('deb', 'libc6', '2.31-13+deb11u6', { name: 'glibc' }), pkg('deb', 'zlib1g', '1:1.2.11.dfsg-2+deb11u2', { name: 'zlib' })]), [
      ['CVE-2023-4911', 'libc6', '2.31-13+deb11u6', '2.31-13+deb11u7', 'Unknown'],
    ]);
    assert.deepEqual(await findings(v, null, [pkg('npm', 'lodash', '4.17.20'), pkg('npm', 'lodash', '4.17.21'), pkg('npm', 'lodash-es', '4.17.15')]), [
      ['CVE-2021-23337', 'lodash', '4.17.20', '4.17.21', 'High'],
      ['CVE-2021-23337', 'lodash-es', '4.17.15', '4.17.21', 'High'],
    ]);
    assert.deepEqual(await findings(v, null, [pkg('npm', 'minimist', '1.2.5'), pkg('npm', 'minimist', '0.2.3'), pkg('npm', 'minimist', '1.2.6'), pkg('npm', 'minimist', '0.2.4')]), [
      ['CVE-2021-44906', 'minimist', '0.2.3', '0.2.4', 'Critical'],
      ['CVE-2021-44906', 'minimist', '1.2.5', '1.2.6', 'Critical'],
    ]);
    assert.deepEqual(await findings(v, null, [pkg('golang', 'golang.org/x/net', 'v0.16.0'), pkg('golang', 'golang.org/x/net', 'v0.17.0')]), [['CVE-2023-39325', 'golang.org/x/net', 'v0.16.0', '0.17.0', 'High']]);
    const log4j = 'org.apache.logging.log4j:log4j-core';
    assert.deepEqual(await findings(v, null, ['2.14.1', '2.12.1', '2.0-beta9', '2.15.0', '2.12.2', '2.3.1'].map((ver) => pkg('maven', log4j, ver))), [
      ['CVE-2021-44228', log4j, '2.0-beta9', '2.3.1', 'Critical'],
      ['CVE-2021-44228', log4j, '2.12.1', '2.12.2', 'Critical'],
      ['CVE-2021-44228', log4j, '2.14.1', '2.15.0', 'Critical'],
    ]);
    // last_affected is inclusive; PEP 503 names match whatever their spelling.
    assert.deepEqual(await findings(v, null, [pkg('pypi', 'py', '1.11.0'), pkg('pypi', 'Py', '1.4.34'), pkg('pypi', 'py', '1.11.1'), pkg('pypi', 'PIP', '23.3')]), [
      ['CVE-2022-42969', 'Py', '1.4.34', '', 'Medium'],
      ['CVE-2022-42969', 'py', '1.11.0', '', 'Medium'],
    ]);
    // The withdrawn PYSEC-2021-63 (cryptography 3.1 to 3.3.1) is never reported.
    assert.deepEqual(await findings(v, null, [pkg('pypi', 'cryptography', '3.3.1'), pkg('pypi', 'cryptography', '39.0.1')]), [['CVE-2023-23931', 'cryptography', '3.3.1', '39.0.1', 'Medium']]);
    const alpine: OsInfo = { family: 'alpine', version: '3.19.1', name: 'Alpine Linux v3.19' };
    assert.deepEqual(await findings(v, alpine, [pkg('apk', 'apache2-utils', '2.4.54-r0', { name: 'apache2' }), pkg('apk', 'apache2', '2.4.58-r1', { name: 'apache2' })]), [['CVE-2006-20001', 'apache2-utils', '2.4.54-r0', '2.4.55-r0', 'Unknown']]);
    // Another Alpine branch has no entry for it.
    assert.deepEqual(await findings(v, { family: 'alpine', version: '3.18.4', name: 'Alpine' }, [pkg('apk', 'apache2', '2.4.54-r0', { name: 'apache2' })]), []);
    // Distro packages without a detected OS are not looked up.
    assert.deepEqual(await findings(v, null, [pkg('deb', 'zlib1g', '1:1.2.13.dfsg-1', { name: 'zlib' })]), []);
  });
});

test('vulndb: records of the unscoped Debian ecosystem are never matched', async () => {
  await withDb(async (v) => {
    // A rule test, not a fixture claim: the same zlib range under `Debian` and `Debian:12`.
    const range = [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:1.3.dfsg-2' }] }];
    await v.importRecords([
      { id: 'TEST-UNSCOPED-1', modified: '2024-01-01T00:00:00Z', aliases: ['CVE-2000-0001'], affected: [{ package: { ecosystem: 'Debian', name: 'zlib' }, ranges: range }] },
      { id: 'TEST-UBUNTU-1', modified: '2024-01-01T00:00:00Z', aliases: ['CVE-2000-0002'], affected: [{ package: { ecosystem: 'Ubuntu', name: 'zlib' }, ranges: range }] },
      { id: 'TEST-SCOPED-1', modified: '2024-01-01T00:00:00Z', aliases: ['CVE-2000-0003'], affected: [{ package: { ecosystem: 'Debian:12', name: 'zlib' }, ranges: range }] },
    ]);
    assert.deepEqual(await findings(v, debian12, [pkg('deb', 'zlib1g', '1:1.2.13.dfsg-1', { name: 'zlib' })]), [['CVE-2000-0003', 'zlib1g', '1:1.2.13.dfsg-1', '1:1.3.dfsg-2', 'Unknown']]);
  });
});

test('vulndb: a newer record replaces the stored one, an older one does not, a withdrawn one removes it', async () => {
  await withDb(async (v) => {
    await v.importPath(fixture);
    // Fixture files are JSON objects (OSV records).
    const lodash = JSON.parse(readFileSync(join(fixture, 'npm/GHSA-35jh-r3h4-6jhm.json'), 'utf8')) as Record<string, unknown>;
    const minimist = JSON.parse(readFileSync(join(fixture, 'npm/GHSA-xvch-5gv4-984h.json'), 'utf8')) as Record<string, unknown>;
    const narrowed = (modified: string) => ({ ...lodash, modified, affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '4.17.0' }, { fixed: '4.17.21' }] }] }] });
    const older = await v.importRecords([narrowed('2021-01-01T00:00:00Z'), narrowed('2022-02-08T21:35:09Z')]);
    assert.deepEqual([older.written, older.unchanged], [0, 2]);
    assert.deepEqual(await findings(v, null, [pkg('npm', 'lodash', '4.16.6'), pkg('npm', 'lodash-es', '4.17.15')]), [
      ['CVE-2021-23337', 'lodash', '4.16.6', '4.17.21', 'High'],
      ['CVE-2021-23337', 'lodash-es', '4.17.15', '4.17.21', 'High'],
    ]);
    // Two copies in one batch: the newest counts.
    const newer = await v.importRecords([narrowed('2024-03-01T00:00:00Z'), narrowed('2024-02-01T00:00:00Z')]);
    assert.deepEqual([newer.written, newer.unchanged, newer.affected], [1, 1, 16]);
    assert.deepEqual(await findings(v, null, [pkg('npm', 'lodash', '4.16.6'), pkg('npm', 'lodash', '4.17.20'), pkg('npm', 'lodash-es', '4.17.15')]), [['CVE-2021-23337', 'lodash', '4.17.20', '4.17.21', 'High']]);
    const withdrawn = await v.importRecords([{ ...minimist, modified: '2024-05-01T00:00:00Z', withdrawn: '2024-05-01T00:00:00Z' }]);
    assert.deepEqual([withdrawn.written, withdrawn.withdrawn, withdrawn.advisories, withdrawn.affected], [1, 1, 10, 14]);
    assert.deepEqual(await findings(v, null, [pkg('npm', 'minimist', '1.2.5')]), []);
    // The original, older record cannot bring it back.
    const back = await v.importPath(join(fixture, 'npm/GHSA-xvch-5gv4-984h.json'));
    assert.deepEqual([back.written, back.unchanged, back.advisories], [0, 1, 10]);
    assert.deepEqual(await findings(v, null, [pkg('npm', 'minimist', '1.2.5')]), []);
  });
});

test('vulndb: an OSV zip (file or stream) imports like the folder; bad entries are counted, not fatal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-vulndb-zip-'));
  try {
    const files = fixtureFiles();
    const flat: Record<string, Uint8Array> = { 'README.txt': Buffer.from('not a record'), 'broken.json': Buffer.from('{"id": '), 'nomod.json': Buffer.from('{"id":"X-1","modified":"soon"}') };
    for (const [p, b] of Object.entries(files)) flat[p.slice(p.lastIndexOf('/') + 1)] = b;
    const zip = join(dir, 'all.zip');
    writeFileSync(zip, zipSync(flat));
    await withDb(async (v) => {
      const r = await v.importPath(zip);
      assert.deepEqual({ ...r, ms: 0 }, { records: 14, written: 12, unchanged: 0, withdrawn: 1, invalid: 2, advisories: 11, affected: 17, ms: 0 });
      assert.deepEqual(await findings(v, null, [pkg('npm', 'lodash', '4.17.20')]), [['CVE-2021-23337', 'lodash', '4.17.20', '4.17.21', 'High']]);
    });
    await withDb(async (v) => {
      const r = await v.importZipStream(createReadStream(zip), { ecosystems: ['npm'] });
      assert.deepEqual([r.written, r.advisories, r.affected], [3, 2, 4]);
      assert.deepEqual(await findings(v, null, [pkg('pypi', 'pip', '23.0.1'), pkg('npm', 'minimist', '1.2.5')]), [['CVE-2021-44906', 'minimist', '1.2.5', '1.2.6', 'Critical']]);
    });
    // A folder holding per-ecosystem zips.
    writeFileSync(join(dir, 'npm.zip'), zipSync(Object.fromEntries(Object.entries(files).filter(([p]) => p.startsWith('npm/')))));
    await withDb(async (v) => {
      const r = await v.importPath(dir);
      assert.deepEqual([r.records, r.written, r.unchanged, r.invalid, r.advisories], [16, 12, 2, 2, 11]);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('vulndb: imports of several batches, and matching 300 packages against them', async () => {
  await withDb(async (v) => {
    const n = 2500;
    const records = function* () {
      for (let i = 0; i < n; i++) {
        yield { id: `TEST-BULK-${i}`, modified: '2024-01-01T00:00:00Z', aliases: [`CVE-2024-${String(10000 + i)}`], affected: [{ package: { ecosystem: 'npm', name: `pkg-${i % 1000}` }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: `1.${i % 7}.0` }] }] }] };
      }
    };
    const r = await v.importRecords(records());
    assert.deepEqual([r.records, r.written, r.advisories, r.affected], [n, n, n, n]);
    const packages = Array.from({ length: 300 }, (_, i) => pkg('npm', `pkg-${i}`, '1.3.0'));
    const items = await v.match(inventory(null, packages));
    // pkg-i has advisories i, i+1000, i+2000 (< 2500): fixed 1.(i%7).0, 1.((i+1000)%7).0, ...; 1.3.0 is below 1.4/1.5/1.6.
    let expected = 0;
    for (let i = 0; i < 300; i++) for (let j = i; j < n; j += 1000) if (j % 7 > 3) expected++;
    assert.equal(items.length, expected);
    assert.ok(items.every((i) => i.severity === 'Unknown' && /^1\.[456]\.0$/.test(i.fix_version)));
  });
});

test('vulndb: update fetches <source>/<ecosystem>/all.zip for each ecosystem, keeps that ecosystem, records the time', async () => {
  const files = fixtureFiles();
  const zipOf = (folder: string) => zipSync(Object.fromEntries(Object.entries(files).filter(([p]) => p.startsWith(`${folder}/`) || p.startsWith('PyPI/'))));
  const { url, server, requests } = await serve({ '/npm/all.zip': zipOf('npm'), '/Rocky%20Linux/all.zip': zipOf('Debian') });
  try {
    await withDb(async (v) => {
      const r = await v.update({ source: `${url}/`, ecosystems: ['npm', 'Rocky Linux'] });
      assert.deepEqual(requests, ['/npm/all.zip', '/Rocky%20Linux/all.zip']);
      // Only npm entries from the npm zip; nothing from the Rocky one (it holds no Rocky Linux entries); a withdrawn record is kept (as a tombstone) whatever its ecosystem.
      assert.deepEqual([r.written, r.advisories, r.affected], [3, 2, 4]);
      const meta = await v.meta();
      assert.equal(meta.source, url);
      assert.ok(meta.updatedAt !== null);
      assert.deepEqual(await findings(v, null, [pkg('npm', 'lodash', '4.17.20'), pkg('pypi', 'pip', '23.0.1')]), [['CVE-2021-23337', 'lodash', '4.17.20', '4.17.21', 'High']]);
      // A missing ecosystem fails the update after the others were imported; the time stays.
      await assert.rejects(v.update({ source: url, ecosystems: ['Go', 'npm'] }), /vulnerability database update failed for Go: GET http:\/\/127\.0\.0\.1:\d+\/Go\/all\.zip: HTTP 404/);
      assert.equal((await v.meta()).updatedAt, meta.updatedAt);
    });
  } finally {
    server.close();
  }
});

test('vulndb: the VULNDB_UPDATE job runs an update and keeps its result', async () => {
  const { url, server } = await serve({ '/npm/all.zip': zipSync(Object.fromEntries(Object.entries(fixtureFiles()).filter(([p]) => p.startsWith('npm/')))) });
  const db = await openTestDatabase();
  try {
    const config = loadConfig({ env: {}, file: null, overrides: { data_dir: tmpdir() } });
    const jobs = new JobService({ db: db.kysely, logger: pino({ level: 'silent' }), config: config.jobs });
    const vulndb = new VulnDb({ db: db.kysely });
    jobs.register(vulndbUpdateJob(vulndb, () => ({ source: url, ecosystems: ['npm'] })));
    const out = await jobs.runHere('VULNDB_UPDATE', 'MANUAL', {});
    assert.equal(out.status, 'Success', out.message);
    assert.deepEqual((await vulndb.meta()).advisories, 2);
    const logs = await db.kysely.selectFrom('job_task_logs').select('message').orderBy('id').execute();
    assert.match(logs.map((l) => l.message).join('\n'), /updating the vulnerability database from http:\/\/127\.0\.0\.1:\d+: npm\nimported 2 records \(2 written, 0 unchanged, 0 withdrawn, 0 invalid\) in \d+ ms; 2 advisories/);
  } finally {
    await db.close();
    server.close();
  }
});

test('vulndb: update_schedule None (the test default) sets no schedule; a preset sets one', async () => {
  const quiet = await startWharf();
  try {
    assert.deepEqual(await quiet.wharf.db.kysely.selectFrom('job_schedules').select('vendor_type').where('vendor_type', '=', 'VULNDB_UPDATE').execute(), []);
  } finally {
    await quiet.close();
  }
  const weekly = await startWharf({ overrides: { scanning: { vulndb: { update_schedule: 'Weekly' } } } });
  try {
    const rows = await weekly.wharf.db.kysely.selectFrom('job_schedules').select(['cron_type', 'cron', 'next_run']).where('vendor_type', '=', 'VULNDB_UPDATE').execute();
    assert.equal(rows.length, 1);
    assert.deepEqual([rows[0]?.cron_type, rows[0]?.cron], ['Weekly', '0 0 0 * * 0']);
    assert.ok(Number(rows[0]?.next_run) > Date.now());
  } finally {
    await weekly.close();
  }
});

test('vulndb: `wharf vulndb import PATH` imports into the configured database without serving', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wharf-vulndb-cli-'));
  try {
    const target = await databaseTargetOf(dataDir);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'vulndb', 'import', fixture], {
      cwd: join(import.meta.dirname, '../..'),
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WHARF_DATA_DIR: dataDir, WHARF_LOG_LEVEL: 'warn', ...(onPostgres ? { WHARF_DATABASE__URL: target } : {}) },
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>; // the command prints one JSON object
    assert.deepEqual([out.records, out.written, out.advisories, out.source], [12, 12, 11, fixture]);
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', 'vulndb', 'export'], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8', env: { PATH: process.env.PATH ?? '', WHARF_DATA_DIR: dataDir } });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^usage: wharf vulndb import PATH \| wharf vulndb update/);
    const db = await openDataDirDatabase(dataDir);
    try {
      assert.equal((await new VulnDb({ db: db.kysely }).meta()).advisories, 11);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  }
});
