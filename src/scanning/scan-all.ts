/**
 * Harbor's scan all (the reference §1.5): one SCAN_ALL execution walks every artifact in batches
 * of `scanning.scan_all_batch` and submits a vulnerability scan of each (never an SBOM); the next
 * batch starts only when the scans of the previous one are final, and IMAGE_SCAN tasks run at most
 * `scanning.concurrency` at once per process, so the adapter is never sent more than that. Each
 * scan's execution carries the SCAN_ALL execution's id as its vendor id (a stop ends them at once)
 * and its reports carry it as `scan_all_id` (the metrics count their scans by status: the job
 * history is pruned, the reports are not); a stopped Pending task ends Stopped at once, a Running one
 * is signalled. The task's
 * result is Harbor's `extra_attrs.summary` (`total_count`, `submit_count`, `conflict_count`,
 * `precondition_count`, `unsupport_count`, `unknow_count`). Scheduled runs have Harbor's operator
 * `harbor-jobservice`. A run reclaimed after a crash starts the walk again (running scans answer 409).
 */
import type { Kysely } from 'kysely';
import type { Authorizer, CallContext } from '../auth/index.ts';
import { defaultScanner, type Database } from '../db/index.ts';
import { fail, isDomainError, isJsonObject } from '../domain/index.ts';
import { cronTypes, type CronType, type JobContext, type JobService } from '../jobs/index.ts';
import { IMAGE_SCAN, type ScanService } from './scan-service.ts';

/** The vendor type of scan-all executions. */
export const SCAN_ALL = 'SCAN_ALL';
/** Harbor's operator of scheduled scan-all runs. */
export const scanAllScheduleOperator = 'harbor-jobservice';

/** What scan all needs. */
export interface ScanAllDeps {
  db: Kysely<Database>;
  jobs: JobService;
  scans: ScanService;
  authorizer: Authorizer;
  batchSize: number;
  /** How often a batch's scans are checked, ms (default 500). */
  pollMs?: number;
}

/** Harbor's `extra_attrs.summary` of a scan-all run. */
export interface ScanAllSummary {
  total_count: number;
  submit_count: number;
  conflict_count: number;
  precondition_count: number;
  unsupport_count: number;
  unknow_count: number;
}

function iso(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString();
}

const triggerNames: Record<string, string> = { MANUAL: 'Manual', SCHEDULE: 'Schedule', EVENT: 'Event' };

/** Parses `{"schedule":{"type","cron"}}`. */
function parseSchedule(body: unknown): { type: CronType | 'Manual' | 'None'; cron?: string } {
  const s = isJsonObject(body) ? body.schedule : undefined;
  const type = isJsonObject(s) ? s.type : undefined;
  const cron = isJsonObject(s) && typeof s.cron === 'string' ? s.cron : undefined;
  if (type === 'Manual' || type === 'None') return { type, cron };
  if (type === 'Schedule') return { type: 'Custom', cron };
  const t = cronTypes.find((c) => c === type);
  if (!t) throw fail('BAD_REQUEST', `invalid schedule type ${JSON.stringify(type ?? null)}: one of Hourly, Daily, Weekly, Custom, Manual, None`);
  if (t === 'Custom' && !cron) throw fail('BAD_REQUEST', 'schedule.cron is required for a Custom schedule');
  return { type: t, cron };
}

/** Scan all: the job and Harbor's /system/scanAll and /scans/all/metrics. */
export class ScanAll {
  constructor(private readonly deps: ScanAllDeps) {}

  /** The SCAN_ALL job handler (one run at a time per process). */
  handler() {
    return { vendorType: SCAN_ALL, concurrency: 1, run: (ctx: JobContext) => this.run(ctx) };
  }

  private async run(ctx: JobContext): Promise<Record<string, unknown>> {
    const { jobs, scans } = this.deps;
    const operator = ctx.trigger === 'SCHEDULE' ? scanAllScheduleOperator : String(ctx.params.operator ?? '');
    const summary: ScanAllSummary = { total_count: 0, submit_count: 0, conflict_count: 0, precondition_count: 0, unsupport_count: 0, unknow_count: 0 };
    const stopChildren = async () => {
      for (const id of await jobs.store.openExecutionsByVendor(IMAGE_SCAN, ctx.executionId)) await scans.stopExecution(id);
    };
    let after = 0;
    try {
      for (;;) {
        if (ctx.signal.aborted) throw new Error('scan all was interrupted');
        const batch = await scans.store.artifactsAfter(after, this.deps.batchSize);
        if (batch.length === 0) break;
        for (const rec of batch) {
          if (ctx.signal.aborted) throw new Error('scan all was interrupted');
          after = rec.id;
          summary.total_count++;
          try {
            await scans.submit({ root: rec, tag: null, scanType: 'vulnerability', trigger: ctx.trigger, operator, vendorId: ctx.executionId });
            summary.submit_count++;
          } catch (err) {
            if (isDomainError(err, 'CONFLICT')) summary.conflict_count++;
            else if (isDomainError(err, 'PRECONDITION_FAILED')) summary.precondition_count++;
            else if (isDomainError(err, 'BAD_REQUEST')) summary.unsupport_count++;
            else {
              summary.unknow_count++;
              await ctx.log(`${rec.repository}@${rec.digest}: ${err instanceof Error ? err.message : String(err)}`, 'WARNING');
            }
          }
        }
        await ctx.log(`submitted ${summary.submit_count} of ${summary.total_count} artifacts so far; waiting for this batch's scans`);
        while ((await jobs.store.openExecutionsByVendor(IMAGE_SCAN, ctx.executionId)).length > 0) {
          if (ctx.signal.aborted) throw new Error('scan all was interrupted');
          await new Promise<void>((resolve) => {
            const t = setTimeout(done, this.deps.pollMs ?? 500);
            function done() {
              clearTimeout(t);
              ctx.signal.removeEventListener('abort', done);
              resolve();
            }
            ctx.signal.addEventListener('abort', done, { once: true });
          });
        }
      }
    } catch (err) {
      const t = await jobs.store.task(ctx.taskId);
      if (t?.stop_requested === 1) {
        await stopChildren();
        await ctx.log(`stopped by request: ${JSON.stringify(summary)}`);
      }
      throw err;
    }
    await ctx.log(`done: ${JSON.stringify(summary)}`);
    return { summary };
  }

