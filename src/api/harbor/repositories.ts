/**
 * Harbor's repository endpoints (repository names inside the project, a slash encoded twice:
 * `library/a/b` is `/projects/library/repositories/a%252Fb`):
 *   GET    /repositories                                    every repository the caller may pull from (q, sort, paging)
 *   GET    /projects/{p}/repositories                       list (q, sort, paging)
 *   GET    /projects/{p}/repositories/{repository_name}     one repository
 *   PUT    /projects/{p}/repositories/{repository_name}     change its description {"description":"..."} -> 200
 *   DELETE /projects/{p}/repositories/{repository_name}     delete it with every artifact and tag -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext, projectName, repositoryParam } from './context.ts';
import { listQuery, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;
type RepoParams = { project_name: string; repository_name: string };

/** Routes for /projects/{p}/repositories. */
export function repositoryRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: { project_name: string }; Querystring: Query }>('/projects/:project_name/repositories', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.projects.listRepositories(callContext(req), projectName(req.params.project_name), list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.get<{ Querystring: Query }>('/repositories', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.projects.listAllRepositories(callContext(req), list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.get<{ Params: RepoParams }>('/projects/:project_name/repositories/:repository_name', async (req) => {
      return deps.projects.getRepository(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name));
    });

    app.put<{ Params: RepoParams; Body: unknown }>('/projects/:project_name/repositories/:repository_name', async (req, reply) => {
      await deps.projects.updateRepository(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: RepoParams }>('/projects/:project_name/repositories/:repository_name', async (req, reply) => {
      await deps.projects.deleteRepository(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name));
      return reply.code(200).send();
    });
  };
}
