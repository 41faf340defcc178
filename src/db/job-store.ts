/**
 * The job framework's SQL (src/jobs/): the only code that reads or writes job_executions,
 * job_tasks, job_task_logs, job_schedules, job_queues and job_workers.
 *
 * Written with Kysely's query builder only, so that it runs on PostgreSQL as it does on SQLite.
 * Every state change that races with another process is a conditional UPDATE whose row count says
 * who won: a claim (`status = 'Pending'` or an expired lease), a lease renewal and a finish (the
 * lease owner still holds it), a schedule tick (`next_run` still the value read).
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { isPostgres } from './dialect.ts';
import { notify } from './notifications.ts';
import type { Database, JobExecutionsTable, JobTasksTable } from './schema.ts';
import { chunks } from './sql.ts';

/** Harbor's statuses of executions and tasks. */
export type JobStatus = 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
/** What started an execution. */
export type JobTrigger = 'MANUAL' | 'SCHEDULE' | 'EVENT';
/** A final status: the task or execution will not change any more. */
export const finalStatuses: readonly JobStatus[] = ['Success', 'Error', 'Stopped'];

export type JobExecutionRow = Selectable<JobExecutionsTable>;
export type JobTaskRow = Selectable<JobTasksTable>;

/** Per-status task counts of an execution (Harbor's `metrics`). */
export interface TaskCounts {
  task_count: number;
  pending_task_count: number;
  running_task_count: number;
  success_task_count: number;
  error_task_count: number;
  stopped_task_count: number;
}

/** Tasks written by one INSERT (13 columns at most: 6,500 parameters, within SQLite's and PostgreSQL's limits). */
const tasksPerInsert = 500;

/** A new execution and its tasks. */
export interface NewExecution {
  vendorType: string;
  vendorId?: number;
  trigger: JobTrigger;
  extraAttrs?: Record<string, unknown>;
  /** One entry per task: its parameters. An execution with no task ends Success at once. */
  tasks: Array<Record<string, unknown>>;
  /** The status message of an execution with no task (e.g. retention's `no resources for retention`). */
  statusMessage?: string;
  /** The status of an execution with no task (default Success; replication's skipped run is Error). */
  emptyStatus?: 'Success' | 'Error';
  /** Runs a task may have in all (a reclaimed task after a crash is run again until this). */
  maxRuns: number;
}

/** A log line. */
export interface JobLogLine {
  time: number;
  level: string;
  message: string;
}

/** Execution status from its tasks (Harbor's precedence). */
export function executionStatus(c: TaskCounts): JobStatus {
  if (c.pending_task_count + c.running_task_count > 0) return 'Running';
  if (c.error_task_count > 0) return 'Error';
  if (c.stopped_task_count > 0) return 'Stopped';
  return 'Success';
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {}; // checked just above: a plain JSON object
  } catch {
    return {};
  }
}

/** Reads a JSON attribute column as an object ({} when it is not one). */
export { parseObject as parseJobAttrs };

type Db = Kysely<Database> | Transaction<Database>;

