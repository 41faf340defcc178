/**
 * Harbor's project endpoints:
 *   GET    /projects                         list (name fuzzy, public; Harbor's q, sort and paging)
 *   HEAD   /projects?project_name=x          200 when it exists, else 404
 *   POST   /projects                         create (project_creation_restriction) -> 201, Location: /api/v2.0/projects/<id>
 *   GET    /projects/{project_name_or_id}    one project (X-Is-Resource-Name: true forces a name)
 *   PUT    /projects/{project_name_or_id}    update metadata (Harbor's keys only), storage_limit -> 200
 *   DELETE /projects/{project_name_or_id}    delete an empty project -> 200 (412 while it has repositories)
 *   GET    /projects/{p}/_deletable          {deletable, message}: false while it has repositories
 *   GET    /projects/{p}/metadatas/          every metadata key -> {"public":"true",...}
 *   POST   /projects/{p}/metadatas/          add one key {"auto_scan":"true"} -> 200 (409 when set)
 *   GET    /projects/{p}/metadatas/{name}    {name: value}, {} when unset
 *   PUT    /projects/{p}/metadatas/{name}    set it from the body's {name: value} -> 200
 *   DELETE /projects/{p}/metadatas/{name}    remove it -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import type { ProjectRequest } from '../../projects/index.ts';
import { fail } from '../../domain/index.ts';
import { callContext, projectKey } from './context.ts';
import { listQuery, parseBoolParam, queryParam, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;
type ProjectParams = { project_name_or_id: string };
type MetaParams = ProjectParams & { meta_name: string };

/** Routes for /projects. */
export function projectRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Query }>('/projects', { exposeHeadRoute: false }, async (req, reply) => {
      const list = listQuery(req.query);
      const name = queryParam(req.query.name);
      const isPublic = req.query.public !== undefined ? parseBoolParam(req.query.public, 'public', false) : undefined;
      const result = await deps.projects.listProjects(callContext(req), { ...(name ? { name: { value: name, fuzzy: true } } : {}), public: isPublic }, list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.head<{ Querystring: Query }>('/projects', async (req, reply) => {
      const name = req.query.project_name;
      if (typeof name !== 'string' || name === '') throw fail('BAD_REQUEST', 'project_name is required');
      const exists = await deps.projects.projectExists(callContext(req), name);
      return reply.code(exists ? 200 : 404).send();
    });

    app.post<{ Body: ProjectRequest }>('/projects', async (req, reply) => {
      const id = await deps.projects.createProject(callContext(req), req.body);
      return reply.code(201).header('location', `/api/v2.0/projects/${id}`).send();
    });

    app.get<{ Params: ProjectParams }>('/projects/:project_name_or_id', async (req) => {
      return deps.projects.getProject(callContext(req), projectKey(req, req.params.project_name_or_id));
    });

    app.get<{ Params: ProjectParams }>('/projects/:project_name_or_id/summary', async (req) => {
      return deps.projects.projectSummary(callContext(req), projectKey(req, req.params.project_name_or_id));
    });

    app.get<{ Params: ProjectParams }>('/projects/:project_name_or_id/_deletable', async (req) => {
      return deps.projects.deletable(callContext(req), projectKey(req, req.params.project_name_or_id));
    });

    app.put<{ Params: ProjectParams; Body: ProjectRequest }>('/projects/:project_name_or_id', async (req, reply) => {
      await deps.projects.updateProject(callContext(req), projectKey(req, req.params.project_name_or_id), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: ProjectParams }>('/projects/:project_name_or_id', async (req, reply) => {
      await deps.projects.deleteProject(callContext(req), projectKey(req, req.params.project_name_or_id));
      return reply.code(200).send();
    });

    // `/metadatas/` as Harbor writes it reaches these without its slash (src/app.ts harborTrailingSlash).
    const metadatas = '/projects/:project_name_or_id/metadatas';
    app.get<{ Params: ProjectParams }>(metadatas, async (req) => {
      return deps.projects.metadatas.list(callContext(req), projectKey(req, req.params.project_name_or_id));
    });

    app.post<{ Params: ProjectParams; Body: unknown }>(metadatas, async (req, reply) => {
      await deps.projects.metadatas.add(callContext(req), projectKey(req, req.params.project_name_or_id), req.body);
      return reply.code(200).send();
    });

    app.get<{ Params: MetaParams }>(`${metadatas}/:meta_name`, async (req) => {
      return deps.projects.metadatas.get(callContext(req), projectKey(req, req.params.project_name_or_id), req.params.meta_name);
    });

    app.put<{ Params: MetaParams; Body: unknown }>(`${metadatas}/:meta_name`, async (req, reply) => {
      await deps.projects.metadatas.update(callContext(req), projectKey(req, req.params.project_name_or_id), req.params.meta_name, req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: MetaParams }>(`${metadatas}/:meta_name`, async (req, reply) => {
      await deps.projects.metadatas.remove(callContext(req), projectKey(req, req.params.project_name_or_id), req.params.meta_name);
      return reply.code(200).send();
    });
  };
}
