/**
 * The job framework on real SQLite files (or, in the PostgreSQL pass, a database per test): claims
 * and leases (two workers on one file), reclaim
 * after a lost lease, per-type concurrency, stop -> Stopped, history pruning, schedules firing
 * once per tick (two services on one connection, and two child processes on one file), and kill -9
 * of a child process in the middle of a task, manual or scheduled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openDatabase, type Db } from '../../src/db/index.ts';
import { databaseTargetOf, dropDatabaseOf, onPostgres } from '../helpers/db.ts';
import { JobService, type JobHandler, type JobsConfig } from '../../src/jobs/index.ts';

const silent = pino({ level: 'silent' });
const config: JobsConfig = { poll_ms: 50, lease_seconds: 1, concurrency: 1, max_runs: 2, history_max_age_days: 30, history_max_per_type: 50 };
const tempDataDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One fresh database file, handed out twice: the in-process tests run two services (two worker
 * ids, so two lease owners, as two processes would be) over one connection. Two connections in one
 * thread cannot both write: SQLite's busy handler would block the thread the lock holder needs to
 * commit. Separate processes on one file are the kill -9 test's child processes.
 */
async function twoWorkers(t: { after(fn: () => Promise<void>): void }): Promise<[Db, Db]> {
  // PostgreSQL has no such limit: two pools, as two processes would have.
  const { db: a, second } = await openFresh(t, 'wharf-jobs-', onPostgres);
  return [a, second ?? a];
}

/**
 * A fresh database in a new data folder: the folder's SQLite file, or its PostgreSQL database in
 * that pass (test/helpers/db.ts); `target` is what a child process opens; `second`, asked for, a
 * second handle on it. Closed and removed after the test.
 */
async function openFresh(t: { after(fn: () => Promise<void>): void }, prefix: string, twice = false): Promise<{ db: Db; second?: Db; target: string }> {
  const dir = tempDataDir(prefix);
  const target = await databaseTargetOf(dir);
  const db = await openDatabase(target, { checkpointIntervalMs: 0 });
  const second = twice ? await openDatabase(target, { checkpointIntervalMs: 0, listen: false }) : undefined;
  t.after(async () => {
    await second?.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    await dropDatabaseOf(dir);
  });
  return { db, second, target };
}

