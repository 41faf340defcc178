/**
 * Webhook relays (Wharf extension, src/webhooks/relay/): endpoints registries that are not Wharf
 * post their webhooks to.
 *
 *   POST   /projects/{p}/webhook/relays            {name, description?} -> 201 {id, name, ..., url, token}
 *   GET    /projects/{p}/webhook/relays            the project's relays (no tokens)
 *   DELETE /projects/{p}/webhook/relays/{id}       -> 200
 *   POST   /relay/{token}                          a Harbor, CNCF registry or Docker Hub webhook -> 202
 *
 * The receiving route is marked `pathToken` in its config, and the plugin's credential hooks
 * (src/api/harbor/index.ts) pass it by: its token is its credential, so it takes no user and
 * ignores an Authorization header (Harbor sends its policy's `auth_header` verbatim; a wrong Basic
 * one must not count as a failed login). Its body is limited to {@link relayBodyLimit}, and
 * its requests are not logged at info level (the path holds the token).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';
import type { PolicyScope } from '../../webhooks/index.ts';
import { callContext } from './context.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's credential is a token in its path: the user credential hooks leave it alone. */
    pathToken?: boolean;
  }
}

/** True for a route whose credential is a token in its path (the relay's receiving route). */
export function takesPathToken(req: FastifyRequest): boolean {
  return req.routeOptions.config.pathToken === true;
}

/** The largest payload a relay accepts (the smallest limit Harbor's consumers use). */
export const relayBodyLimit = 1024 * 1024;

type ProjectParams = { project_name_or_id: string };

function scopeOf(req: FastifyRequest<{ Params: ProjectParams }>): PolicyScope {
  const h = req.headers['x-is-resource-name'];
  return { kind: 'project', nameOrId: req.params.project_name_or_id, isName: typeof h === 'string' && h.toLowerCase() === 'true' };
}

/** The relay management routes (project admins). */
export function relayRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const relays = deps.relays;
    if (!relays) return;
    const base = '/projects/:project_name_or_id/webhook/relays';

    app.post<{ Params: ProjectParams; Body: unknown }>(base, async (req, reply) => {
      const created = await relays.create(callContext(req), scopeOf(req), req.body);
      return reply.code(201).header('location', `${(req.url.split('?')[0] ?? '').replace(/\/+$/, '')}/${created.id}`).send(created);
    });

    app.get<{ Params: ProjectParams }>(base, async (req) => relays.list(callContext(req), scopeOf(req)));

    app.delete<{ Params: ProjectParams & { relay_id: string } }>(`${base}/:relay_id`, async (req, reply) => {
      const raw = req.params.relay_id;
      if (!/^[0-9]{1,15}$/.test(raw)) throw fail('BAD_REQUEST', `invalid relay id "${raw}": expected a positive integer`);
      await relays.delete(callContext(req), scopeOf(req), Number(raw));
      return reply.code(200).send();
    });
  };
}

/** The receiving route: no user, the token in the path is the credential. */
export function relayReceiverRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const relays = deps.relays;
    if (!relays) return;
    app.post<{ Params: { token: string }; Body: unknown }>('/relay/:token', { bodyLimit: relayBodyLimit, logLevel: 'warn', config: { pathToken: true } }, async (req, reply) => {
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0] : v;
      const receipt = await relays.receive(req.params.token, { body: req.body, headers });
      return reply.code(202).send(receipt);
    });
  };
}
