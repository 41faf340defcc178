/**
 * Harbor's label endpoints (src/projects/labels.ts):
 *   GET    /labels?scope=g|p[&project_id=N][&name=x]   list (Harbor's q, sort and paging)
 *   POST   /labels                                     Label -> 201, Location
 *   GET    /labels/{label_id}                          Label
 *   PUT    /labels/{label_id}                          name, description, color -> 200
 *   DELETE /labels/{label_id}                          removes it from artifacts too -> 200
 *   POST   /projects/{p}/repositories/{r}/artifacts/{reference}/labels             {"id": N} -> 200
 *   DELETE /projects/{p}/repositories/{r}/artifacts/{reference}/labels/{label_id}  -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { callContext, projectName, repositoryParam } from './context.ts';
import { listQuery, queryParam, setPageHeaders } from './paging.ts';

type Params = { label_id: string };
type RefParams = { project_name: string; repository_name: string; reference: string };

function labelId(raw: string): number {
  if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid label id "${raw}"`);
  return Number(raw);
}

const artifactLabels = '/projects/:project_name/repositories/:repository_name/artifacts/:reference/labels';

/** Routes for /labels and artifact labels. */
export function labelRoutes(deps: AppDeps) {
  const labels = deps.projects.labels;
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Record<string, unknown> }>('/labels', async (req, reply) => {
      const list = listQuery(req.query);
      const scope = queryParam(req.query.scope);
      const projectId = queryParam(req.query.project_id);
      const name = queryParam(req.query.name);
      const result = await labels.list(
        callContext(req),
        { ...(scope === undefined ? {} : { scope }), ...(projectId === undefined ? {} : { projectId }), ...(name === undefined ? {} : { name }) },
        list,
      );
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.post<{ Body: unknown }>('/labels', async (req, reply) => {
      const id = await labels.create(callContext(req), req.body);
      return reply.code(201).header('location', `/api/v2.0/labels/${id}`).send();
    });

    app.get<{ Params: Params }>('/labels/:label_id', async (req) => labels.get(callContext(req), labelId(req.params.label_id)));

    app.put<{ Params: Params; Body: unknown }>('/labels/:label_id', async (req, reply) => {
      await labels.update(callContext(req), labelId(req.params.label_id), req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: Params }>('/labels/:label_id', async (req, reply) => {
      await labels.delete(callContext(req), labelId(req.params.label_id));
      return reply.code(200).send();
    });

    app.post<{ Params: RefParams; Body: unknown }>(artifactLabels, async (req, reply) => {
      await labels.addToArtifact(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.params.reference, req.body);
      return reply.code(200).send();
    });

    app.delete<{ Params: RefParams & Params }>(`${artifactLabels}/:label_id`, async (req, reply) => {
      await labels.removeFromArtifact(
        callContext(req),
        projectName(req.params.project_name),
        repositoryParam(req.params.repository_name),
        req.params.reference,
        labelId(req.params.label_id),
      );
      return reply.code(200).send();
    });
  };
}
