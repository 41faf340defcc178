/**
 * Harbor's scan endpoints (docs/scanning.md, "Scans, reports and events"):
 *   POST .../artifacts/{reference}/scan                  {"scan_type"} optional (default vulnerability) -> 202
 *   POST .../artifacts/{reference}/scan/stop             {"scan_type"} required -> 202
 *   GET  .../artifacts/{reference}/scan/{report_id}/log  text/plain
 *   GET|POST|PUT /system/scanAll/schedule                the scan-all schedule; POST Manual runs now (201)
 *   POST /system/scanAll/stop                            -> 202
 *   GET  /scans/all/metrics, /scans/schedule/metrics     the latest scan all's progress
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext, projectName, repositoryParam } from './context.ts';

type RefParams = { project_name: string; repository_name: string; reference: string };

const base = '/projects/:project_name/repositories/:repository_name/artifacts/:reference/scan';

/** Routes for scans and scan all (registered when `deps.scans` is wired). */
export function scanRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const scans = deps.scans;
    if (!scans) return;
    const path = (p: RefParams) => [projectName(p.project_name).nameOrId, repositoryParam(p.repository_name), p.reference] as const;

    app.post<{ Params: RefParams; Body: unknown }>(base, async (req, reply) => {
      await scans.service.scan(callContext(req), ...path(req.params), req.body);
      return reply.code(202).send();
    });

    app.post<{ Params: RefParams; Body: unknown }>(`${base}/stop`, async (req, reply) => {
      await scans.service.stop(callContext(req), ...path(req.params), req.body);
      return reply.code(202).send();
    });

    app.get<{ Params: RefParams & { report_id: string } }>(`${base}/:report_id/log`, async (req, reply) => {
      const text = await scans.service.log(callContext(req), ...path(req.params), req.params.report_id);
      return reply.type('text/plain; charset=utf-8').send(text);
    });

    app.get('/system/scanAll/schedule', async (req) => scans.all.getSchedule(callContext(req)));
    app.post<{ Body: unknown }>('/system/scanAll/schedule', async (req, reply) => {
      const id = await scans.all.setSchedule(callContext(req), req.body, true);
      if (id !== null) reply.header('location', `/api/v2.0/system/scanAll/${id}`);
      return reply.code(201).send();
    });
    app.put<{ Body: unknown }>('/system/scanAll/schedule', async (req, reply) => {
      await scans.all.setSchedule(callContext(req), req.body, false);
      return reply.code(200).send();
    });
    app.post('/system/scanAll/stop', async (req, reply) => {
      await scans.all.stop(callContext(req));
      return reply.code(202).send();
    });
    app.get('/scans/all/metrics', async (req) => scans.all.metrics(callContext(req)));
    app.get('/scans/schedule/metrics', async (req) => scans.all.metrics(callContext(req)));
  };
}