/** The tables of the job framework. */
export class JobStore {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts an execution with its tasks (Pending); returns the execution id. With `claimFor` the
   * tasks are inserted already claimed by that worker (Running, its lease, run 1), so no other
   * worker (another process, or this one's loop woken by the insert) can take them first.
   */
  async createExecution(e: NewExecution, now: number, claimFor?: { owner: string; leaseMs: number }): Promise<number> {
    return this.db.transaction().execute((trx) => this.insertExecution(trx, e, now, claimFor));
  }

  /**
   * Inserts an execution with its tasks (Pending) inside the caller's transaction `trx`, so that
   * it commits with the caller's other writes (a scan's report placeholders, an outbox consumer's
   * cursor); returns its id and its tasks' ids in order.
   */
  async createExecutionIn(trx: Transaction<Database>, e: NewExecution, now: number): Promise<{ executionId: number; taskIds: number[] }> {
    const executionId = await this.insertExecution(trx, e, now);
    const rows = await trx.selectFrom('job_tasks').select('id').where('execution_id', '=', executionId).orderBy('id').execute();
    return { executionId, taskIds: rows.map((r) => r.id) };
  }

  /**
   * Adds Pending tasks to a Running execution (a launcher task that lists its work first, as
   * replication's fetch step does), inside `trx`. Nothing is added, and null comes back, when the
   * execution is final or a stop was requested: the row is updated first, so a concurrent stop
   * (which locks tasks, then this row) waits or is waited for, never both.
   */
  async addTasksIn(trx: Transaction<Database>, executionId: number, vendorType: string, tasks: Array<Record<string, unknown>>, maxRuns: number, now: number): Promise<number[] | null> {
    const open = await trx
      .updateTable('job_executions')
      .set({ update_time: now })
      .where('id', '=', executionId)
      .where('status', '=', 'Running')
      .where('stop_requested', '=', 0)
      .executeTakeFirst();
    if (Number(open.numUpdatedRows) !== 1) return null;
    const ids: number[] = [];
    for (const attrs of tasks) {
      const row = await trx
        .insertInto('job_tasks')
        .values({
          execution_id: executionId,
          vendor_type: vendorType,
          status: 'Pending',
          run_count: 0,
          status_message: '',
          max_runs: maxRuns,
          extra_attrs: JSON.stringify(attrs),
          stop_requested: 0,
          creation_time: now,
          update_time: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    if (tasks.length > 0) await notify(trx, 'wharf_jobs');
    return ids;
  }

  /**
   * Merges `patch` into a task's `extra_attrs` inside `trx` (a marker a handler records with its
   * other writes, e.g. replication's recorded outcome, which a rerun after a crash reads back).
   */
  async mergeTaskAttrsIn(trx: Transaction<Database>, taskId: number, patch: Record<string, unknown>, now: number): Promise<void> {
    const row = await trx.selectFrom('job_tasks').select('extra_attrs').where('id', '=', taskId).executeTakeFirst();
    if (!row) return;
    await trx.updateTable('job_tasks').set({ extra_attrs: JSON.stringify({ ...parseObject(row.extra_attrs), ...patch }), update_time: now }).where('id', '=', taskId).execute();
  }

  /** Ids of the executions of (vendorType, vendorId) that are not final; `db` may be the caller's transaction. */
  async openExecutionsByVendor(vendorType: string, vendorId: number, db: Db = this.db): Promise<number[]> {
    const rows = await db.selectFrom('job_executions').select('id').where('vendor_type', '=', vendorType).where('vendor_id', '=', vendorId).where('status', 'not in', finalStatuses).orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /**
   * Deletes the final executions of (vendorType, vendorId) with their tasks and task logs, inside
   * `trx` (or a transaction of its own), as when what they ran for is deleted; executions still
   * open stay. Returns the ids of the deleted executions.
   */
  async deleteFinalExecutions(vendorType: string, vendorId: number, trx?: Transaction<Database>): Promise<number[]> {
    if (!trx) return this.db.transaction().execute((t) => this.deleteFinalExecutions(vendorType, vendorId, t));
    const rows = await trx.selectFrom('job_executions').select('id').where('vendor_type', '=', vendorType).where('vendor_id', '=', vendorId).where('status', 'in', finalStatuses).orderBy('id').execute();
    const ids = rows.map((r) => r.id);
    // In slices, under every dialect's limit of bound parameters.
    for (let i = 0; i < ids.length; i += 500) {
      const slice = ids.slice(i, i + 500);
      await trx.deleteFrom('job_task_logs').where('task_id', 'in', trx.selectFrom('job_tasks').select('id').where('execution_id', 'in', slice)).execute();
      await trx.deleteFrom('job_tasks').where('execution_id', 'in', slice).execute();
      await trx.deleteFrom('job_executions').where('id', 'in', slice).execute();
    }
    return ids;
  }

  private async insertExecution(trx: Db, e: NewExecution, now: number, claimFor?: { owner: string; leaseMs: number }): Promise<number> {
    {
      const row = await trx
        .insertInto('job_executions')
        .values({
          vendor_type: e.vendorType,
          vendor_id: e.vendorId ?? 0,
          status: e.tasks.length === 0 ? (e.emptyStatus ?? 'Success') : 'Running',
          status_message: e.tasks.length === 0 ? (e.statusMessage ?? '') : '',
          trigger: e.trigger,
          extra_attrs: JSON.stringify(e.extraAttrs ?? {}),
          stop_requested: 0,
          start_time: now,
          update_time: now,
          end_time: e.tasks.length === 0 ? now : null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      // Other processes' job workers wake at this transaction's commit (PostgreSQL; nothing on SQLite).
      if (e.tasks.length > 0 && !claimFor) await notify(trx, 'wharf_jobs');
      const claimed = claimFor ? { status: 'Running', run_count: 1, lease_owner: claimFor.owner, lease_expires: now + claimFor.leaseMs, start_time: now } : { status: 'Pending', run_count: 0 };
      // 500 tasks to a statement (a scan of every artifact has one task each).
      for (const part of chunks(e.tasks, tasksPerInsert)) {
        await trx
          .insertInto('job_tasks')
          .values(
            part.map((attrs) => ({
              execution_id: row.id,
              vendor_type: e.vendorType,
              ...claimed,
              status_message: '',
              max_runs: e.maxRuns,
              extra_attrs: JSON.stringify(attrs),
              stop_requested: 0,
              creation_time: now,
              update_time: now,
            })),
          )
          .execute();
      }
      return row.id;
    }
  }

  /**
   * Claims the oldest claimable task of `vendorType` for `owner` until `now + leaseMs`: a Pending
   * task, or a Running one whose lease expired (its worker died) and that may run again. Returns
   * the claimed task or undefined. Safe across processes: the UPDATE repeats the condition, so
   * of two claimers of one row exactly one changes it.
   */
  async claim(vendorType: string, owner: string, now: number, leaseMs: number): Promise<JobTaskRow | undefined> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const candidate = await this.db
        .selectFrom('job_tasks')
        .select(['id', 'status', 'run_count', 'max_runs', 'lease_owner'])
        .where('vendor_type', '=', vendorType)
        .where((eb) => eb.or([eb('status', '=', 'Pending'), eb.and([eb('status', '=', 'Running'), eb('lease_expires', '<', now)])]))
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      if (!candidate) return undefined;
      if (candidate.status === 'Running' && candidate.run_count >= candidate.max_runs) {
        // A lost run with no retry left: it ends as Error, with the reason in its log.
        const res = await this.db
          .updateTable('job_tasks')
          .set({ status: 'Error', status_message: 'worker lost (lease expired), no retry left', lease_owner: null, lease_expires: null, end_time: now, update_time: now })
          .where('id', '=', candidate.id)
          .where('status', '=', 'Running')
          .where('lease_expires', '<', now)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) {
          await this.appendLog(candidate.id, 'ERROR', `the worker ${candidate.lease_owner ?? '?'} stopped renewing its lease (it died or hung) during run ${candidate.run_count} of ${candidate.max_runs}: no retry left, the task ends as Error`, now);
          await this.refreshExecutionOfTask(candidate.id, now);
        }
        continue;
      }
      const res = await this.db
        .updateTable('job_tasks')
        .set((eb) => ({ status: 'Running', lease_owner: owner, lease_expires: now + leaseMs, run_count: eb('run_count', '+', 1), start_time: now, update_time: now }))
        .where('id', '=', candidate.id)
        .where((eb) => eb.or([eb('status', '=', 'Pending'), eb.and([eb('status', '=', 'Running'), eb('lease_expires', '<', now)])]))
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) continue; // another worker won this row: try the next one
      if (candidate.status === 'Running') {
        await this.appendLog(candidate.id, 'WARNING', `the worker ${candidate.lease_owner ?? '?'} stopped renewing its lease (it died or hung): run ${candidate.run_count + 1} of ${candidate.max_runs} starts on ${owner}`, now);
      }
      return this.db.selectFrom('job_tasks').selectAll().where('id', '=', candidate.id).executeTakeFirstOrThrow();
    }
    return undefined;
  }

  /** Claims one given Pending task (a run in the calling process, e.g. `wharf gc`); undefined when another worker has it. */
  async claimTask(taskId: number, owner: string, now: number, leaseMs: number): Promise<JobTaskRow | undefined> {
    const res = await this.db
      .updateTable('job_tasks')
      .set((eb) => ({ status: 'Running', lease_owner: owner, lease_expires: now + leaseMs, run_count: eb('run_count', '+', 1), start_time: now, update_time: now }))
      .where('id', '=', taskId)
      .where('status', '=', 'Pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return undefined;
    return this.db.selectFrom('job_tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
  }

  /** Extends `owner`'s lease on a Running task; false when it no longer holds it. Also returns whether a stop was asked. */
  async renew(taskId: number, owner: string, now: number, leaseMs: number): Promise<{ held: boolean; stopRequested: boolean }> {
    const res = await this.db
      .updateTable('job_tasks')
      .set({ lease_expires: now + leaseMs, update_time: now })
      .where('id', '=', taskId)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'Running')
      .executeTakeFirst();
    const row = await this.db.selectFrom('job_tasks').select('stop_requested').where('id', '=', taskId).executeTakeFirst();
    return { held: Number(res.numUpdatedRows) === 1, stopRequested: row?.stop_requested === 1 };
  }

  /**
   * Gives `owner`'s Running task back (a graceful shutdown): Pending again, the interrupted run
   * not counted, so the next start or another process runs it at once. False when the lease was
   * lost meanwhile.
   */
  async release(taskId: number, owner: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('job_tasks')
      .set((eb) => ({ status: 'Pending', lease_owner: null, lease_expires: null, run_count: eb('run_count', '-', 1), update_time: now }))
      .where('id', '=', taskId)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'Running')
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** Ends `owner`'s Running task with a final status; false when the lease was lost meanwhile. */
  async finish(taskId: number, owner: string, status: JobStatus, message: string, result: Record<string, unknown> | undefined, now: number): Promise<boolean> {
    const res = await this.db.transaction().execute(async (trx) => {
      let attrs: string | undefined;
      if (result) {
        const row = await trx.selectFrom('job_tasks').select('extra_attrs').where('id', '=', taskId).executeTakeFirst();
        attrs = JSON.stringify({ ...parseObject(row?.extra_attrs ?? '{}'), result });
      }
      const r = await trx
        .updateTable('job_tasks')
        .set({ status, status_message: message, lease_owner: null, lease_expires: null, end_time: now, update_time: now, ...(attrs === undefined ? {} : { extra_attrs: attrs }) })
        .where('id', '=', taskId)
        .where('lease_owner', '=', owner)
        .where('status', '=', 'Running')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      await this.refreshExecutionOfTask(taskId, now, trx);
      return true;
    });
    return res;
  }

  /**
   * Recomputes an execution's status from its tasks (Harbor's precedence) and closes it when final.
   * Runs in `db`'s transaction (or one of its own) holding the execution's row: on PostgreSQL two
   * tasks ending together would otherwise each count the other as still Running (neither sees the
   * other's uncommitted end) and leave the execution Running for ever. The lock makes the second
   * wait, and its count, a new statement, sees the first one's commit.
   */
  async refreshExecution(executionId: number, now: number, db: Db = this.db): Promise<void> {
    if (!db.isTransaction) return this.db.transaction().execute((trx) => this.refreshExecution(executionId, now, trx));
    if (isPostgres(db)) await db.selectFrom('job_executions').select('id').where('id', '=', executionId).forUpdate().execute();
    const counts = await this.counts(executionId, db);
    const status = counts.task_count === 0 ? undefined : executionStatus(counts);
    if (!status) return;
    const final = finalStatuses.includes(status);
    // A failed or stopped execution says why: the message of its first task that ended so.
    const why = final && status !== 'Success' ? await db.selectFrom('job_tasks').select('status_message').where('execution_id', '=', executionId).where('status', '=', status).orderBy('id').executeTakeFirst() : undefined;
    await db
      .updateTable('job_executions')
      .set({ status, status_message: why?.status_message ?? '', update_time: now, end_time: final ? now : null })
      .where('id', '=', executionId)
      .where('status', '!=', status)
      .execute();
  }

  private async refreshExecutionOfTask(taskId: number, now: number, db: Db = this.db): Promise<void> {
    const t = await db.selectFrom('job_tasks').select('execution_id').where('id', '=', taskId).executeTakeFirst();
    if (t) await this.refreshExecution(t.execution_id, now, db);
  }

  /** Per-status task counts of an execution. */
  async counts(executionId: number, db: Db = this.db): Promise<TaskCounts> {
    const rows = await db
      .selectFrom('job_tasks')
      .select((eb) => ['status', eb.fn.countAll<number>().as('n')])
      .where('execution_id', '=', executionId)
      .groupBy('status')
      .execute();
    const c: TaskCounts = { task_count: 0, pending_task_count: 0, running_task_count: 0, success_task_count: 0, error_task_count: 0, stopped_task_count: 0 };
    for (const r of rows) {
      const n = Number(r.n);
      c.task_count += n;
      if (r.status === 'Pending') c.pending_task_count += n;
      else if (r.status === 'Running') c.running_task_count += n;
      else if (r.status === 'Success') c.success_task_count += n;
      else if (r.status === 'Error') c.error_task_count += n;
      else if (r.status === 'Stopped') c.stopped_task_count += n;
    }
    return c;
  }

  /**
   * Asks an execution to stop: its Pending tasks end Stopped at once, its Running ones are
   * flagged (their worker sees the flag when it renews the lease, or at once when it is this
   * process). Returns the ids of the flagged running tasks; undefined when there is no such
   * execution. Stopping a final execution changes nothing.
   */
  async requestStop(executionId: number, now: number): Promise<number[] | undefined> {
    // Locks in the order finish() takes them, a task row before its execution's row, and the task
    // rows in id order: a stop racing a task's end (or another stop) on PostgreSQL waits instead
    // of deadlocking.
    return this.db.transaction().execute(async (trx) => {
      const e = await trx.selectFrom('job_executions').select(['id', 'status']).where('id', '=', executionId).executeTakeFirst();
      if (!e) return undefined;
      const open = await trx.selectFrom('job_tasks').select('id').where('execution_id', '=', executionId).where('status', 'in', ['Pending', 'Running']).orderBy('id').execute();
      const running: number[] = [];
      for (const { id } of open) {
        const stopped = await trx.updateTable('job_tasks').set({ status: 'Stopped', stop_requested: 1, end_time: now, update_time: now }).where('id', '=', id).where('status', '=', 'Pending').executeTakeFirst();
        if (Number(stopped.numUpdatedRows) === 1) {
          await trx.insertInto('job_task_logs').values({ task_id: id, time: now, level: 'INFO', message: 'stopped before it started' }).execute();
          continue;
        }
        const flagged = await trx.updateTable('job_tasks').set({ stop_requested: 1, update_time: now }).where('id', '=', id).where('status', '=', 'Running').executeTakeFirst();
        if (Number(flagged.numUpdatedRows) === 1) running.push(id);
      }
      await trx.updateTable('job_executions').set({ stop_requested: 1, update_time: now }).where('id', '=', executionId).execute();
      await this.refreshExecution(executionId, now, trx);
      return running;
    });
  }

  /** Appends a line to a task's log. */
  async appendLog(taskId: number, level: string, message: string, now: number): Promise<void> {
    await this.db.insertInto('job_task_logs').values({ task_id: taskId, time: now, level, message }).execute();
  }

  /** A task's log, oldest line first. */
  async log(taskId: number): Promise<JobLogLine[]> {
    return this.db.selectFrom('job_task_logs').select(['time', 'level', 'message']).where('task_id', '=', taskId).orderBy('id').execute();
  }

  /** One execution. */
  async execution(id: number): Promise<JobExecutionRow | undefined> {
    return this.db.selectFrom('job_executions').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** An execution's tasks, in order. */
  async tasks(executionId: number): Promise<JobTaskRow[]> {
    return this.db.selectFrom('job_tasks').selectAll().where('execution_id', '=', executionId).orderBy('id').execute();
  }

  /** One task. */
  async task(id: number, db: Db = this.db): Promise<JobTaskRow | undefined> {
    return db.selectFrom('job_tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Executions of a vendor type, newest first, and their total. */
  async listExecutions(vendorType: string, offset: number, limit: number, vendorId?: number): Promise<{ total: number; rows: JobExecutionRow[] }> {
    let count = this.db.selectFrom('job_executions').select((eb) => eb.fn.countAll<number>().as('n')).where('vendor_type', '=', vendorType);
    let list = this.db.selectFrom('job_executions').selectAll().where('vendor_type', '=', vendorType);
    if (vendorId !== undefined) {
      count = count.where('vendor_id', '=', vendorId);
      list = list.where('vendor_id', '=', vendorId);
    }
    const total = await count.executeTakeFirstOrThrow();
    const rows = await list.orderBy('id', 'desc').offset(offset).limit(limit).execute();
    return { total: Number(total.n), rows };
  }

  /** The ids of an execution's Pending and Running tasks; `db` may be the caller's transaction. */
  async openTaskIds(executionId: number, db: Db = this.db): Promise<number[]> {
    const rows = await db.selectFrom('job_tasks').select('id').where('execution_id', '=', executionId).where('status', 'in', ['Pending', 'Running']).orderBy('id').execute();
    return rows.map((r) => r.id);
  }

  /** Running (or Pending) tasks of a vendor type, across processes. */
  async activeTasks(vendorType?: string): Promise<JobTaskRow[]> {
    let q = this.db.selectFrom('job_tasks').selectAll().where('status', 'in', ['Pending', 'Running']);
    if (vendorType) q = q.where('vendor_type', '=', vendorType);
    return q.orderBy('id').execute();
  }

  /**
   * Deletes final executions of a vendor type older than `before`, and all but the newest `keep`
   * final ones (their tasks and logs go with them). Returns how many went.
   */
  async prune(vendorType: string, before: number, keep: number): Promise<number> {
    const old = await this.db
      .deleteFrom('job_executions')
      .where('vendor_type', '=', vendorType)
      .where('status', 'in', finalStatuses)
      .where('end_time', '<', before)
      .executeTakeFirst();
    const kept = await this.db
      .selectFrom('job_executions')
      .select('id')
      .where('vendor_type', '=', vendorType)
      .where('status', 'in', finalStatuses)
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1)
      .executeTakeFirst();
    let beyond = 0;
    if (kept) {
      const r = await this.db.deleteFrom('job_executions').where('vendor_type', '=', vendorType).where('status', 'in', finalStatuses).where('id', '<=', kept.id).executeTakeFirst();
      beyond = Number(r.numDeletedRows);
    }
    return Number(old.numDeletedRows) + beyond;
  }

  // ---- schedules -------------------------------------------------------------------------

  /** Creates or replaces the schedule of (vendorType, vendorId). */
  async putSchedule(s: { vendorType: string; vendorId: number; cronType: string; cron: string; params: Record<string, unknown>; nextRun: number }, now: number): Promise<void> {
    // One upsert: instances starting together on one database may set the same schedule at once.
    const set = { cron_type: s.cronType, cron: s.cron, params: JSON.stringify(s.params), next_run: s.nextRun, update_time: now };
    await this.db
      .insertInto('job_schedules')
      .values({ ...set, vendor_type: s.vendorType, vendor_id: s.vendorId, creation_time: now })
      .onConflict((oc) => oc.columns(['vendor_type', 'vendor_id']).doUpdateSet(set))
      .execute();
  }

  /** Removes the schedule of (vendorType, vendorId). */
  async deleteSchedule(vendorType: string, vendorId: number): Promise<void> {
    await this.db.deleteFrom('job_schedules').where('vendor_type', '=', vendorType).where('vendor_id', '=', vendorId).execute();
  }

  /** The schedule of (vendorType, vendorId). */
  async schedule(vendorType: string, vendorId: number) {
    return this.db.selectFrom('job_schedules').selectAll().where('vendor_type', '=', vendorType).where('vendor_id', '=', vendorId).executeTakeFirst();
  }

  /** Every schedule, oldest first, and their total. */
  async listSchedules(offset: number, limit: number) {
    const total = await this.db.selectFrom('job_schedules').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await this.db.selectFrom('job_schedules').selectAll().orderBy('id').offset(offset).limit(limit).execute();
    return { total: Number(total.n), rows };
  }

  /** Schedules whose next run has come. */
  async dueSchedules(now: number) {
    return this.db.selectFrom('job_schedules').selectAll().where('next_run', '<=', now).orderBy('next_run').execute();
  }

  /**
   * Takes one tick of a schedule: moves `next_run` from `expected` to `next`. True for exactly one
   * of the processes that read the same `expected`; that one starts the run.
   */
  async claimTick(id: number, expected: number, next: number, now: number): Promise<boolean> {
    const res = await this.db.updateTable('job_schedules').set({ next_run: next, update_time: now }).where('id', '=', id).where('next_run', '=', expected).executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  /** {@link claimTick} and, when this process won the tick, the execution it starts, in one transaction. */
  async fireTick(id: number, expected: number, next: number, e: NewExecution, now: number): Promise<number | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('job_schedules').set({ next_run: next, update_time: now }).where('id', '=', id).where('next_run', '=', expected).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return undefined;
      return this.insertExecution(trx, e, now);
    });
  }

  // ---- queues and workers ----------------------------------------------------------------

  /** Paused vendor types (and `all` when the scheduler is paused). */
  async pausedQueues(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('job_queues').select('vendor_type').where('paused', '=', 1).execute();
    return new Set(rows.map((r) => r.vendor_type));
  }

  /** Pauses or resumes a vendor type's queue (`all`: every queue and the scheduler). */
  async setPaused(vendorType: string, paused: boolean, now: number): Promise<void> {
    const res = await this.db.updateTable('job_queues').set({ paused: paused ? 1 : 0, update_time: now }).where('vendor_type', '=', vendorType).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) await this.db.insertInto('job_queues').values({ vendor_type: vendorType, paused: paused ? 1 : 0, update_time: now }).execute();
  }

  /** Stops every Pending task of a vendor type (a queue's `stop`); returns how many. */
  async stopPending(vendorType: string, now: number): Promise<number> {
    const rows = await this.db.selectFrom('job_tasks').select(['id', 'execution_id']).where('vendor_type', '=', vendorType).where('status', '=', 'Pending').execute();
    for (const r of rows) await this.requestStop(r.execution_id, now);
    return rows.length;
  }

  /** Records this process as a worker pool, or refreshes its heartbeat. */
  async heartbeat(w: { id: string; host: string; pid: number; concurrency: number; startTime: number }, now: number): Promise<void> {
    const res = await this.db.updateTable('job_workers').set({ heartbeat_time: now, concurrency: w.concurrency }).where('id', '=', w.id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      await this.db.insertInto('job_workers').values({ id: w.id, host: w.host, pid: w.pid, concurrency: w.concurrency, start_time: w.startTime, heartbeat_time: now }).execute();
    }
  }

  /** Removes a worker pool (on close), and pools silent since `staleBefore`. */
  async removeWorkers(id: string | undefined, staleBefore: number): Promise<void> {
    if (id) await this.db.deleteFrom('job_workers').where('id', '=', id).execute();
    await this.db.deleteFrom('job_workers').where('heartbeat_time', '<', staleBefore).execute();
  }

  /** The live worker pools. */
  async workers() {
    return this.db.selectFrom('job_workers').selectAll().orderBy('start_time').execute();
  }
}
