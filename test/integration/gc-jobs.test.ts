/**
 * Garbage collection and the job endpoints over real HTTP: Harbor's /system/gc history, schedule
 * (Hourly/Daily/Weekly/Custom/None), dry_run and delete_untagged, stop, logs; /schedules;
 * /jobservice; and a `wharf serve` child killed with SIGKILL in the middle of a GC run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dropDatabaseOf, openDataDirDatabase } from '../helpers/db.ts';
import { adminAuth, spawnWharf, startWharf, tempDataDir } from '../helpers/wharf.ts';
import { api, explain, pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface GcHistory {
  id: number;
  job_name: string;
  job_kind: string;
  job_parameters: string;
  job_status: string;
  schedule: { type: string; cron: string; next_scheduled_time: string | null } | null;
  report: { blobs_deleted: number; artifacts_deleted: number; dry_run: boolean } | null;
  error: string | null;
}

async function gcRun(url: string, id: number): Promise<GcHistory> {
  const r = await api(url, 'GET', `/api/v2.0/system/gc/${id}`, { auth: adminAuth });
  assert.equal(r.status, 200, explain('GET', `/system/gc/${id}`, r));
  return r.json as GcHistory; // Harbor's GCHistory (status checked)
}

async function finished(url: string, id: number): Promise<GcHistory> {
  for (;;) {
    const run = await gcRun(url, id);
    if (run.job_status !== 'Running' && run.job_status !== 'Pending') return run;
    await sleep(30);
  }
}

async function startGc(url: string, parameters: Record<string, unknown> = {}): Promise<number> {
  const r = await api(url, 'POST', '/api/v2.0/system/gc/schedule', { auth: adminAuth, body: { schedule: { type: 'Manual' }, parameters } });
  assert.equal(r.status, 201, explain('POST', '/system/gc/schedule', r));
  const location = String(r.headers.location ?? '');
  assert.match(location, /^\/api\/v2\.0\/system\/gc\/\d+$/);
  return Number(location.split('/').pop());
}

test('GC schedules: Harbor types and crons, validation, /schedules, paused', { timeout: 60_000 }, async (t) => {
  const w = await startWharf();
  t.after(() => w.close());
  const get = async () => (await api(w.url, 'GET', '/api/v2.0/system/gc/schedule', { auth: adminAuth })).json as { schedule?: GcHistory['schedule']; job_parameters?: string };
  assert.deepEqual(await get(), {});
  for (const [type, cron] of [['Hourly', '0 0 * * * *'], ['Daily', '0 0 0 * * *'], ['Weekly', '0 0 0 * * 0'], ['Custom', '0 15 3 * * *']] as const) {
    const r = await api(w.url, 'PUT', '/api/v2.0/system/gc/schedule', { auth: adminAuth, body: { schedule: { type, cron: type === 'Custom' ? cron : undefined }, parameters: { delete_untagged: true } } });
    assert.equal(r.status, 200, explain('PUT', '/system/gc/schedule', r));
    const s = await get();
    assert.equal(s.schedule?.type, type);
    assert.equal(s.schedule?.cron, cron);
    assert.ok(Date.parse(s.schedule?.next_scheduled_time ?? '') > Date.now());
    assert.deepEqual(JSON.parse(s.job_parameters ?? '{}'), { delete_untagged: true, dry_run: false });
  }
  const bad = await api(w.url, 'PUT', '/api/v2.0/system/gc/schedule', { auth: adminAuth, body: { schedule: { type: 'Custom', cron: '10 * * * * *' } } });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /invalid cron 10 \* \* \* \* \*: the 1st field \(indicating Seconds of time\) of the cron setting must be 0/);
  assert.equal((await api(w.url, 'PUT', '/api/v2.0/system/gc/schedule', { auth: adminAuth, body: { schedule: { type: 'Daily' }, parameters: { dry_run: 'yes' } } })).status, 400);
  assert.equal((await api(w.url, 'GET', '/api/v2.0/system/gc/schedule', { auth: undefined, headers: {} })).status, 401);

  const list = await api(w.url, 'GET', '/api/v2.0/schedules', { auth: adminAuth });
  assert.equal(list.status, 200);
  // Harbor's ScheduleTask[]: GC's, and the hourly audit retention purge (vendor id 1).
  const rows = list.json as Array<{ vendor_type: string; vendor_id: number; cron: string }>;
  assert.equal(list.headers['x-total-count'], '2');
  assert.deepEqual(rows.find((r) => r.vendor_type === 'PURGE_AUDIT_LOG') && { ...rows.find((r) => r.vendor_type === 'PURGE_AUDIT_LOG'), id: undefined, update_time: undefined }, { id: undefined, vendor_type: 'PURGE_AUDIT_LOG', vendor_id: 1, cron: '0 0 * * * *', update_time: undefined });
  const row = rows.find((r) => r.vendor_type === 'GARBAGE_COLLECTION');
  assert.deepEqual({ ...row, id: undefined, update_time: undefined }, { id: undefined, vendor_type: 'GARBAGE_COLLECTION', vendor_id: 0, cron: '0 15 3 * * *', update_time: undefined });
  assert.deepEqual((await api(w.url, 'GET', '/api/v2.0/schedules/all/paused', { auth: adminAuth })).json, { paused: false });
  const notAll = await api(w.url, 'GET', '/api/v2.0/schedules/GARBAGE_COLLECTION/paused', { auth: adminAuth });
  assert.equal(notAll.status, 400);
  assert.match(notAll.text, /job_type can only be 'all'/);

  assert.equal((await api(w.url, 'POST', '/api/v2.0/system/gc/schedule', { auth: adminAuth, body: { schedule: { type: 'None' } } })).status, 201);
  assert.deepEqual(await get(), {});
  assert.equal((await api(w.url, 'GET', '/api/v2.0/schedules', { auth: adminAuth })).headers['x-total-count'], '1', 'the retention schedule remains');
});

test('GC dry_run deletes nothing; delete_untagged removes untagged artifacts; history and logs survive a restart', { timeout: 120_000 }, async (t) => {
  const dataDir = tempDataDir('wharf-gc-jobs-');
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let w = await startWharf({ dataDir, overrides: { registry: { upload_grace_seconds: 0 } } });
  const img = smallImage('gc-untagged');
  await pushSmallImage(w.url, 'library/gcjobs', img, { auth: adminAuth }); // by digest: untagged
  const artifacts = async () => (await api(w.url, 'GET', '/api/v2.0/projects/library/repositories/gcjobs/artifacts', { auth: adminAuth })).json as unknown[];
  assert.equal((await artifacts()).length, 1);

  const dry = await finished(w.url, await startGc(w.url, { delete_untagged: true, dry_run: true }));
  assert.equal(dry.job_status, 'Success', dry.error ?? '');
  assert.deepEqual(JSON.parse(dry.job_parameters), { delete_untagged: true, dry_run: true });
  assert.equal(dry.report?.dry_run, true);
  assert.equal(dry.report?.artifacts_deleted, 1);
  assert.equal((await artifacts()).length, 1, 'a dry run deletes nothing');
  const dryLog = await api(w.url, 'GET', `/api/v2.0/system/gc/${dry.id}/log`, { auth: adminAuth });
  assert.match(dryLog.text, /would delete untagged artifact library\/gcjobs@sha256:/);

  const real = await finished(w.url, await startGc(w.url, { delete_untagged: true }));
  assert.equal(real.job_status, 'Success', real.error ?? '');
  assert.equal(real.report?.artifacts_deleted, 1);
  assert.ok((real.report?.blobs_deleted ?? 0) >= 3, 'the layer, the config and the manifest go');
  assert.equal((await artifacts()).length, 0);

  await w.close({ keepData: true });
  w = await startWharf({ dataDir });
  t.after(() => w.close({ keepData: true }));
  const list = await api(w.url, 'GET', '/api/v2.0/system/gc', { auth: adminAuth });
  assert.equal(list.headers['x-total-count'], '2');
  assert.deepEqual((list.json as GcHistory[]).map((r) => [r.id, r.job_status, r.job_kind]), [[real.id, 'Success', 'MANUAL'], [dry.id, 'Success', 'MANUAL']]);
  assert.match((await api(w.url, 'GET', `/api/v2.0/system/gc/${real.id}/log`, { auth: adminAuth })).text, /deleted untagged artifact library\/gcjobs@/);
  // `wharf gc` (Wharf.gc) is an execution too.
  await w.wharf.gc();
  assert.equal((await api(w.url, 'GET', '/api/v2.0/system/gc', { auth: adminAuth })).headers['x-total-count'], '3');
});

/** Orphan blob rows whose files are gone: GC deletes them one by one, which takes a few seconds. */
async function seedOrphans(dataDir: string, n: number): Promise<void> {
  const db = await openDataDirDatabase(dataDir, { checkpointIntervalMs: 0 });
  try {
    for (let start = 0; start < n; start += 1000) {
      const rows = [];
      for (let i = start; i < Math.min(n, start + 1000); i++) rows.push({ digest: `sha256:${i.toString(16).padStart(64, '0')}`, size: 10, creation_time: 0 });
      await db.kysely.insertInto('blobs').values(rows).execute();
    }
  } finally {
    await db.close();
  }
}

