/**
 * Harbor's views over the job framework (src/jobs/), system admins only:
 *
 *   GET  /system/gc                    GC history, newest first (paging)       (GARBAGE_COLLECTION)
 *   GET  /system/gc/{gc_id}            one run
 *   GET  /system/gc/{gc_id}/log        its log, text/plain
 *   PUT  /system/gc/{gc_id}            stop it
 *   GET  /system/gc/schedule           the schedule ({} when none)
 *   POST /system/gc/schedule           Manual: run now (201, Location); Hourly/Daily/Weekly/Custom: schedule; None: unschedule
 *   PUT  /system/gc/schedule           the same, answered 200
 *   ... and the same for /system/purgeaudit                                   (PURGE_AUDIT_LOG)
 *   GET  /schedules                    every schedule (paging)
 *   GET  /schedules/{job_type}/paused  {"paused": bool}; job_type must be `all`
 *   GET  /jobservice/pools             the processes running jobs
 *   GET  /jobservice/pools/{id}/workers  their task slots (`all`: every pool)
 *   GET  /jobservice/queues            per job type: pending tasks, latency, paused
 *   PUT  /jobservice/queues/{job_type} {"action":"stop|pause|resume"} (`all`: every type)
 *   PUT  /jobservice/jobs/{job_id}     {"action":"stop"}: stop a task's execution
 *   GET  /jobservice/jobs/{job_id}/log a task's log
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer } from '../../auth/index.ts';
import { fail, isJsonObject } from '../../domain/index.ts';
import { cronTypes, type CronType, type ExecutionView, type JobService, type ScheduleView } from '../../jobs/index.ts';
import { callContext } from './context.ts';
import { parsePaging, setPageHeaders } from './paging.ts';

/** What these routes need. */
export interface JobRoutesDeps {
  jobs: JobService;
  authorizer: Authorizer;
}

type Params = Record<string, unknown>;

/** One of Harbor's system jobs with a history and a schedule. */
interface SystemJob {
  path: string;
  vendorType: string;
  noun: string;
  /** Parses and checks the request's `parameters`, returning what the job gets. */
  parameters(raw: unknown): Params;
  /** Wharf's `report` extension from what the job returned. */
  report(result: Record<string, unknown>): Record<string, unknown>;
}

function boolParam(p: Record<string, unknown>, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw fail('BAD_REQUEST', `parameters.${key} must be a boolean`);
}

const gcJob: SystemJob = {
  path: 'gc',
  vendorType: 'GARBAGE_COLLECTION',
  noun: 'garbage collection',
  parameters(raw) {
    const p = isJsonObject(raw) ? raw : {};
    const out: Params = { delete_untagged: boolParam(p, 'delete_untagged') ?? false, dry_run: boolParam(p, 'dry_run') ?? false };
    if (p.workers !== undefined) out.workers = p.workers;
    return out;
  },
  report: (r) => ({
    blobs_deleted: r.blobsDeleted,
    bytes_freed: r.bytesFreed,
    uploads_deleted: r.uploadsDeleted,
    links_deleted: r.linksDeleted,
    artifacts_deleted: r.artifactsDeleted,
    dry_run: r.dryRun,
  }),
};

const purgeJob: SystemJob = {
  path: 'purgeaudit',
  vendorType: 'PURGE_AUDIT_LOG',
  noun: 'audit log purge',
  parameters(raw) {
    const p = isJsonObject(raw) ? raw : {};
    const out: Params = { dry_run: boolParam(p, 'dry_run') ?? false };
    const hours = p.audit_retention_hour;
    if (hours !== undefined) {
      const n = typeof hours === 'string' && /^[0-9]+$/.test(hours) ? Number(hours) : hours;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw fail('BAD_REQUEST', 'parameters.audit_retention_hour must be a non-negative integer');
      out.audit_retention_hour = n;
    }
    const types = p.include_event_types;
    if (types !== undefined) {
      if (typeof types !== 'string') throw fail('BAD_REQUEST', 'parameters.include_event_types must be a comma-separated string');
      out.include_event_types = types;
    }
    return out;
  },
  report: (r) => ({ deleted: r.deleted, dry_run: r.dryRun }),
};

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

function scheduleObj(s: ScheduleView | undefined) {
  return s ? { type: s.type, cron: s.cron, next_scheduled_time: iso(s.nextRun) } : null;
}

function parametersOf(e: ExecutionView): Params {
  try {
    const attrs: unknown = JSON.parse(e.extra_attrs);
    return isJsonObject(attrs) && isJsonObject(attrs.parameters) ? attrs.parameters : {};
  } catch {
    return {};
  }
}

