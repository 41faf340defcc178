/**
 * Who may read /metrics. With `metrics.auth` (the default) a scrape needs a system admin's Basic
 * credentials (through the failed-login limiter, like every login) or, when `metrics.token` is
 * set, `Authorization: Bearer <metrics.token>`; anything else is a 401 with the Basic challenge
 * (403 for a known user who is not a system admin), in Harbor's error shape. With
 * `metrics.auth: false` /metrics is open, for a Prometheus on a private network.
 * Registry bearer tokens from /service/token are not accepted here.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from './deps.ts';
import { Authenticator } from '../auth/index.ts';
import { authenticateBasic } from './credentials.ts';
import { sendHarborError } from './harbor/errors.ts';

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** An onRequest hook for the /metrics route: undefined to let the scrape through, else the sent error. */
export function metricsGuard(deps: AppDeps) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const { auth, token } = deps.config.metrics;
    if (!auth) return undefined;
    const header = req.headers.authorization;
    if (header !== undefined && /^bearer /i.test(header)) {
      if (token !== undefined && sameSecret(header.slice(7).trim(), token)) return undefined;
      return sendHarborError(reply, 401, 'UNAUTHORIZED', 'invalid metrics token');
    }
    const basic = Authenticator.parseBasic(header);
    if (basic && basic.username !== '') {
      const actor = await authenticateBasic(deps, basic.username, basic.password, req.ip, '/metrics');
      if (actor?.sysadmin === true) return undefined;
      if (actor) {
        return sendHarborError(reply, 403, 'FORBIDDEN', '/metrics is for system admins and the metrics token');
      }
      return sendHarborError(reply, 401, 'UNAUTHORIZED', 'invalid username or password');
    }
    return sendHarborError(reply, 401, 'UNAUTHORIZED', "/metrics needs a system admin's credentials or the metrics token (metrics.auth)");
  };
}