async function until(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A handler whose runs wait until released (or aborted), counting how many run at once. */
function gate(vendorType: string, extra: Partial<JobHandler> = {}) {
  let release: () => void = () => {};
  let released = new Promise<void>((r) => (release = r));
  const state = { active: 0, maxActive: 0, runs: 0 };
  const handler: JobHandler = {
    vendorType,
    ...extra,
    async run(ctx) {
      state.runs++;
      state.active++;
      state.maxActive = Math.max(state.maxActive, state.active);
      try {
        await new Promise<void>((resolve, reject) => {
          void released.then(resolve);
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
        return { ok: true };
      } finally {
        state.active--;
      }
    },
  };
  return {
    handler,
    state,
    open() {
      release();
    },
    reset() {
      released = new Promise<void>((r) => (release = r));
    },
  };
}

test('two workers on one file: each task is claimed by exactly one', async (t) => {
  const [a, b] = await twoWorkers(t);
  const ran: Array<{ worker: string; task: number }> = [];
  const mk = (db: Db, name: string) => {
    const s = new JobService({ db: db.kysely, logger: silent, config: { ...config, concurrency: 4 } });
    s.register({ vendorType: 'ONE', run: async (ctx) => void ran.push({ worker: name, task: ctx.taskId }) });
    return s;
  };
  const wa = mk(a, 'a');
  const wb = mk(b, 'b');
  for (let i = 0; i < 20; i++) await wa.submit('ONE', 'MANUAL', { i });
  // Both pass over the same pending rows at once, several times.
  for (let i = 0; i < 6; i++) await Promise.all([wa.runOnce(), wb.runOnce()]);
  await wa.idle();
  await wb.idle();
  await Promise.all([wa.runOnce(), wb.runOnce()]);
  await wa.idle();
  await wb.idle();
  const tasks = ran.map((r) => r.task);
  assert.equal(tasks.length, 20, 'every task ran');
  assert.equal(new Set(tasks).size, 20, 'no task ran twice');
  const { rows } = await wa.executions('ONE', 0, 100);
  assert.deepEqual(new Set(rows.map((e) => e.status)), new Set(['Success']));
  assert.equal(rows[0]?.metrics.success_task_count, 1);
});

test('per-type concurrency bounds running tasks of one type, not of others', async (t) => {
  const [a] = await twoWorkers(t);
  const jobs = new JobService({ db: a.kysely, logger: silent, config });
  const two = gate('TWO', { concurrency: 2 });
  const one = gate('ONE_AT_A_TIME');
  jobs.register(two.handler);
  jobs.register(one.handler);
  for (let i = 0; i < 5; i++) await jobs.submit('TWO', 'MANUAL', {});
  for (let i = 0; i < 3; i++) await jobs.submit('ONE_AT_A_TIME', 'MANUAL', {});
  await jobs.runOnce();
  await jobs.runOnce();
  await until('runs to start', async () => two.state.active === 2 && one.state.active === 1);
  assert.equal((await jobs.store.activeTasks('TWO')).filter((x) => x.status === 'Running').length, 2);
  assert.equal((await jobs.store.activeTasks('TWO')).filter((x) => x.status === 'Pending').length, 3);
  two.open();
  one.open();
  await jobs.start();
  t.after(() => jobs.stop());
  await until('all to finish', async () => two.state.runs === 5 && one.state.runs === 3 && (await jobs.store.activeTasks()).length === 0);
  assert.equal(two.state.maxActive, 2);
  assert.equal(one.state.maxActive, 1);
});

test('a stop request reaches a running task through its AbortSignal: it ends Stopped', async (t) => {
  const [a, b] = await twoWorkers(t);
  const g = gate('STOPPABLE');
  const worker = new JobService({ db: a.kysely, logger: silent, config });
  worker.register(g.handler);
  // The stop comes from another process's service (another connection): it reaches the worker at its next renewal.
  const api = new JobService({ db: b.kysely, logger: silent, config });
  api.register(gate('STOPPABLE').handler);
  const id = await api.submit('STOPPABLE', 'MANUAL', {});
  const pendingStop = await api.submit('STOPPABLE', 'MANUAL', {});
  await worker.runOnce();
  await until('the task to run', async () => g.state.active === 1);
  assert.equal(await api.stopExecution(id), true);
  assert.equal(await api.stopExecution(pendingStop), true, 'a pending execution stops at once');
  assert.equal((await api.execution(pendingStop))?.status, 'Stopped');
  await until('the run to end', async () => g.state.active === 0);
  await worker.idle();
  const e = await api.execution(id);
  assert.equal(e?.status, 'Stopped');
  assert.equal(e?.metrics.stopped_task_count, 1);
  assert.ok(e?.end_time);
  assert.match(await api.logText(id), /stopped by request/);
  assert.equal(await api.stopExecution(999_999), false);
});

test('a lost lease is reclaimed and run again; past max_runs the task ends Error with the reason', async (t) => {
  const [a, b] = await twoWorkers(t);
  let clock = Date.now();
  const now = () => clock;
  // The first worker claims and "dies": its run never ends and it never renews (its clock is frozen and it is never ticked again).
  const dead = new JobService({ db: a.kysely, logger: silent, config: { ...config, lease_seconds: 3600 }, now });
  const hang = gate('LEASED');
  dead.register(hang.handler);
  const id = await dead.submit('LEASED', 'MANUAL', {});
  await dead.runOnce();
  await until('it runs', async () => hang.state.active === 1);
  const alive = new JobService({ db: b.kysely, logger: silent, config, now });
  let ranOn = 0;
  alive.register({ vendorType: 'LEASED', run: async (ctx) => void (ranOn = ctx.runCount) });
  await alive.runOnce();
  assert.equal(ranOn, 0, 'a held lease is not taken');
  clock += 3601_000;
  await alive.runOnce();
  await alive.idle();
  assert.equal(ranOn, 2, 'run 2 of 2 after the lease expired');
  assert.equal((await alive.execution(id))?.status, 'Success');
  assert.match(await alive.logText(id), /stopped renewing its lease/);
  // The first worker's late finish does not overwrite the result: it no longer holds the lease.
  hang.open();
  await dead.idle();
  assert.equal((await alive.tasks(id))[0]?.lease_owner, null);
  assert.equal((await alive.execution(id))?.status, 'Success');

  // With no retry left, an expired lease ends the task as Error.
  const once = new JobService({ db: a.kysely, logger: silent, config: { ...config, max_runs: 1, lease_seconds: 3600 }, now });
  const hang2 = gate('ONCE');
  once.register(hang2.handler);
  const id2 = await once.submit('ONCE', 'MANUAL', {});
  await once.runOnce();
  await until('it runs', async () => hang2.state.active === 1);
  const other = new JobService({ db: b.kysely, logger: silent, config, now });
  other.register({ vendorType: 'ONCE', run: async () => assert.fail('must not run a third time') });
  clock += 3601_000;
  await other.runOnce();
  const e = await other.execution(id2);
  assert.equal(e?.status, 'Error');
  assert.match(await other.logText(id2), /no retry left, the task ends as Error/);
  hang2.open();
  await once.idle();
});

test('a graceful stop gives a running task back as Pending; the next start runs it at once', async (t) => {
  const [a] = await twoWorkers(t);
  const first = new JobService({ db: a.kysely, logger: silent, config: { ...config, lease_seconds: 3600 } });
  const g = gate('GRACEFUL');
  first.register(g.handler);
  const id = await first.submit('GRACEFUL', 'MANUAL', {});
  await first.start();
  await until('it runs', async () => g.state.active === 1);
  await first.stop();
  const [task] = await first.tasks(id);
  assert.equal(task?.status, 'Pending');
  assert.equal(task?.run_count, 0, 'the interrupted run is not counted');
  assert.equal(task?.lease_owner, null);
  const second = new JobService({ db: a.kysely, logger: silent, config: { ...config, lease_seconds: 3600 } });
  let runs = 0;
  second.register({ vendorType: 'GRACEFUL', run: async (ctx) => void (runs = ctx.runCount) });
  await second.runOnce();
  await second.idle();
  assert.equal(runs, 1);
  assert.equal((await second.execution(id))?.status, 'Success');
  assert.match(await second.logText(id), /interrupted by a shutdown; the task is Pending again/);
});

test('history is pruned by count and by age, final executions only', async (t) => {
  const [a] = await twoWorkers(t);
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const jobs = new JobService({ db: a.kysely, logger: silent, config: { ...config, history_max_per_type: 3, history_max_age_days: 1 }, now: () => clock });
  jobs.register({ vendorType: 'P', run: async () => {} });
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await jobs.submit('P', 'MANUAL', {}));
  for (let i = 0; i < 5; i++) {
    await jobs.runOnce();
    await jobs.idle();
  }
  let list = await jobs.executions('P', 0, 100);
  assert.deepEqual(list.rows.map((r) => r.id), ids.slice(2).reverse(), 'the newest 3 remain');
  assert.equal((await a.kysely.selectFrom('job_tasks').select('id').execute()).length, 3, 'their tasks went with them');
  const pending = await jobs.submit('P', 'MANUAL', {});
  clock += 2 * 86_400_000;
  await jobs.prune();
  list = await jobs.executions('P', 0, 100);
  assert.deepEqual(list.rows.map((r) => r.id), [pending], 'older than a day: gone, unless not final');
  const orphanLogs = await a.kysely.selectFrom('job_task_logs').select('task_id').where('task_id', 'not in', a.kysely.selectFrom('job_tasks').select('id')).execute();
  assert.equal(orphanLogs.length, 0, 'logs went with their tasks');
});

test('a schedule fires once per tick with two schedulers on one file; it survives a restart', async (t) => {
  const [a, b] = await twoWorkers(t);
  let clock = Date.parse('2026-01-01T10:30:00Z');
  const now = () => clock;
  const mk = (db: Db) => {
    const s = new JobService({ db: db.kysely, logger: silent, config, now });
    s.register({ vendorType: 'TICK', run: async () => {} });
    return s;
  };
  const sa = mk(a);
  const sb = mk(b);
  const s = await sa.setSchedule('TICK', 'Hourly', undefined, { dry_run: true });
  assert.equal(new Date(s.nextRun).toISOString(), '2026-01-01T11:00:00.000Z');
  await assert.rejects(sa.setSchedule('TICK', 'Custom', '30 * * * * *', {}), /the 1st field \(indicating Seconds of time\) of the cron setting must be 0/);
  await Promise.all([sa.runOnce(), sb.runOnce()]);
  assert.equal((await sa.executions('TICK', 0, 10)).total, 0, 'not due yet');
  clock = Date.parse('2026-01-01T11:00:00.500Z');
  for (let i = 0; i < 3; i++) await Promise.all([sa.runOnce(), sb.runOnce()]);
  let list = await sa.executions('TICK', 0, 10);
  assert.equal(list.total, 1, 'one execution for the 11:00 tick');
  assert.equal(list.rows[0]?.trigger, 'SCHEDULE');
  assert.deepEqual(JSON.parse(list.rows[0]?.extra_attrs ?? '{}'), { parameters: { dry_run: true } });
  // A restarted scheduler (a new service on the file) picks the schedule up; three missed ticks fire once.
  const sc = mk(b);
  clock = Date.parse('2026-01-01T14:10:00Z');
  await Promise.all([sa.runOnce(), sc.runOnce()]);
  list = await sa.executions('TICK', 0, 10);
  assert.equal(list.total, 2);
  assert.equal(new Date((await sc.schedule('TICK'))?.nextRun ?? 0).toISOString(), '2026-01-01T15:00:00.000Z');
  // Paused (job_type all): no tick fires; resumed: it does.
  await sa.queueAction('all', 'pause');
  clock = Date.parse('2026-01-01T15:00:01Z');
  await Promise.all([sa.runOnce(), sc.runOnce()]);
  assert.equal((await sa.executions('TICK', 0, 10)).total, 2);
  await sa.queueAction('all', 'resume');
  await Promise.all([sa.runOnce(), sc.runOnce()]);
  assert.equal((await sa.executions('TICK', 0, 10)).total, 3);
  await sa.removeSchedule('TICK');
  assert.equal(await sa.schedule('TICK'), undefined);
  await sa.idle();
  await sb.idle();
  await sc.idle();
});

function startChild(path: string, mode: 'slow' | 'fast', maxRuns: number): { child: ChildProcess; lines: string[]; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'helpers', 'jobs-child.ts'), path, mode, String(maxRuns)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, lines, exited };
}

