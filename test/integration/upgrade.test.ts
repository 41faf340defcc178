/**
 * Upgrading a data folder written by the previous release (schema up to migration 0004): Wharf
 * starts on it, runs migrations 0005 (manifest bytes in the database) and 0006 (format headers
 * stored with executions), and the old data still works: a manifest stored as a file is served
 * by tag, digest and as a blob; an execution recorded without headers is listed and can be
 * redelivered; new pushes store their bytes in the database.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import * as m0001 from '../../src/db/migrations/0001-init.ts';
import * as m0002 from '../../src/db/migrations/0002-members-robots.ts';
import * as m0003 from '../../src/db/migrations/0003-quotas-audit.ts';
import * as m0004 from '../../src/db/migrations/0004-users-login.ts';
import { adminAuth, startWharf, tempDataDir, type TestWharf } from '../helpers/wharf.ts';
import { api, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';
import { header, startReceiver, type Receiver } from '../helpers/receiver.ts';

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const dataDir = tempDataDir('wharf-upgrade-');
const old = smallImage('from-the-previous-release');
let w: TestWharf;
let executionId = 0;
let policyId = 0;
let rx: Receiver;

/** Writes what the previous release left: schema 0001-0004, an image whose manifest is a file, a webhook execution. */
async function writePreviousRelease(hookUrl: string): Promise<void> {
  const raw = new SQLite(join(dataDir, 'wharf.db'));
  raw.pragma('journal_mode = WAL');
  const k = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
  const migrations = { '0001-init': m0001, '0002-members-robots': m0002, '0003-quotas-audit': m0003, '0004-users-login': m0004 };
  const result = await new Migrator({ db: k, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  assert.equal(result.error, undefined);
  const now = Date.now();
  const run = (q: string, ...p: unknown[]) => raw.prepare(q).run(...p);
  const project = run('INSERT INTO projects (name, public, creation_time, update_time) VALUES (?, 1, ?, ?)', 'legacy', now, now).lastInsertRowid;
  const repo = run('INSERT INTO repositories (project_id, name, creation_time, update_time) VALUES (?, ?, ?, ?)', project, 'legacy/app', now, now).lastInsertRowid;
  for (const [d, size] of [[old.digest, old.manifest.length], [sha256(old.config), old.config.length], [sha256(old.layer), old.layer.length]] as const) {
    run('INSERT INTO blobs (digest, size, creation_time) VALUES (?, ?, ?)', d, size, now);
    run('INSERT INTO repository_blobs (repository_id, digest, creation_time) VALUES (?, ?, ?)', repo, d, now);
  }
  const artifact = run(
    'INSERT INTO artifacts (repository_id, digest, media_type, size, manifest_size, push_time) VALUES (?, ?, ?, ?, ?, ?)',
    repo,
    old.digest,
    'application/vnd.oci.image.manifest.v1+json',
    old.manifest.length + old.config.length + old.layer.length,
    old.manifest.length,
    now,
  ).lastInsertRowid;
  run('INSERT INTO tags (repository_id, artifact_id, name, push_time) VALUES (?, ?, ?, ?)', repo, artifact, 'v1', now);
  // A project member (id 5) and a removed one (id 6): migration 0022 rebuilds project_members on SQLite.
  const dev = run('INSERT INTO users (username, password_hash, creation_time, update_time) VALUES (?, ?, ?, ?)', 'legacy-dev', 'x', now, now).lastInsertRowid;
  run('INSERT INTO project_members (id, project_id, user_id, role_id, creation_time, update_time) VALUES (5, ?, ?, 2, ?, ?)', project, dev, now, now);
  const gone = run('INSERT INTO users (username, password_hash, creation_time, update_time) VALUES (?, ?, ?, ?)', 'legacy-gone', 'x', now, now).lastInsertRowid;
  run('INSERT INTO project_members (id, project_id, user_id, role_id, creation_time, update_time) VALUES (6, ?, ?, 3, ?, ?)', project, gone, now, now);
  run('DELETE FROM project_members WHERE id = 6');
  // The previous release kept every blob, manifests included, as a file under its digest.
  for (const bytes of [old.manifest, old.config, old.layer]) {
    const hex = sha256(bytes).slice('sha256:'.length);
    const dir = join(dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, hex), bytes);
  }
  // A finished webhook execution, recorded before format headers were stored.
  policyId = Number(run(
    'INSERT INTO webhook_policies (project_id, name, enabled, event_types, creation_time, update_time) VALUES (?, ?, 1, ?, ?, ?)',
    project,
    'old-hook',
    '["PUSH_ARTIFACT"]',
    now,
    now,
  ).lastInsertRowid);
  const target = run('INSERT INTO webhook_targets (policy_id, position, type, address, payload_format) VALUES (?, 0, ?, ?, ?)', policyId, 'http', hookUrl, 'Default').lastInsertRowid;
  executionId = Number(
    run(
      'INSERT INTO webhook_executions (policy_id, target_id, event_seq, event_id, event_type, vendor_type, status, "trigger", payload, start_time, end_time) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)',
      policyId,
      target,
      'old-event',
      'PUSH_ARTIFACT',
      'WEBHOOK',
      'Success',
      'EVENT',
      '{"type":"PUSH_ARTIFACT"}',
      now,
      now,
    ).lastInsertRowid,
  );
  await k.destroy();
}

before(async () => {
  rx = await startReceiver();
  await writePreviousRelease(`${rx.url}/hook`);
  // A target saved before private targets needed a system admin: the administrator allow-lists
  // its network (docs/security.md, "Existing installations"). The previous release had SQLite only:
  // this test keeps its file in the PostgreSQL pass too.
  w = await startWharf({ dataDir, sqlite: true, overrides: { webhooks: { allow_list: ['127.0.0.0/8'] } } });
});
after(async () => {
  await w?.close();
  await rx?.close();
});

const get = (path: string) => fetch(w.url + path, { headers: { authorization: adminAuth } });

describe('upgrade from schema 0004', () => {
  it('runs the new migrations', async () => {
    const names = (await w.wharf.db.kysely.selectFrom('kysely_migration' as never).select('name' as never).execute()) as Array<{ name: string }>; // Kysely's own bookkeeping table, not in our schema
    assert.deepEqual(
      names.map((n) => n.name).filter((n) => n >= '0005'),
      ['0005-manifest-content', '0006-execution-headers', '0007-jobs', '0008-outbox-consumers', '0009-login-failures', '0010-events-no-dispatch-mark', '0011-vulndb', '0012-scanners', '0013-scan-reports', '0014-immutable-rules', '0015-labels', '0016-retention', '0017-repository-description', '0018-registries', '0019-replication', '0020-proxy-cache', '0021-console-sessions', '0022-user-groups', '0023-preheat', '0024-trace-context', '0025-webhook-status-filters', '0026-event-feed', '0027-webhook-relays', '0029-ldap-admin-role', '0030-cve-exports'],
    );
  });

  it('keeps project members and their ids through the rebuild of project_members (0022)', async () => {
    const list = await api(w.url, 'GET', '/api/v2.0/projects/legacy/members', { auth: adminAuth });
    assert.equal(list.status, 200);
    assert.deepEqual(
      (list.json as Array<{ id: number; entity_name: string; entity_type: string; role_id: number }>).map((m) => [m.id, m.entity_name, m.entity_type, m.role_id]),
      [[5, 'legacy-dev', 'u', 2]],
    );
    const g = await api(w.url, 'POST', '/api/v2.0/usergroups', { auth: adminAuth, body: { group_name: 'legacy-group', group_type: 2 } });
    assert.equal(g.status, 201);
    const add = await api(w.url, 'POST', '/api/v2.0/projects/legacy/members', { auth: adminAuth, body: { role_id: 3, member_group: { group_name: 'legacy-group', group_type: 2 } } });
    assert.equal(add.status, 201);
    // Member ids are never used twice: 6 was taken before the upgrade.
    assert.equal(add.headers.location, '/api/v2.0/projects/legacy/members/7');
  });

  it('serves the manifest the previous release stored as a file, by tag, digest and as a blob', async () => {
    for (const path of ['/v2/legacy/app/manifests/v1', `/v2/legacy/app/manifests/${old.digest}`, `/v2/legacy/app/blobs/${old.digest}`]) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(old.manifest), path);
    }
  });

  it('lists the old execution (no stored headers) and redelivers its stored body', async () => {
    const row = await w.wharf.db.kysely.selectFrom('webhook_executions').select(['headers', 'payload']).where('id', '=', executionId).executeTakeFirstOrThrow();
    assert.equal(row.headers, null);
    const base = `/api/v2.0/projects/legacy/webhook/policies/${policyId}/executions`;
    const list = await api(w.url, 'GET', base, { auth: adminAuth });
    assert.equal(list.status, 200);
    assert.ok(Array.isArray(list.json) && list.json.some((e: { id?: number }) => e.id === executionId));
    const again = await api(w.url, 'POST', `${base}/${executionId}/redeliver`, { auth: adminAuth });
    assert.equal(again.status, 201, again.text);
    const [got] = await rx.waitFor(1, 10_000, '/hook');
    assert.equal(got?.body.toString('utf8'), row.payload, 'the stored body, byte for byte');
    assert.match(header(got, 'content-type') ?? '', /^application\/json/);
  });

  it('stores a new push of the same repository in the database', async () => {
    const img = smallImage('after-the-upgrade');
    const digest = await pushSmallImage(w.url, 'legacy/app', img, { tag: 'v2', auth: adminAuth });
    const row = await w.wharf.db.kysely.selectFrom('manifest_content').select('digest').where('digest', '=', digest).executeTakeFirst();
    assert.ok(row);
  });
});