test('jobservice: pools, workers, queues pause/resume; stop a running GC over HTTP', { timeout: 120_000 }, async (t) => {
  const w = await startWharf({ overrides: { jobs: { poll_ms: 50 } } });
  t.after(() => w.close());
  const pools = (await api(w.url, 'GET', '/api/v2.0/jobservice/pools', { auth: adminAuth })).json as Array<{ pid: number; worker_pool_id: string; concurrency: number }>;
  assert.equal(pools.length, 1);
  assert.equal(pools[0]?.pid, process.pid);
  assert.equal((await api(w.url, 'PUT', '/api/v2.0/jobservice/queues/GARBAGE_COLLECTION', { auth: adminAuth, body: { action: 'explode' } })).status, 400);
  assert.equal((await api(w.url, 'PUT', '/api/v2.0/jobservice/queues/GARBAGE_COLLECTION', { auth: adminAuth, body: { action: 'pause' } })).status, 200);
  const id = await startGc(w.url);
  await sleep(300);
  const queues = (await api(w.url, 'GET', '/api/v2.0/jobservice/queues', { auth: adminAuth })).json as Array<{ job_type: string; count: number; paused: boolean }>;
  const gcQueue = queues.find((q) => q.job_type === 'GARBAGE_COLLECTION');
  assert.equal(gcQueue?.count, 1, 'paused: the task waits');
  assert.equal(gcQueue?.paused, true);
  assert.equal((await gcRun(w.url, id)).job_status, 'Running', 'an execution with a pending task is Running (Harbor)');
  assert.equal((await api(w.url, 'PUT', '/api/v2.0/jobservice/queues/GARBAGE_COLLECTION', { auth: adminAuth, body: { action: 'resume' } })).status, 200);
  assert.equal((await finished(w.url, id)).job_status, 'Success');

  // While paused: a job stopped through /jobservice/jobs/{task id}, and a queue's stop.
  await api(w.url, 'PUT', '/api/v2.0/jobservice/queues/all', { auth: adminAuth, body: { action: 'pause' } });
  assert.deepEqual((await api(w.url, 'GET', '/api/v2.0/schedules/all/paused', { auth: adminAuth })).json, { paused: true });
  const first = await startGc(w.url);
  const taskOf = async (execution: number) => (await w.wharf.db.kysely.selectFrom('job_tasks').select('id').where('execution_id', '=', execution).executeTakeFirstOrThrow()).id;
  assert.equal((await api(w.url, 'PUT', `/api/v2.0/jobservice/jobs/${await taskOf(first)}`, { auth: adminAuth, body: { action: 'stop' } })).status, 200);
  assert.equal((await gcRun(w.url, first)).job_status, 'Stopped');
  assert.match((await api(w.url, 'GET', `/api/v2.0/jobservice/jobs/${await taskOf(first)}/log`, { auth: adminAuth })).text, /stopped before it started/);
  const second = await startGc(w.url);
  assert.equal((await api(w.url, 'PUT', '/api/v2.0/jobservice/queues/GARBAGE_COLLECTION', { auth: adminAuth, body: { action: 'stop' } })).status, 200);
  assert.equal((await gcRun(w.url, second)).job_status, 'Stopped');
  assert.equal((await api(w.url, 'PUT', '/api/v2.0/jobservice/jobs/999999', { auth: adminAuth, body: { action: 'stop' } })).status, 404);
  await api(w.url, 'PUT', '/api/v2.0/jobservice/queues/all', { auth: adminAuth, body: { action: 'resume' } });

  // A long run (many orphan rows), stopped through PUT /system/gc/{id}: it ends Stopped.
  await seedOrphans(w.dataDir, 20_000);
  const long = await startGc(w.url);
  for (;;) {
    const workers = (await api(w.url, 'GET', '/api/v2.0/jobservice/pools/all/workers', { auth: adminAuth })).json as Array<{ job_name: string; job_id: string }>;
    if (workers.some((x) => x.job_name === 'GARBAGE_COLLECTION')) break;
    await sleep(10);
  }
  assert.equal((await api(w.url, 'PUT', `/api/v2.0/system/gc/${long}`, { auth: adminAuth })).status, 200);
  const stopped = await finished(w.url, long);
  assert.equal(stopped.job_status, 'Stopped');
  assert.match((await api(w.url, 'GET', `/api/v2.0/system/gc/${long}/log`, { auth: adminAuth })).text, /stopped by request/);
  assert.equal((await api(w.url, 'PUT', '/api/v2.0/system/gc/999999', { auth: adminAuth })).status, 404);
});