  private admin(ctx: CallContext): void {
    this.deps.authorizer.check(ctx.actor, 'admin');
  }

  private async requireScanner(): Promise<void> {
    if (!(await defaultScanner(this.deps.db))) throw fail('PRECONDITION_FAILED', "no scanner is configured, it's not possible to scan");
  }

  /** GET /system/scanAll/schedule: the schedule, `{}` when there is none. */
  async getSchedule(ctx: CallContext): Promise<Record<string, unknown>> {
    this.admin(ctx);
    const s = await this.deps.jobs.schedule(SCAN_ALL);
    if (!s) return {};
    const last = (await this.deps.jobs.executions(SCAN_ALL, 0, 1)).rows[0];
    return {
      id: s.id,
      status: last?.status ?? '',
      creation_time: iso(s.creationTime),
      update_time: iso(s.updateTime),
      schedule: { type: s.type, cron: s.cron, next_scheduled_time: iso(s.nextRun) },
      parameters: {},
    };
  }

  /** POST (`create`) or PUT /system/scanAll/schedule. Returns the id of a Manual run started. */
  async setSchedule(ctx: CallContext, body: unknown, create: boolean): Promise<number | null> {
    this.admin(ctx);
    const s = parseSchedule(body);
    const { jobs } = this.deps;
    if (s.type === 'Manual') {
      if (!create) throw fail('BAD_REQUEST', 'a Manual scan all is started with POST, not scheduled with PUT');
      await this.requireScanner();
      const open = await jobs.store.activeTasks(SCAN_ALL);
      if (open.length > 0) throw fail('CONFLICT', `a previous scan all job aleady exits, its status is Running`);
      return jobs.submit(SCAN_ALL, 'MANUAL', { operator: ctx.actor.username });
    }
    if (s.type === 'None') {
      if (!create) await jobs.removeSchedule(SCAN_ALL);
      return null;
    }
    await this.requireScanner();
    if (create && (await jobs.schedule(SCAN_ALL))) throw fail('PRECONDITION_FAILED', 'fail to set schedule for scan all as always had one, please delete it firstly then to re-schedule');
    await jobs.setSchedule(SCAN_ALL, s.type, s.cron, {});
    return null;
  }

  /** POST /system/scanAll/stop: stops the running scan all and its scans at once. */
  async stop(ctx: CallContext): Promise<void> {
    this.admin(ctx);
    const { jobs, scans } = this.deps;
    const open = [...new Set((await jobs.store.activeTasks(SCAN_ALL)).map((t) => t.execution_id))];
    if (open.length === 0) throw fail('BAD_REQUEST', 'no scan all job is found currently');
    for (const id of open) {
      await jobs.stopExecution(id);
      for (const child of await jobs.store.openExecutionsByVendor(IMAGE_SCAN, id)) await scans.stopExecution(child);
    }
  }

  /** GET /scans/all/metrics (and the deprecated /scans/schedule/metrics). */
  async metrics(ctx: CallContext): Promise<Record<string, unknown>> {
    this.admin(ctx);
    const { jobs } = this.deps;
    const e = (await jobs.executions(SCAN_ALL, 0, 1)).rows[0];
    if (!e) return { total: 0, completed: 0, metrics: {}, ongoing: false };
    const c = await this.deps.scans.store.scanAllCounts(e.id);
    const n = (k: string) => c[k] ?? 0;
    const metrics = { Pending: n('Pending'), Running: n('Running'), Success: n('Success'), Error: n('Error'), Stopped: n('Stopped') };
    const total = Object.values(metrics).reduce((a, b) => a + b, 0);
    const completed = metrics.Success + metrics.Error + metrics.Stopped;
    const final = e.status === 'Success' || e.status === 'Error' || e.status === 'Stopped';
    return {
      total,
      completed,
      metrics,
      ongoing: !final || total !== completed,
      trigger: triggerNames[e.trigger] ?? e.trigger,
    };
  }
}