test('kill -9 during a running task: after a restart no task stays Running and the next run completes', { timeout: 60_000 }, async (t) => {
  const { db, target: path } = await openFresh(t, 'wharf-jobs-kill-');
  const jobs = new JobService({ db: db.kysely, logger: silent, config });
  jobs.register({ vendorType: 'SLOW_JOB', run: async () => {} }); // registered to submit; this process never claims
  const first = await jobs.submit('SLOW_JOB', 'MANUAL', {});

  const one = startChild(path, 'slow', 2);
  t.after(() => void one.child.kill('SIGKILL'));
  await until('the child to run the task', async () => one.lines.some((l) => l.startsWith('running')));
  assert.equal((await jobs.tasks(first))[0]?.status, 'Running');
  one.child.kill('SIGKILL');
  await one.exited;
  assert.equal((await jobs.tasks(first))[0]?.status, 'Running', 'killed: the row still says Running');

  const two = startChild(path, 'fast', 2);
  t.after(() => void two.child.kill('SIGKILL'));
  await until('the restarted child to finish the task', async () => (await jobs.execution(first))?.status === 'Success').catch(async (err: unknown) => {
    throw new Error(`${String(err)}: ${JSON.stringify(await jobs.tasks(first))} ${await jobs.logText(first)} child: ${two.lines.join('|')}`);
  });
  const [task] = await jobs.tasks(first);
  assert.equal(task?.run_count, 2);
  assert.match(await jobs.logText(first), /stopped renewing its lease \(it died or hung\): run 2 of 2/);
  const next = await jobs.submit('SLOW_JOB', 'MANUAL', {});
  await until('the next run to complete', async () => (await jobs.execution(next))?.status === 'Success');
  assert.equal((await jobs.store.activeTasks()).length, 0, 'no task Running');
  two.child.kill('SIGTERM');
  await two.exited;
});

