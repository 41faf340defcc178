/**
 * System endpoints:
 *   GET  /systeminfo            Harbor's SystemInfo subset (wharf_version instead of harbor_version)
 *   GET  /ping                  "Pong"
 *   GET  /health                Harbor's {status, components[]}: database and storage
 * and Wharf's subset of Harbor's garbage collection API (admin only; runs are kept in memory
 * since the process started; scheduling is done by running `wharf gc` from cron):
 *   POST /system/gc/schedule    {"schedule":{"type":"Manual"}} starts a run -> 201, Location: /api/v2.0/system/gc/<id>
 *   GET  /system/gc             the runs, newest first (paging)
 *   GET  /system/gc/{gc_id}     one run
 *   GET  /system/gc/{gc_id}/log a run's report as text
 */
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { GcReport } from '../../registry/index.ts';
import { fail, makeDigest } from '../../domain/index.ts';
import pkg from '../../../package.json' with { type: 'json' };
import { callContext } from './context.ts';
import { parsePaging, setPageHeaders } from './paging.ts';

/** One gc run, with Harbor's GCHistory fields plus Wharf's `report`. */
export interface GcRun {
  id: number;
  job_name: 'GARBAGE_COLLECTION';
  job_kind: 'MANUAL';
  job_parameters: string;
  schedule: { type: 'Manual'; cron: string; next_scheduled_time: null };
  job_status: 'Running' | 'Success' | 'Error';
  deleted: boolean;
  creation_time: string;
  update_time: string;
  /** Wharf extension: what the run freed, or null while running or after an error. */
  report: { blobs_deleted: number; bytes_freed: number; uploads_deleted: number } | null;
  /** Wharf extension: why the run failed. */
  error: string | null;
}

function reportOf(r: GcReport): NonNullable<GcRun['report']> {
  return { blobs_deleted: r.blobsDeleted, bytes_freed: r.bytesFreed, uploads_deleted: r.uploadsDeleted };
}

/** System info, ping, health and garbage collection routes. */
export function systemRoutes(deps: AppDeps) {
  const runs: GcRun[] = [];
  let nextId = 1;

  return async (app: FastifyInstance): Promise<void> => {
    app.get('/systeminfo', async () => {
      const external = deps.config.external_url;
      let registryUrl = external;
      try {
        registryUrl = new URL(external).host;
      } catch {
        /* external_url is validated as a URL by the config schema; keep it as given otherwise */
      }
      return {
        wharf_version: `v${pkg.version}`,
        external_url: external,
        registry_url: registryUrl,
        auth_mode: 'db_auth',
        primary_auth_mode: false,
        project_creation_restriction: 'adminonly',
        self_registration: false,
        has_ca_root: false,
        read_only: false,
        with_chartmuseum: false,
        notification_enable: await deps.webhooks.settings.notificationsEnabled(),
        registry_storage_provider_name: deps.config.storage.driver,
        current_time: new Date().toISOString(),
      };
    });

    app.get('/ping', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('Pong'));

    app.get('/health', async () => {
      const components: Array<{ name: string; status: 'healthy' | 'unhealthy'; error?: string }> = [];
      try {
        await sql`select 1`.execute(deps.db);
        components.push({ name: 'database', status: 'healthy' });
      } catch (err) {
        components.push({ name: 'database', status: 'unhealthy', error: err instanceof Error ? err.message : String(err) });
      }
      try {
        await deps.blobs.stat(makeDigest('sha256', '0'.repeat(64)));
        components.push({ name: 'storage', status: 'healthy' });
      } catch (err) {
        components.push({ name: 'storage', status: 'unhealthy', error: err instanceof Error ? err.message : String(err) });
      }
      return { status: components.every((c) => c.status === 'healthy') ? 'healthy' : 'unhealthy', components };
    });

    app.post<{ Body: unknown }>('/system/gc/schedule', async (req, reply) => {
      deps.authorizer.check(callContext(req).actor, 'admin');
      const body = req.body;
      const schedule = body !== null && typeof body === 'object' && 'schedule' in body ? body.schedule : undefined;
      const type = schedule !== null && typeof schedule === 'object' && 'type' in schedule ? schedule.type : undefined;
      if (type === undefined) throw fail('BAD_REQUEST', 'schedule.type is required: {"schedule":{"type":"Manual"}}');
      if (type !== 'Manual') {
        throw fail('BAD_REQUEST', `schedule type ${JSON.stringify(type)} is not supported: Wharf runs gc on demand ("Manual"); schedule it by running \`wharf gc\` from cron`);
      }
      if (runs.some((r) => r.job_status === 'Running')) throw fail('CONFLICT', 'a garbage collection is already running');
      const parameters = body !== null && typeof body === 'object' && 'parameters' in body ? body.parameters : {};
      const now = new Date().toISOString();
      const run: GcRun = {
        id: nextId++,
        job_name: 'GARBAGE_COLLECTION',
        job_kind: 'MANUAL',
        job_parameters: JSON.stringify(parameters ?? {}),
        schedule: { type: 'Manual', cron: '', next_scheduled_time: null },
        job_status: 'Running',
        deleted: false,
        creation_time: now,
        update_time: now,
        report: null,
        error: null,
      };
      runs.unshift(run);
      deps.gc().then(
        (r) => {
          run.job_status = 'Success';
          run.report = reportOf(r);
          run.update_time = new Date().toISOString();
        },
        (err: unknown) => {
          run.job_status = 'Error';
          run.error = err instanceof Error ? err.message : String(err);
          run.update_time = new Date().toISOString();
          req.log.error({ err, gc_id: run.id }, 'garbage collection failed');
        },
      );
      return reply.code(201).header('location', `/api/v2.0/system/gc/${run.id}`).send();
    });

    app.get<{ Querystring: Record<string, unknown> }>('/system/gc', async (req, reply) => {
      deps.authorizer.check(callContext(req).actor, 'admin');
      const page = parsePaging(req.query);
      setPageHeaders(req, reply, runs.length, page);
      const start = (page.page - 1) * page.pageSize;
      return runs.slice(start, start + page.pageSize);
    });

    const findRun = (id: string): GcRun => {
      const run = /^[0-9]+$/.test(id) ? runs.find((r) => r.id === Number(id)) : undefined;
      if (!run) throw fail('NOT_FOUND', `garbage collection ${id} not found`);
      return run;
    };

    app.get<{ Params: { gc_id: string } }>('/system/gc/:gc_id', async (req) => {
      deps.authorizer.check(callContext(req).actor, 'admin');
      return findRun(req.params.gc_id);
    });

    app.get<{ Params: { gc_id: string } }>('/system/gc/:gc_id/log', async (req, reply) => {
      deps.authorizer.check(callContext(req).actor, 'admin');
      const run = findRun(req.params.gc_id);
      const lines = [`${run.creation_time} garbage collection ${run.id} started`];
      if (run.report) {
        lines.push(`${run.update_time} deleted ${run.report.blobs_deleted} blobs (${run.report.bytes_freed} bytes) and ${run.report.uploads_deleted} abandoned uploads`);
      }
      if (run.error) lines.push(`${run.update_time} failed: ${run.error}`);
      lines.push(`${run.update_time} status: ${run.job_status}`);
      return reply.type('text/plain; charset=utf-8').send(lines.join('\n') + '\n');
    });
  };
}
