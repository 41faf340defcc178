/**
 * The /v2 routing contract between the plugin (src/api/oci/index.ts) and the route modules
 * (src/api/oci/blobs.ts, src/api/oci/manifests.ts).
 *
 * Repository names contain slashes, so /v2 has ONE wildcard route (`/v2/*`, every method) that
 * parses the path with {@link parseOciPath} (src/api/oci/names.ts) into an {@link OciTarget}:
 *
 *   /v2/<name>/blobs/uploads/        kind 'uploads'    arg ''
 *   /v2/<name>/blobs/uploads/<id>    kind 'upload'     arg <id>
 *   /v2/<name>/blobs/<digest>        kind 'blob'       arg <digest> (raw string; parse it)
 *   /v2/<name>/manifests/<ref>       kind 'manifest'   arg <reference> (raw string; parse it)
 *   /v2/<name>/tags/list             kind 'tags'       arg ''
 *   /v2/<name>/referrers/<digest>    kind 'referrers'  arg <digest> (raw string; parse it)
 *
 * `name` is already validated (NAME_INVALID otherwise, before any handler runs). The dispatcher
 * then calls `routes[kind][method]`; a kind with no handler for the method answers 405
 * UNSUPPORTED. `GET /v2/_catalog` calls `routes.catalog`.
 *
 * TO THE MANIFEST ENGINEER: `manifestRoutes(deps)` in manifests.ts should return an
 * {@link OciRoutes} with handlers for 'manifest' (GET, HEAD, PUT, DELETE), 'tags' (GET),
 * 'referrers' (GET) and `catalog`. Handlers throw DomainError (the plugin's error handler maps
 * it through src/api/oci/errors.ts) and either return a payload or call `reply.send()` and
 * return `reply`. Request bodies are NOT parsed: read one with `readBody(req, limit)` from
 * src/api/oci/body.ts. The plugin sets `Docker-Distribution-API-Version` and resolves
 * `req.actor` before handlers run.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RepoName } from '../../domain/index.ts';
import type { CallContext } from '../../registry/index.ts';

/** The kinds of /v2/<name>/... paths. */
export type OciPathKind = 'uploads' | 'upload' | 'blob' | 'manifest' | 'tags' | 'referrers';

/** HTTP methods the /v2 dispatcher routes. */
export type OciMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

/** A parsed /v2/<name>/... path. */
export interface OciTarget {
  /** The validated repository name. */
  name: RepoName;
  kind: OciPathKind;
  /** The last path segment (digest, reference or upload id), URL-decoded; '' for 'uploads' and 'tags'. */
  arg: string;
}

/** A handler for one kind of path and one method. */
export type OciHandler = (req: FastifyRequest, reply: FastifyReply, target: OciTarget) => Promise<unknown>;

/** Handlers by path kind and method, plus the catalog. */
export type OciRoutes = { [K in OciPathKind]?: Partial<Record<OciMethod, OciHandler>> } & {
  /** GET /v2/_catalog */
  catalog?: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
};

/** Merges route tables; a later table wins for the same kind and method. */
export function mergeRoutes(...tables: OciRoutes[]): OciRoutes {
  const out: OciRoutes = {};
  const kinds: OciPathKind[] = ['uploads', 'upload', 'blob', 'manifest', 'tags', 'referrers'];
  for (const t of tables) {
    for (const k of kinds) {
      const h = t[k];
      if (h) out[k] = { ...out[k], ...h };
    }
    if (t.catalog) out.catalog = t.catalog;
  }
  return out;
}

/** The service call context of a request: its actor and the request facts events carry. */
export function callContext(req: FastifyRequest): CallContext {
  return {
    actor: req.actor,
    request: {
      id: req.id,
      addr: req.ip,
      host: req.headers.host ?? '',
      method: req.method,
      useragent: req.headers['user-agent'] ?? '',
    },
  };
}
