/**
 * Harbor's artifact and tag endpoints under /projects/{p}/repositories/{r} (`{reference}` is a tag
 * or a digest):
 *   GET    .../artifacts                           list (with_tag; Harbor's q, sort and paging)
 *   GET    .../artifacts/{reference}               one artifact
 *   DELETE .../artifacts/{reference}               delete the manifest and its tags -> 200
 *   GET    .../artifacts/{reference}/tags          the artifact's tags (q, sort, paging)
 *   POST   .../artifacts/{reference}/tags          add a tag {"name":"v2"} -> 201 (409 when it exists)
 *   DELETE .../artifacts/{reference}/tags/{tag}    remove a tag -> 200
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext, projectName, repositoryParam } from './context.ts';
import { listQuery, parseBoolParam, setPageHeaders } from './paging.ts';

type Query = Record<string, unknown>;
type RepoParams = { project_name: string; repository_name: string };
type RefParams = RepoParams & { reference: string };

const base = '/projects/:project_name/repositories/:repository_name/artifacts';

/** Routes for artifacts and tags. */
export function artifactRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: RepoParams; Querystring: Query }>(base, async (req, reply) => {
      const list = listQuery(req.query);
      const withTag = parseBoolParam(req.query.with_tag, 'with_tag', true);
      const result = await deps.projects.listArtifacts(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), list, { withTag });
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.get<{ Params: RefParams; Querystring: Query }>(`${base}/:reference`, async (req) => {
      const withTag = parseBoolParam(req.query.with_tag, 'with_tag', true);
      return deps.projects.getArtifact(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.params.reference, {
        withTag,
      });
    });

    app.delete<{ Params: RefParams }>(`${base}/:reference`, async (req, reply) => {
      await deps.projects.deleteArtifact(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.params.reference);
      return reply.code(200).send();
    });

    app.get<{ Params: RefParams; Querystring: Query }>(`${base}/:reference/tags`, async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.projects.listTags(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.params.reference, list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
    });

    app.post<{ Params: RefParams; Body: unknown }>(`${base}/:reference/tags`, async (req, reply) => {
      await deps.projects.createTag(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.params.reference, req.body);
      return reply.code(201).send();
    });

    app.delete<{ Params: RefParams & { tag_name: string } }>(`${base}/:reference/tags/:tag_name`, async (req, reply) => {
      await deps.projects.deleteTag(
        callContext(req),
        projectName(req.params.project_name),
        repositoryParam(req.params.repository_name),
        req.params.reference,
        req.params.tag_name,
      );
      return reply.code(200).send();
    });
  };
}