test('two processes on one file: each due schedule tick fires once', { timeout: 60_000 }, async (t) => {
  const { db, target: path } = await openFresh(t, 'wharf-jobs-ticks-');
  // Written two hours in the past: every schedule's next run (the following hour) is already due.
  const past = new JobService({ db: db.kysely, logger: silent, config, now: () => Date.now() - 2 * 3_600_000 });
  past.register({ vendorType: 'SLOW_JOB', run: async () => {} });
  const n = 200;
  for (let id = 1; id <= n; id++) await past.setSchedule('SLOW_JOB', 'Hourly', undefined, { n: id }, id);
  // Paused until both children run, so that they race for the same ticks.
  await past.queueAction('all', 'pause');
  const children = [startChild(path, 'fast', 2), startChild(path, 'fast', 2)];
  t.after(() => children.forEach((c) => void c.child.kill('SIGKILL')));
  await until('both children to be ready', async () => children.every((c) => c.lines.includes('ready')));
  await past.queueAction('all', 'resume');
  const executions = () => db.kysely.selectFrom('job_executions').select(['vendor_id', 'status', 'trigger']).execute();
  await until('every schedule to fire', async () => (await executions()).length >= n);
  // Both children keep polling; let each make several more passes over the (no longer due) schedules.
  const beats = async () => (await db.kysely.selectFrom('job_workers').select('heartbeat_time').execute()).map((w) => w.heartbeat_time);
  const before = await beats();
  await until('both children to poll again', async () => {
    const now = await beats();
    return now.length === 2 && now.every((b) => b > Math.max(...before) + 500);
  });
  const rows = await executions();
  assert.equal(rows.length, n, 'one execution per tick');
  assert.deepEqual(new Set(rows.map((r) => r.vendor_id)).size, n);
  assert.ok(rows.every((r) => r.trigger === 'SCHEDULE'));
  const next = await db.kysely.selectFrom('job_schedules').select('next_run').execute();
  assert.ok(next.every((s) => s.next_run > Date.now()), 'every schedule moved to its next hour');
  for (const c of children) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
});

