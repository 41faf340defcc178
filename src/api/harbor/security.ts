/**
 * Harbor's security hub (docs/scanning.md, "Security hub"; system admin only):
 *   GET /security/summary  with_dangerous_cve, with_dangerous_artifact (default false) -> SecuritySummary
 *   GET /security/vul      q, page, page_size, tune_count, with_tag -> [VulnerabilityItem] with
 *                          X-Total-Count (-1 past 1000 with tune_count) and Link
 * Paging is read here (a bad page or page_size is a 422 before anything else, as Harbor's binder
 * does); the service checks the caller before it reads `q`, so a non-admin gets 401/403 first.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext } from './context.ts';
import { parseBoolParam, parsePaging, queryParam, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;

/** Routes for /security (registered when `deps.security` is wired). */
export function securityRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const hub = deps.security;
    if (!hub) return;

    app.get<{ Querystring: Query }>('/security/summary', async (req) =>
      hub.summary(callContext(req), {
        withDangerousCve: parseBoolParam(req.query.with_dangerous_cve, 'with_dangerous_cve', false),
        withDangerousArtifact: parseBoolParam(req.query.with_dangerous_artifact, 'with_dangerous_artifact', false),
      }),
    );

    app.get<{ Querystring: Query }>('/security/vul', async (req, reply) => {
      const paging = parsePaging(req.query);
      const page = await hub.listVulnerabilities(callContext(req), {
        q: queryParam(req.query.q) ?? '',
        page: paging.page,
        pageSize: paging.pageSize,
        tuneCount: parseBoolParam(req.query.tune_count, 'tune_count', false),
        withTag: parseBoolParam(req.query.with_tag, 'with_tag', false),
      });
      setPageHeaders(req, reply, page.total, paging);
      return page.items;
    });
  };
}
