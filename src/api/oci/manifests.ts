/**
 * Manifest, tag list, catalog and referrers routes under /v2 (thin: parse the request, call the
 * registry service, shape the response). The flows, as the OCI Distribution 1.1 spec describes them:
 *
 *   PUT     /v2/<name>/manifests/<tag|digest>     201 Location, Docker-Content-Digest, OCI-Subject (when the manifest has a subject)
 *   GET     /v2/<name>/manifests/<tag|digest>     200 the exact pushed bytes; Content-Type = the manifest's media type
 *   HEAD    /v2/<name>/manifests/<tag|digest>     200 the same headers, no body (no pull event)
 *   DELETE  /v2/<name>/manifests/<digest>         202 the artifact and all its tags
 *   DELETE  /v2/<name>/manifests/<tag>            202 only the tag
 *   GET     /v2/<name>/tags/list?n=&last=         200 {"name","tags"}; Link rel="next" when more follow
 *   GET     /v2/_catalog?n=&last=                 200 {"repositories"}; Link rel="next" when more follow
 *   GET     /v2/<name>/referrers/<digest>?artifactType=   200 an OCI index; OCI-Filters-Applied when filtered
 *
 * docs/registry.md describes the choices Wharf makes where the spec leaves room.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fail, isDomainError, ociIndex, parseDigest, parseReference, type Digest, type Reference, type RepoName } from '../../domain/index.ts';
import type { AppDeps } from '../deps.ts';
import type { NamePage } from '../../registry/index.ts';
import { readBody } from './body.ts';
import { callContext, type OciRoutes, type OciTarget } from './routing.ts';

/** The query string of a request as URLSearchParams. */
function queryOf(req: FastifyRequest): URLSearchParams {
  const q = req.url.indexOf('?');
  return new URLSearchParams(q >= 0 ? req.url.slice(q + 1) : '');
}

/** Parses the `n` and `last` pagination parameters; BAD_REQUEST for an `n` that is not a non-negative integer. */
export function pagination(query: URLSearchParams): { n: number | null; last: string | null } {
  const rawN = query.get('n');
  let n: number | null = null;
  if (rawN !== null && rawN !== '') {
    if (!/^\d{1,15}$/.test(rawN)) throw fail('BAD_REQUEST', `invalid n=${rawN}: the page size must be a non-negative integer`, { n: rawN });
    n = Number(rawN);
  }
  const last = query.get('last');
  return { n, last: last === null || last === '' ? null : last };
}

/** The `Link` header for the next page of a paginated list, or null when none follows. */
export function nextLink(path: string, n: number | null, page: NamePage): string | null {
  if (page.next === null) return null;
  const q = new URLSearchParams();
  if (n !== null) q.set('n', String(n));
  q.set('last', page.next);
  return `<${path}?${q.toString()}>; rel="next"`;
}

function manifestLocation(name: RepoName, digest: Digest): string {
  return `/v2/${name}/manifests/${digest}`;
}

/**
 * The reference of a GET or HEAD: a malformed one names no manifest, so it is MANIFEST_UNKNOWN
 * (404), as the OCI conformance suite expects (`.INVALID_MANIFEST_NAME`); a PUT of one stays 400.
 */
function readableReference(arg: string): Reference {
  try {
    return parseReference(arg);
  } catch (err) {
    if (isDomainError(err, 'MANIFEST_INVALID')) throw fail('MANIFEST_UNKNOWN', `manifest unknown: "${arg}" is neither a tag nor a digest`, { reference: arg });
    throw err;
  }
}

/** The manifest, tag list, referrers and catalog handlers of the /v2 dispatcher. */
export function manifestRoutes(deps: AppDeps): OciRoutes {
  const registry = deps.registry;
  const limit = deps.config.registry.max_manifest_bytes;

  const putManifest = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const ref = parseReference(t.arg);
    const body = await readBody(req, limit, 'SIZE_INVALID');
    const { digest, subject } = await registry.putManifest(callContext(req), t.name, ref, req.headers['content-type'] ?? '', body);
    reply.code(201).header('location', manifestLocation(t.name, digest)).header('docker-content-digest', digest).header('content-length', '0');
    if (subject !== null) reply.header('oci-subject', subject);
    return reply.send();
  };

  const fetchManifest = (pull: boolean) => async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const ref = readableReference(t.arg);
    const m = await registry.getManifest(callContext(req), t.name, ref, pull);
    reply
      .code(200)
      .header('content-type', m.mediaType)
      .header('content-length', String(m.body.length))
      .header('docker-content-digest', m.digest)
      .header('etag', `"${m.digest}"`);
    if (!pull) return reply.send();
    deps.metrics.bytesOut.inc(m.body.length);
    return reply.send(m.body);
  };

  const deleteManifest = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    await registry.deleteManifest(callContext(req), t.name, parseReference(t.arg));
    return reply.code(202).header('content-length', '0').send();
  };

  const listTags = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const { n, last } = pagination(queryOf(req));
    const page = await registry.listTags(callContext(req), t.name, n, last);
    const link = nextLink(`/v2/${t.name}/tags/list`, n, page);
    if (link !== null) reply.header('link', link);
    return reply.code(200).type('application/json').send({ name: t.name, tags: page.names });
  };

  const catalog = async (req: FastifyRequest, reply: FastifyReply) => {
    const { n, last } = pagination(queryOf(req));
    const page = await registry.catalog(callContext(req), n, last);
    const link = nextLink('/v2/_catalog', n, page);
    if (link !== null) reply.header('link', link);
    return reply.code(200).type('application/json').send({ repositories: page.names });
  };

  const referrers = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const digest = parseDigest(t.arg);
    const wanted = queryOf(req).get('artifactType');
    const { index, filtered } = await registry.referrers(callContext(req), t.name, digest, wanted === null || wanted === '' ? null : wanted);
    if (filtered) reply.header('oci-filters-applied', 'artifactType');
    // A Buffer, so Fastify sends the media type exactly (it appends a charset to string bodies).
    const body = Buffer.from(JSON.stringify(index));
    deps.metrics.bytesOut.inc(body.length);
    return reply.code(200).header('content-type', ociIndex).send(body);
  };

  return {
    manifest: { PUT: putManifest, GET: fetchManifest(true), HEAD: fetchManifest(false), DELETE: deleteManifest },
    tags: { GET: listTags },
    referrers: { GET: referrers },
    catalog,
  };
}
