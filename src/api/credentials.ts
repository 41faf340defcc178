/**
 * Resolves the caller of a request from its Authorization header (HTTP Basic for now; bearer
 * tokens arrive with issue 4). Shared by the /v2 and /api/v2.0 plugins as an onRequest hook.
 */
import type { FastifyRequest } from 'fastify';
import { Authenticator } from '../auth/index.ts';

/** Returns an onRequest hook that sets `req.actor` (and `req.badCredentials` on a failed login). */
export function resolveActor(authenticator: Authenticator) {
  return async (req: FastifyRequest): Promise<void> => {
    const basic = Authenticator.parseBasic(req.headers.authorization);
    // `skopeo --no-creds` and some clients send empty Basic credentials (`Og==`): that is anonymous.
    if (!basic || (basic.username === '' && basic.password === '')) return;
    const actor = await authenticator.verify(basic.username, basic.password);
    if (actor) req.actor = actor;
    else req.badCredentials = true;
  };
}
