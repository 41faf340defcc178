/**
 * Harbor's audit log endpoints:
 *   GET /audit-logs                          every entry (system admin)
 *   GET /projects/{project_name_or_id}/logs  the project's entries (readers of its logs)
 *   GET /auditlog-exts                       Harbor ≥ 2.13's AuditLogExt view: every entry for the
 *                                            system admin, the entries of the projects whose logs
 *                                            the caller may read for anyone else (401 anonymous)
 *   GET /auditlog-exts/events                Harbor's audit event types (system admin)
 *   GET /projects/{project_name}/auditlog-exts  the project's entries as AuditLogExt (readers of its logs)
 * The lists take Harbor's `q`, `sort` (default `-op_time`), `page` and `page_size` over the fields of
 * auditListSpec (src/audit/audit-service.ts); answers carry X-Total-Count and Link.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext, projectKey, projectName } from './context.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;

/** Routes for /audit-logs, /auditlog-exts and the project logs. */
export function auditRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Query }>('/audit-logs', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.audit.listAll(callContext(req), list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.get<{ Params: { project_name_or_id: string }; Querystring: Query }>('/projects/:project_name_or_id/logs', async (req, reply) => {
      const list = listQuery(req.query);
      const key = projectKey(req, req.params.project_name_or_id);
      const result = await deps.audit.listProject(callContext(req), key, 'read-logs', list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.get<{ Querystring: Query }>('/auditlog-exts', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.audit.listExt(callContext(req), list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.get('/auditlog-exts/events', async (req) => deps.audit.listExtEventTypes(callContext(req)));

    app.get<{ Params: { project_name: string }; Querystring: Query }>('/projects/:project_name/auditlog-exts', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.audit.listProjectExt(callContext(req), projectName(req.params.project_name), list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });
  };
}
