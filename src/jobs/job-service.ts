/**
 * The job framework: every kind of background work (GC, the audit log purge; later scans,
 * retention, replication) runs as an execution with tasks in the database (db/job-store.ts).
 *
 * - A kind of job is a {@link JobHandler} registered under its vendor type (from main.ts:
 *   `jobs/` imports no feature).
 * - Workers claim Pending tasks by lease: `lease_owner` (this process's id) and `lease_expires`,
 *   renewed every third of the lease while the task runs. A process that dies (kill -9) stops
 *   renewing; once the lease has expired any process (this one restarted, or another sharing the
 *   database) claims the task again, up to the handler's `maxRuns`, after which it ends Error with
 *   the reason in its log. A worker that finds its lease gone aborts its run and records nothing.
 *   A graceful stop (close()) aborts this process's runs and gives their tasks back as Pending.
 * - At most `concurrency` tasks of one vendor type run at once in one process; a paused queue
 *   claims nothing.
 * - A stop request flags the execution's tasks: Pending ones end Stopped at once; a Running one
 *   sees its AbortSignal fire (at once in this process, at the next renewal in another) and ends
 *   Stopped when its handler returns or throws.
 * - Schedules (6-field UTC crons) are rows with `next_run`; a due schedule fires when a process
 *   moves `next_run` forward with a conditional UPDATE, in the transaction that creates the
 *   execution: one execution per tick however many processes look. Missed ticks (the process was
 *   down) fire once.
 * - History: final executions older than `history_max_age_days`, or beyond the newest
 *   `history_max_per_type` of their vendor type, are deleted with their tasks and logs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { JobStore, parseJobAttrs, type Database, type JobExecutionRow, type JobStatus, type JobTaskRow, type JobTrigger, type TaskCounts } from '../db/index.ts';
import { fail } from '../domain/index.ts';
import { SpanKind, markSpanError, tracingActive, withSpan } from '../observability/index.ts';
import { nextRun, presetCrons, validateCron, type CronType } from './cron.ts';

/** What a running task sees. */
export interface JobContext {
  taskId: number;
  executionId: number;
  trigger: JobTrigger;
  /** The parameters the execution was started with. */
  params: Record<string, unknown>;
  /** 1 on the first run; more when the task was reclaimed after its worker died. */
  runCount: number;
  /** Fires on a stop request, a lost lease or shutdown; check it between steps. */
  signal: AbortSignal;
  /** Appends a line to the task's log. */
  log(message: string, level?: 'INFO' | 'WARNING' | 'ERROR'): Promise<void>;
}

/** A kind of job. */
export interface JobHandler {
  /** GARBAGE_COLLECTION, PURGE_AUDIT_LOG, ... */
  vendorType: string;
  /** Tasks of this type running at once in one process (default `jobs.concurrency`). */
  concurrency?: number;
  /** Runs a task may have in all, the first included (default `jobs.max_runs`). */
  maxRuns?: number;
  /** Does the work; what it returns is kept as the task's `result`. Throwing ends the task Error. */
  run(ctx: JobContext): Promise<Record<string, unknown> | void>;
}

/** The `jobs` configuration section. */
export interface JobsConfig {
  poll_ms: number;
  lease_seconds: number;
  concurrency: number;
  max_runs: number;
  history_max_age_days: number;
  history_max_per_type: number;
}

/** What the framework needs. */
export interface JobServiceDeps {
  db: Kysely<Database>;
  logger: Logger;
  config: JobsConfig;
  /** The current time in ms; default Date.now. */
  now?: () => number;
}

/** A schedule as the API shows it. */
export interface ScheduleView {
  id: number;
  vendorType: string;
  vendorId: number;
  type: CronType;
  cron: string;
  params: Record<string, unknown>;
  nextRun: number;
  creationTime: number;
  updateTime: number;
}

/** An execution with its task counts. */
export interface ExecutionView extends JobExecutionRow {
  metrics: TaskCounts;
}

