/** Helpers shared by the /api/v2.0 routes: the call context of a request and path decoding. */
import type { FastifyRequest } from 'fastify';
import { fail } from '../../domain/index.ts';
import type { CallContext } from '../../registry/index.ts';
import type { ProjectKey } from '../../projects/index.ts';

/** The service call context of a request: its actor and what events record about it. */
export function callContext(req: FastifyRequest): CallContext {
  const ua = req.headers['user-agent'];
  return {
    actor: req.actor,
    request: { id: req.id, addr: req.ip, host: req.headers.host ?? '', method: req.method, useragent: typeof ua === 'string' ? ua : '' },
  };
}

/** The project named in `{project_name_or_id}`, honouring `X-Is-Resource-Name: true`. */
export function projectKey(req: FastifyRequest, nameOrId: string): ProjectKey {
  const h = req.headers['x-is-resource-name'];
  return { nameOrId, isName: typeof h === 'string' && h.toLowerCase() === 'true' };
}

/** The project named in `{project_name}` of repository and artifact paths: always a name, as in Harbor. */
export function projectName(name: string): ProjectKey {
  return { nameOrId: name, isName: true };
}

/**
 * Decodes `{repository_name}`. Harbor clients encode a slash twice (`a/b` -> `a%252Fb`); the router
 * has undone one level, so one more decode yields the name (a single-encoded `a%2Fb` also works).
 */
export function repositoryParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw fail('BAD_REQUEST', `invalid repository name encoding "${raw}"`);
  }
}