test('kill -9 during a scheduled run: after a restart the run completes and the tick is not repeated', { timeout: 60_000 }, async (t) => {
  const { db, target: path } = await openFresh(t, 'wharf-jobs-schedkill-');
  const past = new JobService({ db: db.kysely, logger: silent, config, now: () => Date.now() - 2 * 3_600_000 });
  past.register({ vendorType: 'SLOW_JOB', run: async () => {} });
  await past.setSchedule('SLOW_JOB', 'Hourly', undefined, {});
  const one = startChild(path, 'slow', 2);
  t.after(() => void one.child.kill('SIGKILL'));
  await until('the scheduled run to start', async () => one.lines.some((l) => l.startsWith('running')));
  one.child.kill('SIGKILL');
  await one.exited;
  const two = startChild(path, 'fast', 2);
  t.after(() => void two.child.kill('SIGKILL'));
  const executions = () => db.kysely.selectFrom('job_executions').selectAll().execute();
  await until('the run to complete', async () => (await executions())[0]?.status === 'Success');
  const rows = await executions();
  assert.equal(rows.length, 1, 'the tick fired once, before the kill');
  assert.equal(rows[0]?.trigger, 'SCHEDULE');
  assert.equal((await db.kysely.selectFrom('job_tasks').select('status').where('status', '=', 'Running').execute()).length, 0);
  two.child.kill('SIGTERM');
  await two.exited;
});

test('an execution with 1,203 tasks: every task stored once, in order, with its attributes', async (t) => {
  const { db } = await openFresh(t, 'wharf-jobs-many-');
  const jobs = new JobService({ db: db.kysely, logger: silent, config });
  jobs.register({ vendorType: 'MANY', run: async () => undefined });
  const tasks = Array.from({ length: 1203 }, (_, i) => ({ i, name: i === 5 ? 'quote \' and "double" ünïcödé' : `t${i}` }));
  const { executionId, taskIds } = await db.kysely.transaction().execute((trx) => jobs.createExecutionIn(trx, 'MANY', 'MANUAL', { tasks }));
  assert.equal(taskIds.length, tasks.length);
  const rows = await jobs.tasks(executionId);
  assert.deepEqual(
    rows.map((r) => r.id),
    [...taskIds].sort((a, b) => a - b),
  );
  assert.deepEqual(
    [...rows].sort((a, b) => a.id - b.id).map((r) => JSON.parse(r.extra_attrs)),
    tasks,
  );
  assert.ok(rows.every((r) => r.status === 'Pending' && r.execution_id === executionId));
});