/** Harbor's GCHistory / ExecHistory for an execution, plus Wharf's `report` and `error`. */
function historyView(job: SystemJob, e: ExecutionView, schedule: ScheduleView | undefined, result: unknown) {
  return {
    id: e.id,
    job_name: job.vendorType,
    job_kind: e.trigger === 'SCHEDULE' ? 'SCHEDULE' : 'MANUAL',
    job_parameters: JSON.stringify(parametersOf(e)),
    // Harbor always sends a ScheduleObj: the trigger as its type ("Manual" for a run started by hand).
    schedule: e.trigger === 'SCHEDULE' ? (scheduleObj(schedule) ?? { type: 'Schedule', cron: '' }) : { type: 'Manual', cron: '' },
    job_status: e.status,
    deleted: false,
    creation_time: iso(e.start_time),
    update_time: iso(e.update_time),
    /** Wharf extension: what the run did, once it succeeded (GC: blobs and bytes freed). */
    report: e.status === 'Success' && isJsonObject(result) ? job.report(result) : null,
    /** Wharf extension: why the run failed or stopped. */
    error: e.status_message || null,
  };
}

function parseId(raw: string, what: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid ${what} id ${raw}`);
  return Number(raw);
}

/** The `schedule` object of a schedule request. */
function parseScheduleBody(body: unknown): { type: CronType | 'Manual' | 'None'; cron?: string; parameters: unknown } {
  const schedule = isJsonObject(body) ? body.schedule : undefined;
  const type = isJsonObject(schedule) ? schedule.type : undefined;
  if (type === undefined) throw fail('BAD_REQUEST', 'schedule.type is required, e.g. {"schedule":{"type":"Manual"}}');
  const cron = isJsonObject(schedule) && typeof schedule.cron === 'string' ? schedule.cron : undefined;
  const parameters = isJsonObject(body) ? body.parameters : undefined;
  if (type === 'Manual' || type === 'None') return { type, cron, parameters };
  if (type === 'Schedule') return { type: 'Custom', cron, parameters };
  const t = cronTypes.find((c) => c === type);
  if (!t) throw fail('BAD_REQUEST', `invalid schedule type ${JSON.stringify(type)}: one of Hourly, Daily, Weekly, Custom, Manual, None, Schedule`);
  if (t === 'Custom' && !cron) throw fail('BAD_REQUEST', 'schedule.cron is required for a Custom schedule');
  return { type: t, cron, parameters };
}

/** The routes. */
export function jobRoutes(deps: JobRoutesDeps) {
  const { jobs } = deps;
  const admin = (req: FastifyRequest) => deps.authorizer.check(callContext(req).actor, 'admin');

  async function findExecution(job: SystemJob, raw: string): Promise<ExecutionView> {
    const e = await jobs.execution(parseId(raw, job.noun));
    if (!e || e.vendor_type !== job.vendorType) throw fail('NOT_FOUND', `${job.noun} ${raw} not found`);
    return e;
  }

  async function resultOf(e: ExecutionView): Promise<unknown> {
    const [task] = await jobs.tasks(e.id);
    if (!task) return null;
    try {
      const attrs: unknown = JSON.parse(task.extra_attrs);
      return isJsonObject(attrs) ? (attrs.result ?? null) : null;
    } catch {
      return null;
    }
  }

  function systemJobRoutes(app: FastifyInstance, job: SystemJob): void {
    const base = `/system/${job.path}`;

    app.get<{ Querystring: Record<string, unknown> }>(base, async (req, reply) => {
      admin(req);
      const page = parsePaging(req.query);
      const { total, rows } = await jobs.executions(job.vendorType, (page.page - 1) * page.pageSize, page.pageSize);
      setPageHeaders(req, reply, total, page);
      const schedule = await jobs.schedule(job.vendorType);
      return Promise.all(rows.map(async (e) => historyView(job, e, schedule, await resultOf(e))));
    });

    app.get(`${base}/schedule`, async (req) => {
      admin(req);
      const s = await jobs.schedule(job.vendorType);
      if (!s) return {};
      return { id: s.id, job_name: job.vendorType, job_kind: 'SCHEDULE', job_parameters: JSON.stringify(s.params), schedule: scheduleObj(s), job_status: '', deleted: false, creation_time: iso(s.creationTime), update_time: iso(s.updateTime) };
    });

    const schedule = (created: boolean) => async (req: FastifyRequest<{ Body: unknown }>, reply: FastifyReply) => {
      admin(req);
      const body = parseScheduleBody(req.body);
      const parameters = job.parameters(body.parameters);
      if (body.type === 'Manual') {
        const active = (await jobs.store.activeTasks(job.vendorType)).length;
        if (active > 0) throw fail('CONFLICT', `a ${job.noun} is already running`);
        const id = await jobs.submit(job.vendorType, 'MANUAL', parameters);
        return reply.code(created ? 201 : 200).header('location', `/api/v2.0${base}/${id}`).send();
      }
      if (body.type === 'None') await jobs.removeSchedule(job.vendorType);
      else await jobs.setSchedule(job.vendorType, body.type, body.cron, parameters);
      return reply.code(created ? 201 : 200).send();
    };
    app.post<{ Body: unknown }>(`${base}/schedule`, schedule(true));
    app.put<{ Body: unknown }>(`${base}/schedule`, schedule(false));

    app.get<{ Params: { id: string } }>(`${base}/:id`, async (req) => {
      admin(req);
      const e = await findExecution(job, req.params.id);
      return historyView(job, e, await jobs.schedule(job.vendorType), await resultOf(e));
    });

    app.get<{ Params: { id: string } }>(`${base}/:id/log`, async (req, reply) => {
      admin(req);
      const e = await findExecution(job, req.params.id);
      return reply.type('text/plain; charset=utf-8').send(await jobs.logText(e.id));
    });

    app.put<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => {
      admin(req);
      const e = await findExecution(job, req.params.id);
      await jobs.stopExecution(e.id);
      return reply.code(200).send();
    });
  }

  return async (app: FastifyInstance): Promise<void> => {
    systemJobRoutes(app, gcJob);
    systemJobRoutes(app, purgeJob);

    app.get<{ Querystring: Record<string, unknown> }>('/schedules', async (req, reply) => {
      admin(req);
      const page = parsePaging(req.query);
      const { total, rows } = await jobs.schedules((page.page - 1) * page.pageSize, page.pageSize);
      setPageHeaders(req, reply, total, page);
      return rows.map((s) => ({ id: s.id, vendor_type: s.vendorType, vendor_id: s.vendorId, cron: s.cron, update_time: iso(s.updateTime) }));
    });

    app.get<{ Params: { job_type: string } }>('/schedules/:job_type/paused', async (req) => {
      admin(req);
      if (req.params.job_type !== 'all') throw fail('BAD_REQUEST', "job_type can only be 'all'");
      return { paused: await jobs.isPaused('all') };
    });

    app.get('/jobservice/pools', async (req) => {
      admin(req);
      return (await jobs.pools()).map((p) => ({
        pid: p.pid,
        worker_pool_id: p.id,
        start_at: iso(p.start_time),
        heartbeat_at: iso(p.heartbeat_time),
        concurrency: p.concurrency,
        host: p.host,
      }));
    });

    app.get<{ Params: { pool_id: string } }>('/jobservice/pools/:pool_id/workers', async (req) => {
      admin(req);
      const pools = (await jobs.pools()).filter((p) => req.params.pool_id === 'all' || p.id === req.params.pool_id);
      if (pools.length === 0 && req.params.pool_id !== 'all') throw fail('NOT_FOUND', `worker pool ${req.params.pool_id} not found`);
      const out = [];
      for (const p of pools) {
        const running = await jobs.poolTasks(p.id);
        for (let slot = 0; slot < Math.max(p.concurrency, running.length); slot++) {
          const t = running[slot];
          out.push({
            id: `${p.id}/${slot}`,
            pool_id: p.id,
            job_name: t?.vendor_type ?? '',
            job_id: t ? String(t.id) : '',
            start_at: iso(t?.start_time),
            check_in: '',
            checkin_at: iso(t?.update_time),
          });
        }
      }
      return out;
    });

    app.get('/jobservice/queues', async (req) => {
      admin(req);
      return jobs.queues();
    });

    app.put<{ Params: { job_type: string }; Body: unknown }>('/jobservice/queues/:job_type', async (req, reply) => {
      admin(req);
      const action = isJsonObject(req.body) ? req.body.action : undefined;
      if (action !== 'stop' && action !== 'pause' && action !== 'resume') throw fail('BAD_REQUEST', 'the action is not supported');
      const type = req.params.job_type;
      if (type !== 'all' && !jobs.vendorTypes().includes(type)) throw fail('NOT_FOUND', `job type ${type} not found`);
      await jobs.queueAction(type, action);
      return reply.code(200).send();
    });

    app.put<{ Params: { job_id: string }; Body: unknown }>('/jobservice/jobs/:job_id', async (req, reply) => {
      admin(req);
      const action = isJsonObject(req.body) ? req.body.action : undefined;
      if (action !== 'stop') throw fail('BAD_REQUEST', 'the action is not supported');
      if (!(await jobs.stopTask(parseId(req.params.job_id, 'job')))) throw fail('NOT_FOUND', `job ${req.params.job_id} not found`);
      return reply.code(200).send();
    });

    app.get<{ Params: { job_id: string } }>('/jobservice/jobs/:job_id/log', async (req, reply) => {
      admin(req);
      const task = await jobs.store.task(parseId(req.params.job_id, 'job'));
      if (!task) throw fail('NOT_FOUND', `job ${req.params.job_id} not found`);
      const lines = (await jobs.store.log(task.id)).map((l) => `${new Date(l.time).toISOString()} [${l.level}] ${l.message}`);
      return reply.type('text/plain; charset=utf-8').send(lines.length ? lines.join('\n') + '\n' : '');
    });
  };
}