/** How a run in this process ended: its status, message and what the handler returned. */
export interface Outcome {
  /** Pending (shutdown) or Running (lost lease) when it was interrupted: another run will finish it. */
  status: JobStatus;
  message: string;
  value: unknown;
}

interface Running {
  task: JobTaskRow;
  controller: AbortController;
  /** Why the signal fired. */
  reason?: 'stop' | 'lease' | 'shutdown';
  done: Promise<void>;
}

/** The schedule types Harbor accepts with a cron. */
export const cronTypes: readonly CronType[] = ['Hourly', 'Daily', 'Weekly', 'Custom'];

/** Runs registered kinds of jobs; start() begins claiming and scheduling, stop() ends it. */
export class JobService {
  readonly store: JobStore;
  /** This process's worker id: the lease owner of the tasks it runs. */
  readonly workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly running = new Map<number, Running>();
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private started = false;
  private readonly now: () => number;

  constructor(private readonly deps: JobServiceDeps) {
    this.store = new JobStore(deps.db);
    this.now = deps.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Adds a kind of job. Call before start(). */
  register(handler: JobHandler): void {
    if (this.handlers.has(handler.vendorType)) throw new Error(`job type ${handler.vendorType} is registered twice`);
    this.handlers.set(handler.vendorType, handler);
  }

  /** The registered vendor types. */
  vendorTypes(): string[] {
    return [...this.handlers.keys()];
  }

  private get leaseMs(): number {
    return this.deps.config.lease_seconds * 1000;
  }

  private concurrencyOf(h: JobHandler): number {
    return h.concurrency ?? this.deps.config.concurrency;
  }

  /** Total concurrency of this process (all types). */
  concurrency(): number {
    let n = 0;
    for (const h of this.handlers.values()) n += this.concurrencyOf(h);
    return n;
  }

  /** Starts claiming tasks and firing schedules; prunes history once. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.heartbeat();
    await this.prune();
    this.wake();
  }

  /** Stops claiming, aborts this process's running tasks (given back as Pending) and waits for them. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    for (const r of this.running.values()) {
      r.reason ??= 'shutdown';
      r.controller.abort(new Error('shutting down'));
    }
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.store.removeWorkers(this.workerId, this.now() - 10 * this.leaseMs).catch(() => undefined);
  }

  /** Runs a claim/schedule pass soon. */
  wake(): void {
    if (!this.started) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.ticking = this.tick()
      .catch((err: unknown) => this.deps.logger.error({ err }, 'jobs: a claim pass failed'))
      .finally(() => {
        this.ticking = undefined;
        if (!this.started) return;
        if (this.again) {
          this.again = false;
          this.wake();
        } else {
          this.timer = setTimeout(() => this.wake(), this.deps.config.poll_ms);
          this.timer.unref();
        }
      });
  }

  /** Runs one claim and schedule pass now and waits for it (the timer runs them otherwise). */
  async runOnce(): Promise<void> {
    while (this.ticking) await this.ticking;
    await this.tick();
  }

  /** Resolves once no task runs in this process. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private async heartbeat(): Promise<void> {
    await this.store.heartbeat({ id: this.workerId, host: hostname(), pid: process.pid, concurrency: this.concurrency(), startTime: this.startedAt }, this.now());
  }

  private async tick(): Promise<void> {
    await this.heartbeat();
    const paused = await this.store.pausedQueues();
    if (!paused.has('all')) await this.fireSchedules();
    for (const h of this.handlers.values()) {
      if (paused.has(h.vendorType) || paused.has('all')) continue;
      let active = [...this.running.values()].filter((r) => r.task.vendor_type === h.vendorType).length;
      while (active < this.concurrencyOf(h)) {
        const task = await this.store.claim(h.vendorType, this.workerId, this.now(), this.leaseMs);
        if (!task) break;
        active++;
        this.launch(h, task);
      }
    }
  }

  private async fireSchedules(): Promise<void> {
    const now = this.now();
    for (const s of await this.store.dueSchedules(now)) {
      const h = this.handlers.get(s.vendor_type);
      if (!h) continue; // a kind this process does not run: a process that does fires it
      let next: number;
      try {
        next = nextRun(s.cron, now);
      } catch (err) {
        this.deps.logger.error({ err, schedule: s.id }, 'jobs: a stored schedule has an invalid cron');
        continue;
      }
      const params = parseJobAttrs(s.params);
      const id = await this.store.fireTick(s.id, s.next_run, next, this.newExecution(h, 'SCHEDULE', params, s.vendor_id), now);
      if (id !== undefined) this.deps.logger.info({ vendor_type: s.vendor_type, execution_id: id, next_run: new Date(next).toISOString() }, 'jobs: a schedule fired');
    }
  }

  private newExecution(h: JobHandler, trigger: JobTrigger, params: Record<string, unknown>, vendorId: number) {
    return { vendorType: h.vendorType, vendorId, trigger, extraAttrs: { parameters: params }, tasks: [params], maxRuns: h.maxRuns ?? this.deps.config.max_runs };
  }

  private launch(h: JobHandler, task: JobTaskRow): Promise<Outcome> {
    const controller = new AbortController();
    const entry: Running = { task, controller, done: Promise.resolve() };
    this.running.set(task.id, entry);
    const outcome = (tracingActive() ? this.tracedExecute(h, entry) : this.execute(h, entry)).finally(() => {
      this.running.delete(task.id);
      this.wake();
    });
    entry.done = outcome.then(() => undefined);
    return outcome;
  }

  /**
   * Runs one execution of a registered kind in this process, now, whether or not start() was
   * called (the `wharf gc` command), and returns how it ended with the handler's own return value.
   */
  async runHere(vendorType: string, trigger: JobTrigger, params: Record<string, unknown>): Promise<Outcome & { executionId: number }> {
    const h = this.handlers.get(vendorType);
    if (!h) throw fail('BAD_REQUEST', `unknown job type ${vendorType}`);
    // Created claimed by this worker: another worker (this process's loop, another instance) woken
    // by the new execution cannot take its task between the insert and the claim.
    const executionId = await this.store.createExecution(this.newExecution(h, trigger, params, 0), this.now(), { owner: this.workerId, leaseMs: this.leaseMs });
    const [task] = await this.store.tasks(executionId);
    if (!task) throw new Error(`the execution ${executionId} has no task`);
    return { executionId, ...(await this.launch(h, task)) };
  }

  /** A task run in a span `job.run` (with tracing on): kind, execution and task ids, run count, the status it ended with. */
  private tracedExecute(h: JobHandler, r: Running): Promise<Outcome> {
    const { task } = r;
    const attributes = { 'wharf.job.vendor_type': task.vendor_type, 'wharf.job.execution_id': task.execution_id, 'wharf.job.task_id': task.id, 'wharf.job.run': task.run_count };
    return withSpan('job.run', { kind: SpanKind.INTERNAL, attributes }, async (span) => {
      const out = await this.execute(h, r);
      span?.setAttribute('wharf.job.status', out.status);
      if (span && out.status === 'Error') markSpanError(span, out.message);
      return out;
    }) as Promise<Outcome>;
  }

  private async execute(h: JobHandler, r: Running): Promise<Outcome> {
    const { task, controller } = r;
    const log = async (message: string, level: 'INFO' | 'WARNING' | 'ERROR' = 'INFO') => {
      await this.store.appendLog(task.id, level, message, this.now());
    };
    const renewEvery = Math.max(50, Math.floor(this.leaseMs / 3));
    const renewal = setInterval(() => {
      this.store.renew(task.id, this.workerId, this.now(), this.leaseMs).then(
        ({ held, stopRequested }) => {
          if (!held) {
            r.reason ??= 'lease';
            controller.abort(new Error('the lease on this task was lost'));
          } else if (stopRequested) {
            r.reason ??= 'stop';
            controller.abort(new Error('stopped by request'));
          }
        },
        (err: unknown) => this.deps.logger.warn({ err, task_id: task.id }, 'jobs: could not renew a lease'),
      );
    }, renewEvery);
    renewal.unref();
    const execution = await this.store.execution(task.execution_id);
    let status: JobStatus = 'Success';
    let message = '';
    let result: Record<string, unknown> | undefined;
    let value: unknown;
    try {
      if (task.stop_requested === 1) {
        r.reason = 'stop';
        controller.abort(new Error('stopped by request'));
      }
      await log(`${task.vendor_type} task ${task.id} of execution ${task.execution_id} starts (run ${task.run_count} of ${task.max_runs}) on ${this.workerId}`);
      const out = await h.run({
        taskId: task.id,
        executionId: task.execution_id,
        trigger: (execution?.trigger ?? 'MANUAL') as JobTrigger, // written by this module from the JobTrigger type
        params: parseJobAttrs(task.extra_attrs),
        runCount: task.run_count,
        signal: controller.signal,
        log,
      });
      value = out;
      result = out ?? undefined;
      if (r.reason === 'stop') {
        status = 'Stopped';
        message = 'stopped by request';
      }
    } catch (err) {
      if (r.reason === 'stop') {
        status = 'Stopped';
        message = 'stopped by request';
      } else {
        status = 'Error';
        message = err instanceof Error ? err.message : String(err);
      }
    } finally {
      clearInterval(renewal);
    }
    if (r.reason === 'lease' || r.reason === 'shutdown') {
      // A lost lease is not ours to record (another worker has the task); a shutdown gives it back.
      this.deps.logger.warn({ task_id: task.id, reason: r.reason }, 'jobs: a task was interrupted; it will be claimed again');
      if (r.reason === 'shutdown') {
        try {
          if (await this.store.release(task.id, this.workerId, this.now())) await log('interrupted by a shutdown; the task is Pending again and runs at the next start', 'WARNING');
        } catch (err) {
          this.deps.logger.warn({ err, task_id: task.id }, 'jobs: could not give a task back; it is claimed again once its lease expires');
        }
      }
      return { status: r.reason === 'shutdown' ? 'Pending' : 'Running', message: `interrupted (${r.reason})`, value: undefined };
    }
    try {
      if (status === 'Stopped') await log('stopped by request');
      else if (status === 'Error') await log(`failed: ${message}`, 'ERROR');
      else await log('finished: Success');
      await this.store.finish(task.id, this.workerId, status, message, result, this.now());
      await this.pruneType(task.vendor_type);
    } catch (err) {
      this.deps.logger.error({ err, task_id: task.id }, 'jobs: could not record the end of a task');
    }
    return { status, message, value };
  }

  /** Deletes old history of every registered type. */
  async prune(): Promise<void> {
    for (const t of this.handlers.keys()) await this.pruneType(t);
  }

  private async pruneType(vendorType: string): Promise<void> {
    const c = this.deps.config;
    await this.store.prune(vendorType, this.now() - c.history_max_age_days * 86_400_000, c.history_max_per_type);
  }

  // ---- what the API calls ------------------------------------------------------------------

  /** Starts an execution of a registered kind; returns its id. */
  async submit(vendorType: string, trigger: JobTrigger, params: Record<string, unknown>, vendorId = 0): Promise<number> {
    const h = this.handlers.get(vendorType);
    if (!h) throw fail('BAD_REQUEST', `unknown job type ${vendorType}`);
    const id = await this.store.createExecution(this.newExecution(h, trigger, params, vendorId), this.now());
    this.wake();
    return id;
  }

  /**
   * Creates an execution of a registered kind with one task per entry of `tasks` inside the
   * caller's transaction (see JobStore.createExecutionIn); call {@link wake} after the commit.
   */
  async createExecutionIn(trx: Transaction<Database>, vendorType: string, trigger: JobTrigger, e: { tasks: Array<Record<string, unknown>>; extraAttrs?: Record<string, unknown>; vendorId?: number; statusMessage?: string; emptyStatus?: 'Success' | 'Error' }): Promise<{ executionId: number; taskIds: number[] }> {
    const h = this.handlers.get(vendorType);
    if (!h) throw fail('BAD_REQUEST', `unknown job type ${vendorType}`);
    return this.store.createExecutionIn(trx, { vendorType, vendorId: e.vendorId ?? 0, trigger, extraAttrs: e.extraAttrs ?? {}, tasks: e.tasks, maxRuns: h.maxRuns ?? this.deps.config.max_runs, statusMessage: e.statusMessage, emptyStatus: e.emptyStatus }, this.now());
  }

  /**
   * Adds Pending tasks to a Running execution inside `trx` (see JobStore.addTasksIn); null when
   * the execution is final or being stopped. Call {@link wake} after the commit.
   */
  async addTasksIn(trx: Transaction<Database>, executionId: number, vendorType: string, tasks: Array<Record<string, unknown>>): Promise<number[] | null> {
    const h = this.handlers.get(vendorType);
    if (!h) throw fail('BAD_REQUEST', `unknown job type ${vendorType}`);
    return this.store.addTasksIn(trx, executionId, vendorType, tasks, h.maxRuns ?? this.deps.config.max_runs, this.now());
  }

  /**
   * Deletes the final executions of (vendorType, vendorId) with their tasks and logs, in one
   * transaction (`trx` when given); open ones stay. Returns the deleted executions' ids.
   */
  async deleteFinalExecutions(vendorType: string, vendorId: number, trx?: Transaction<Database>): Promise<number[]> {
    return this.store.deleteFinalExecutions(vendorType, vendorId, trx);
  }

  /** One task's log as text, one line per entry. */
  async taskLogText(taskId: number): Promise<string> {
    const lines = (await this.store.log(taskId)).map((l) => `${new Date(l.time).toISOString()} [${l.level}] ${l.message}`);
    return lines.length ? lines.join('\n') + '\n' : '';
  }

  /** Waits until an execution is final (polling the database, so it works whichever process runs it). */
  async waitFor(executionId: number, pollMs = 100): Promise<ExecutionView> {
    for (;;) {
      const e = await this.execution(executionId);
      if (!e) throw fail('NOT_FOUND', `execution ${executionId} not found`);
      if (e.status === 'Success' || e.status === 'Error' || e.status === 'Stopped') return e;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /** One execution with its counts. */
  async execution(id: number): Promise<ExecutionView | undefined> {
    const e = await this.store.execution(id);
    return e ? { ...e, metrics: await this.store.counts(id) } : undefined;
  }

  /** Executions of a type, newest first. */
  async executions(vendorType: string, offset: number, limit: number, vendorId?: number): Promise<{ total: number; rows: ExecutionView[] }> {
    const { total, rows } = await this.store.listExecutions(vendorType, offset, limit, vendorId);
    return { total, rows: await Promise.all(rows.map(async (e) => ({ ...e, metrics: await this.store.counts(e.id) }))) };
  }

  /** An execution's tasks. */
  async tasks(executionId: number): Promise<JobTaskRow[]> {
    return this.store.tasks(executionId);
  }

  /** The log of an execution's tasks as text, one line per entry. */
  async logText(executionId: number): Promise<string> {
    const lines: string[] = [];
    for (const t of await this.store.tasks(executionId)) {
      for (const l of await this.store.log(t.id)) lines.push(`${new Date(l.time).toISOString()} [${l.level}] ${l.message}`);
    }
    return lines.length ? lines.join('\n') + '\n' : '';
  }

  /** Asks an execution to stop; false when there is no such execution. Idempotent. */
  async stopExecution(id: number): Promise<boolean> {
    const running = await this.store.requestStop(id, this.now());
    if (!running) return false;
    for (const taskId of running) {
      const r = this.running.get(taskId);
      if (r) {
        r.reason ??= 'stop';
        r.controller.abort(new Error('stopped by request'));
      }
    }
    return true;
  }

  /** Stops the execution of a task (`/jobservice/jobs/{job_id}`); false when there is no such task. */
  async stopTask(taskId: number): Promise<boolean> {
    const t = await this.store.task(taskId);
    return t ? this.stopExecution(t.execution_id) : false;
  }

  /**
   * Sets (Hourly/Daily/Weekly/Custom) the schedule of a kind of job; validates the cron. The first
   * run is the cron's next firing, or `firstRun` (ms; `Date.now()`: at the next pass).
   */
  async setSchedule(vendorType: string, type: CronType, cron: string | undefined, params: Record<string, unknown>, vendorId = 0, firstRun?: number): Promise<ScheduleView> {
    if (!this.handlers.has(vendorType)) throw fail('BAD_REQUEST', `unknown job type ${vendorType}`);
    const c = type === 'Custom' ? (cron ?? '') : presetCrons[type];
    validateCron(c);
    await this.store.putSchedule({ vendorType, vendorId, cronType: type, cron: c, params, nextRun: firstRun ?? nextRun(c, this.now()) }, this.now());
    const s = await this.schedule(vendorType, vendorId);
    if (!s) throw new Error('the schedule just written is not there');
    return s;
  }

  /** Removes a schedule (type None). */
  async removeSchedule(vendorType: string, vendorId = 0): Promise<void> {
    await this.store.deleteSchedule(vendorType, vendorId);
  }

  /** The schedule of a kind of job, if any. */
  async schedule(vendorType: string, vendorId = 0): Promise<ScheduleView | undefined> {
    const s = await this.store.schedule(vendorType, vendorId);
    return s ? this.scheduleView(s) : undefined;
  }

  private scheduleView(s: NonNullable<Awaited<ReturnType<JobStore['schedule']>>>): ScheduleView {
    const type = cronTypes.find((t) => t === s.cron_type) ?? 'Custom';
    return { id: s.id, vendorType: s.vendor_type, vendorId: s.vendor_id, type, cron: s.cron, params: parseJobAttrs(s.params), nextRun: s.next_run, creationTime: s.creation_time, updateTime: s.update_time };
  }

  /** Every schedule. */
  async schedules(offset: number, limit: number): Promise<{ total: number; rows: ScheduleView[] }> {
    const { total, rows } = await this.store.listSchedules(offset, limit);
    return { total, rows: rows.map((s) => this.scheduleView(s)) };
  }

  /** Whether a queue (`all`: the scheduler and every queue) is paused. */
  async isPaused(vendorType: string): Promise<boolean> {
    return (await this.store.pausedQueues()).has(vendorType);
  }

  /** Harbor's queue actions: pause, resume, or stop (pending tasks end Stopped, and running ones are asked to stop). */
  async queueAction(vendorType: string, action: 'stop' | 'pause' | 'resume'): Promise<void> {
    const types = vendorType === 'all' ? this.vendorTypes() : [vendorType];
    if (action === 'stop') {
      for (const t of types) {
        for (const task of await this.store.activeTasks(t)) await this.stopExecution(task.execution_id);
      }
      return;
    }
    await this.store.setPaused(vendorType, action === 'pause', this.now());
    if (action === 'resume') this.wake();
  }

  /** Queues: per registered type, pending tasks and the age of the oldest (seconds). */
  async queues(): Promise<Array<{ job_type: string; count: number; latency: number; paused: boolean }>> {
    const paused = await this.store.pausedQueues();
    const now = this.now();
    const out = [];
    for (const t of this.vendorTypes()) {
      const pending = (await this.store.activeTasks(t)).filter((x) => x.status === 'Pending');
      const oldest = pending.reduce((m, x) => Math.min(m, x.creation_time), now);
      out.push({ job_type: t, count: pending.length, latency: Math.floor((now - oldest) / 1000), paused: paused.has(t) || paused.has('all') });
    }
    return out;
  }

  /** Worker pools: the processes running jobs (heartbeat within ten leases). */
  async pools() {
    const stale = this.now() - 10 * this.leaseMs;
    return (await this.store.workers()).filter((w) => w.heartbeat_time >= stale);
  }

  /** Tasks running in a pool, from the database (any process). */
  async poolTasks(poolId: string | undefined): Promise<JobTaskRow[]> {
    const active = (await this.store.activeTasks()).filter((t) => t.status === 'Running');
    return poolId === undefined ? active : active.filter((t) => t.lease_owner === poolId);
  }
}
