/**
 * GET /systeminfo/getcert: the CA certificate clients add to their trust store (docs/tls.md), as
 * Harbor serves its `/etc/core/ca/ca.crt`: `application/octet-stream`, `Content-Disposition:
 * attachment; filename=ca.crt`, no authentication. With `tls.auto` it is the generated CA; with
 * `tls.cert_file` it is `tls.ca_file` when set. Without one: Harbor's 404 NOT_FOUND,
 * `cert not found in path: <path>`.
 */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail } from '../../domain/index.ts';

/** The getcert route. */
export function tlsCertRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/systeminfo/getcert', async (_req, reply) => {
      const ca = deps.tls?.caCertificate() ?? null;
      if (ca === null) throw fail('NOT_FOUND', `cert not found in path: ${deps.tls?.caPath() ?? join(deps.config.data_dir, 'tls', 'ca.crt')}`);
      return reply.type('application/octet-stream').header('content-disposition', 'attachment; filename=ca.crt').send(Buffer.from(ca, 'utf8'));
    });
  };
}
