/** /healthz (the process is up), /readyz (the database answers and writes succeed), /metrics (Prometheus; who may read it: metrics-auth.ts). */
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from './deps.ts';
import { metricsGuard } from './metrics-auth.ts';

/** Health and metrics routes. */
export function healthRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    // Liveness: 200 while the process answers, also on a full disk (a restart would not help); `disk` names a write failure.
    app.get('/healthz', async () => (deps.disk.ok ? { status: 'ok' } : { status: 'ok', disk: deps.disk.status() }));
    app.get('/readyz', async (_req, reply) => {
      try {
        await sql`select 1`.execute(deps.db);
        // Not ready while writes fail for lack of space (or an I/O error); reads are still served.
        if (!deps.disk.ok) {
          reply.code(503);
          return { status: 'unavailable', error: 'writes to the registry storage are failing', disk: deps.disk.status() };
        }
        return { status: 'ready' };
      } catch (err) {
        reply.code(503);
        return { status: 'unavailable', error: (err as Error).message };
      }
    });
    app.get('/metrics', { onRequest: metricsGuard(deps) }, async (_req, reply) => {
      const { contentType, body } = await deps.metrics.render();
      reply.header('content-type', contentType);
      return body;
    });
  };
}
