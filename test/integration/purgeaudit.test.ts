/**
 * Harbor's audit log purge over real HTTP: /system/purgeaudit history, get, log, stop and
 * schedule, with `audit_retention_hour`, `include_event_types` and `dry_run`, running as a
 * PURGE_AUDIT_LOG job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordAudit } from '../../src/audit/index.ts';
import { adminAuth, startWharf } from '../helpers/wharf.ts';
import { api, explain } from '../helpers/webhook-client.ts';

interface ExecHistory {
  id: number;
  job_name: string;
  job_kind: string;
  job_parameters: string;
  job_status: string;
  report: { deleted: number; dry_run: boolean } | null;
  error: string | null;
}

test('purgeaudit: retention hours, event types, dry run, history, log, schedule', { timeout: 60_000 }, async (t) => {
  const w = await startWharf();
  t.after(() => w.close());
  const db = w.wharf.db.kysely;
  const old = Date.now() - 48 * 3_600_000;
  const entry = (username: string, operation: 'create' | 'login' | 'delete', resourceType: string, opTime?: number) =>
    recordAudit(db, { projectId: null, username, operation, resourceType, resource: username, result: 'success', opTime });
  await entry('old-create-artifact', 'create', 'artifact', old);
  await entry('old-login', 'login', 'user', old);
  await entry('old-delete-tag', 'delete', 'tag', old);
  await entry('new-create-artifact', 'create', 'artifact');
  const names = async () => (await db.selectFrom('audit_log').select('username').where('username', 'in', ['old-create-artifact', 'old-login', 'old-delete-tag', 'new-create-artifact']).orderBy('username').execute()).map((r) => r.username);

  const run = async (parameters: Record<string, unknown>): Promise<ExecHistory> => {
    const r = await api(w.url, 'POST', '/api/v2.0/system/purgeaudit/schedule', { auth: adminAuth, body: { schedule: { type: 'Manual' }, parameters } });
    assert.equal(r.status, 201, explain('POST', '/system/purgeaudit/schedule', r));
    const path = String(r.headers.location ?? '').replace('/api/v2.0', '');
    assert.match(path, /^\/system\/purgeaudit\/\d+$/);
    for (;;) {
      const g = await api(w.url, 'GET', `/api/v2.0${path}`, { auth: adminAuth });
      assert.equal(g.status, 200);
      const h = g.json as ExecHistory; // Harbor's ExecHistory (status checked)
      if (h.job_status !== 'Running' && h.job_status !== 'Pending') return h;
      await new Promise((res) => setTimeout(res, 30));
    }
  };

  const dry = await run({ audit_retention_hour: 24, include_event_types: 'create_artifact,login_user', dry_run: true });
  assert.equal(dry.job_status, 'Success', dry.error ?? '');
  assert.equal(dry.job_name, 'PURGE_AUDIT_LOG');
  assert.deepEqual(dry.report, { deleted: 2, dry_run: true });
  assert.equal((await names()).length, 4, 'a dry run deletes nothing');
  assert.match((await api(w.url, 'GET', `/api/v2.0/system/purgeaudit/${dry.id}/log`, { auth: adminAuth })).text, /would delete 2 entries/);

  const real = await run({ audit_retention_hour: 24, include_event_types: 'create_artifact,login_user' });
  assert.equal(real.job_status, 'Success', real.error ?? '');
  assert.deepEqual(JSON.parse(real.job_parameters), { audit_retention_hour: 24, include_event_types: 'create_artifact,login_user', dry_run: false });
  assert.deepEqual(await names(), ['new-create-artifact', 'old-delete-tag'], 'old entries of the listed types only');
  // Harbor before 2.13 named bare operations.
  const third = await run({ audit_retention_hour: 24, include_event_types: 'delete' });
  assert.deepEqual(await names(), ['new-create-artifact']);

  // The three manual runs, and the retention purge that runs at each start (job_kind SCHEDULE).
  const list = await api(w.url, 'GET', '/api/v2.0/system/purgeaudit?page_size=100', { auth: adminAuth });
  const history = list.json as ExecHistory[];
  assert.equal(list.headers['x-total-count'], String(history.length));
  assert.deepEqual(history.filter((h) => h.job_kind === 'MANUAL').map((h) => h.id), [third.id, real.id, dry.id]);
  assert.ok(history.filter((h) => h.job_kind === 'SCHEDULE').length <= 1);
  assert.equal(((await api(w.url, 'GET', '/api/v2.0/system/purgeaudit?page_size=1', { auth: adminAuth })).json as ExecHistory[]).length, 1);
  assert.equal((await api(w.url, 'PUT', `/api/v2.0/system/purgeaudit/${real.id}`, { auth: adminAuth })).status, 200, 'stopping a finished run changes nothing');
  assert.equal(((await api(w.url, 'GET', `/api/v2.0/system/purgeaudit/${real.id}`, { auth: adminAuth })).json as ExecHistory).job_status, 'Success');
  assert.equal((await api(w.url, 'POST', '/api/v2.0/system/purgeaudit/schedule', { auth: adminAuth, body: { schedule: { type: 'Manual' }, parameters: { audit_retention_hour: -1 } } })).status, 400);
  assert.equal((await api(w.url, 'GET', `/api/v2.0/system/gc/${real.id}`, { auth: adminAuth })).status, 404, 'a purge is not a GC');

  const put = await api(w.url, 'PUT', '/api/v2.0/system/purgeaudit/schedule', { auth: adminAuth, body: { schedule: { type: 'Weekly' }, parameters: { audit_retention_hour: 168, include_event_types: 'pull_artifact' } } });
  assert.equal(put.status, 200, explain('PUT', '/system/purgeaudit/schedule', put));
  const s = (await api(w.url, 'GET', '/api/v2.0/system/purgeaudit/schedule', { auth: adminAuth })).json as { schedule: { type: string; cron: string }; job_parameters: string };
  assert.deepEqual(s.schedule.type, 'Weekly');
  assert.equal(s.schedule.cron, '0 0 0 * * 0');
  assert.deepEqual(JSON.parse(s.job_parameters), { audit_retention_hour: 168, include_event_types: 'pull_artifact', dry_run: false });
  const all = (await api(w.url, 'GET', '/api/v2.0/schedules', { auth: adminAuth })).json as Array<{ vendor_type: string }>;
  assert.ok(all.some((x) => x.vendor_type === 'PURGE_AUDIT_LOG'));
});