test('kill -9 during a GC run: after a restart no task is Running and the next run completes', { timeout: 180_000 }, async (t) => {
  const dataDir = tempDataDir('wharf-gc-kill-');
  t.after(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabaseOf(dataDir);
  });
  const env = { WHARF_JOBS__LEASE_SECONDS: '1', WHARF_JOBS__POLL_MS: '100' };
  let child = await spawnWharf({ dataDir, env });
  t.after(() => void child.proc.kill('SIGKILL'));
  await seedOrphans(dataDir, 40_000);
  const id = await startGc(child.url);
  const db = await openDataDirDatabase(dataDir, { checkpointIntervalMs: 0, migrate: false, checkpoint: false });
  t.after(() => db.close());
  const task = async () => db.kysely.selectFrom('job_tasks').selectAll().where('execution_id', '=', id).executeTakeFirstOrThrow();
  while ((await task()).status !== 'Running') await sleep(10);
  await child.kill9();
  assert.equal((await task()).status, 'Running', 'killed in the middle of the run');

  child = await spawnWharf({ dataDir, env });
  const run = await finished(child.url, id);
  assert.equal(run.job_status, 'Success', run.error ?? '');
  assert.equal((await task()).run_count, 2);
  assert.match((await api(child.url, 'GET', `/api/v2.0/system/gc/${id}/log`, { auth: adminAuth })).text, /stopped renewing its lease \(it died or hung\): run 2 of 2/);
  // Every seeded orphan went, across the chunks of 500 digests the run deletes at a time.
  const left = await db.kysely.selectFrom('blobs').select((eb) => eb.fn.countAll<number>().as('n')).where('creation_time', '=', 0).where('size', '=', 10).executeTakeFirstOrThrow();
  assert.equal(Number(left.n), 0, 'no orphan row left');
  const next = await finished(child.url, await startGc(child.url));
  assert.equal(next.job_status, 'Success');
  const running = await db.kysely.selectFrom('job_tasks').select('id').where('status', '=', 'Running').execute();
  assert.deepEqual(running, [], 'no task Running');
  assert.equal(await child.stop(), 0);
});
