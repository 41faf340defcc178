/**
 * Harbor's scanner registrations, project scanner and system CVE allowlist under /api/v2.0:
 *   GET    /scanners                               list (q, sort, paging; legacy name/description/url, ex_name/ex_url)
 *   POST   /scanners                               create -> 201, Location: <path>/<uuid> (pings the adapter first)
 *   POST   /scanners/ping                          test settings -> 200
 *   GET    /scanners/{registration_id}             one registration
 *   PUT    /scanners/{registration_id}             update -> 200
 *   DELETE /scanners/{registration_id}             -> 200 with the deleted registration
 *   PATCH  /scanners/{registration_id}             {"is_default": true} -> 200
 *   GET    /scanners/{registration_id}/metadata    the adapter's metadata
 *   GET    /projects/{project_name_or_id}/scanner             the pinned registration, else the default
 *   PUT    /projects/{project_name_or_id}/scanner             {"uuid"} -> 200
 *   GET    /projects/{project_name_or_id}/scanner/candidates  the registrations (paged)
 *   GET    /system/CVEAllowlist                    the system list (any logged-in user)
 *   PUT    /system/CVEAllowlist                    replace it (system admin) -> 200
 * One service call per route; decisions are the services' (src/scanning/).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext, projectKey } from './context.ts';
import { listQuery, queryParam, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;
type RegParams = { registration_id: string };
type ProjectParams = { project_name_or_id: string };

function pathOf(req: FastifyRequest): string {
  return (req.url.split('?')[0] ?? req.url).replace(/(?<!\/)\/+$/, '');
}

/** Routes for /scanners, /projects/{p}/scanner and /system/CVEAllowlist. */
export function scannerRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const { scanners, cveAllowlists } = deps;

    app.get<{ Querystring: Query }>('/scanners', async (req, reply) => {
      const list = listQuery(req.query);
      const q = req.query;
      const legacy = { name: queryParam(q.name), description: queryParam(q.description), url: queryParam(q.url), ex_name: queryParam(q.ex_name), ex_url: queryParam(q.ex_url) };
      const page = await scanners.list(callContext(req), list, legacy);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.post<{ Body: unknown }>('/scanners', async (req, reply) => {
      const uuid = await scanners.create(callContext(req), req.body);
      return reply.code(201).header('location', `${pathOf(req)}/${uuid}`).send();
    });

    app.post<{ Body: unknown }>('/scanners/ping', async (req, reply) => {
      await scanners.pingSettings(callContext(req), req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: RegParams }>('/scanners/:registration_id', async (req) => scanners.get(callContext(req), req.params.registration_id));

    app.put<{ Params: RegParams; Body: unknown }>('/scanners/:registration_id', async (req, reply) => {
      await scanners.update(callContext(req), req.params.registration_id, req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: RegParams }>('/scanners/:registration_id', async (req) => scanners.remove(callContext(req), req.params.registration_id));

    app.patch<{ Params: RegParams; Body: unknown }>('/scanners/:registration_id', async (req, reply) => {
      await scanners.setDefault(callContext(req), req.params.registration_id, req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: RegParams }>('/scanners/:registration_id/metadata', async (req) => scanners.metadata(callContext(req), req.params.registration_id));

    app.get<{ Params: ProjectParams }>('/projects/:project_name_or_id/scanner', async (req, reply) => {
      const view = await scanners.projectScanner(callContext(req), projectKey(req, req.params.project_name_or_id));
      // Harbor answers 200 with no body when no registration exists at all.
      return view === null ? reply.code(200).send() : reply.send(view);
    });

    app.put<{ Params: ProjectParams; Body: unknown }>('/projects/:project_name_or_id/scanner', async (req, reply) => {
      await scanners.setProjectScanner(callContext(req), projectKey(req, req.params.project_name_or_id), req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: ProjectParams; Querystring: Query }>('/projects/:project_name_or_id/scanner/candidates', async (req, reply) => {
      const list = listQuery(req.query);
      const page = await scanners.candidates(callContext(req), projectKey(req, req.params.project_name_or_id), list);
      setPageHeaders(req, reply, page.total, list);
      return page.items;
    });

    app.get('/system/CVEAllowlist', async (req) => cveAllowlists.getSystem(callContext(req)));

    app.put<{ Body: unknown }>('/system/CVEAllowlist', async (req, reply) => {
      await cveAllowlists.putSystem(callContext(req), req.body);
      return reply.code(200).send();
    });
  };
}
