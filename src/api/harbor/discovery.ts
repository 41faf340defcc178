/**
 * Harbor's discovery endpoints (src/projects/discovery.ts):
 *   GET /search?q=x            {project: [Project], repository: [SearchRepository]}; q is required (422)
 *   GET /statistics            project and repository counts; totals and storage for the system admin
 *   GET /systeminfo/volumes    {storage: [{total, free}]} of the local disk (system admin)
 *   GET /icons/{digest}        {"content-type", content (base64)} of an artifact's icon layer
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import { callContext } from './context.ts';
import { queryParam } from './paging.ts';

type Query = Record<string, unknown>;

/** Routes for search, statistics, volumes and icons. */
export function discoveryRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Querystring: Query }>('/search', async (req) => {
      const q = queryParam(req.query.q);
      // Harbor's swagger marks q required; its validation refuses an empty value too.
      if (q === undefined || q === '') throw fail('UNPROCESSABLE', 'validation failure list:\nq in query is required');
      return deps.projects.discovery.search(callContext(req), q);
    });

    app.get('/statistics', async (req) => deps.projects.discovery.statistics(callContext(req)));

    app.get('/systeminfo/volumes', async (req) => deps.projects.discovery.volumes(callContext(req)));

    app.get<{ Params: { digest: string } }>('/icons/:digest', async (req) => deps.projects.discovery.icon(callContext(req), req.params.digest));
  };
}
