/**
 * Harbor's artifact and tag endpoints under /projects/{p}/repositories/{r} (`{reference}` is a tag
 * or a digest):
 *   GET    .../artifacts                           list (with_tag, with_label; Harbor's q, sort and paging)
 *   POST   .../artifacts?from=p/r:tag|p/r@digest   copy an artifact here -> 201, Location: .../artifacts/<tag or digest>
 *   GET    .../artifacts/{reference}               one artifact (with_tag, with_label, with_accessory, with_scan_overview, with_sbom_overview)
 *   GET    .../artifacts/{reference}/additions/{a} vulnerabilities (X-Accept-Vulnerabilities), build_history, sbom; other names
 *                                                 of Harbor's enum 400/404 as Harbor's processors, names outside it 422
 *   GET    .../artifacts/{reference}/accessories   the artifact's accessories (Harbor's Accessory; q, sort and paging)
 *   DELETE .../artifacts/{reference}               delete the manifest and its tags -> 200
 *   GET    .../artifacts/{reference}/tags          the artifact's tags (q, sort, paging)
 *   POST   .../artifacts/{reference}/tags          add a tag {"name":"v2"} -> 201 (409 when it exists)
 *   DELETE .../artifacts/{reference}/tags/{tag}    remove a tag -> 200
 * and GET /projects/{project_name_or_id}/artifacts: the artifacts of every repository of a project
 * (the same flags, with_immutable_status, latest_in_repository; Harbor's q, sort and paging).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext, projectKey, projectName, repositoryParam } from './context.ts';
import { listQuery, parseBoolParam, setPageHeaders } from './paging.ts';
import { parseAcceptVulnerabilities, type ArtifactReadOptions, type ArtifactView } from '../../projects/index.ts';

type Query = Record<string, unknown>;
type RepoParams = { project_name: string; repository_name: string };
type RefParams = RepoParams & { reference: string };

const base = '/projects/:project_name/repositories/:repository_name/artifacts';

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/** Harbor's artifact read flags and X-Accept-Vulnerabilities. */
function artifactOptions(req: FastifyRequest<{ Querystring: Query }>): ArtifactReadOptions {
  return {
    withTag: parseBoolParam(req.query.with_tag, 'with_tag', true),
    withAccessory: parseBoolParam(req.query.with_accessory, 'with_accessory', false),
    withScanOverview: parseBoolParam(req.query.with_scan_overview, 'with_scan_overview', false),
    withSbomOverview: parseBoolParam(req.query.with_sbom_overview, 'with_sbom_overview', false),
    withLabel: parseBoolParam(req.query.with_label, 'with_label', false),
    withInheritedAccessory: parseBoolParam(req.query.with_inherited_accessory, 'with_inherited_accessory', false),
    acceptVulnerabilities: parseAcceptVulnerabilities(headerText(req.headers['x-accept-vulnerabilities'])),
  };
}

/**
 * Harbor's Artifact on the wire: a field the swagger types as an object or an array (`annotations`,
 * `tags`, `labels`, `accessories`; a reference's `platform` and `annotations`) is left out rather
 * than sent as null when the artifact has none or the request did not ask for it.
 */
function artifactWire(view: ArtifactView): Partial<ArtifactView> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(view)) if (v !== null) out[k] = v;
  out.references = view.references.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)));
  return out;
}

/** The path of the request without its query and trailing slashes. */
function requestPath(url: string): string {
  let path = url.split('?')[0] ?? '';
  while (path.endsWith('/')) path = path.slice(0, -1);
  return path;
}

/** Routes for artifacts and tags. */
export function artifactRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get<{ Params: RepoParams; Querystring: Query }>(base, async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.projects.listArtifacts(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), list, artifactOptions(req));
      setPageHeaders(req, reply, result.total, list);
      return result.items.map(artifactWire);
    });

    app.get<{ Params: { project_name_or_id: string }; Querystring: Query }>('/projects/:project_name_or_id/artifacts', async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.projects.listArtifactsOfProject(callContext(req), projectKey(req, req.params.project_name_or_id), list, {
        ...artifactOptions(req),
        withImmutableStatus: parseBoolParam(req.query.with_immutable_status, 'with_immutable_status', false),
        latestInRepository: parseBoolParam(req.query.latest_in_repository, 'latest_in_repository', false),
      });
      setPageHeaders(req, reply, result.total, list);
      return result.items.map(artifactWire);
    });

    app.post<{ Params: RepoParams; Querystring: Query }>(base, async (req, reply) => {
      const ref = await deps.projects.copyArtifact(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.query.from);
      // Harbor's Location: the request's path and the reference `from` named.
      return reply.code(201).header('location', `${requestPath(req.url)}/${ref}`).send();
    });

    app.get<{ Params: RefParams; Querystring: Query }>(`${base}/:reference`, async (req) => {
      return artifactWire(await deps.projects.getArtifact(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.params.reference, artifactOptions(req)));
    });

    app.get<{ Params: RefParams & { addition: string } }>(`${base}/:reference/additions/:addition`, async (req, reply) => {
      const out = await deps.projects.artifactAddition(
        callContext(req),
        projectName(req.params.project_name),
        repositoryParam(req.params.repository_name),
        req.params.reference,
        req.params.addition,
        parseAcceptVulnerabilities(headerText(req.headers['x-accept-vulnerabilities'])),
      );
      return reply.type(out.contentType).send(out.body);
    });

    app.get<{ Params: RefParams; Querystring: Query }>(`${base}/:reference/accessories`, async (req, reply) => {
      const list = listQuery(req.query);
      const result = await deps.projects.listAccessories(callContext(req), projectName(req.params.project_name), repositoryParam(req.params.repository_name), req.params.reference, list);
      setPageHeaders(req, reply, result.total, list);
      return result.items;
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
      // The swagger's Location (Harbor itself sends none): the new tag under the request's path.
      const name = req.body !== null && typeof req.body === 'object' && 'name' in req.body && typeof req.body.name === 'string' ? req.body.name : '';
      return reply.code(201).header('location', `${requestPath(req.url)}/${encodeURIComponent(name)}`).send();
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
