/** /healthz (the process is up), /readyz (the database answers), /metrics (Prometheus). */
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.ts';
import { metricsGuard } from './metrics-auth.ts';

/** Health and metrics routes. */
export function healthRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) => {
      try {
        await sql`select 1`.execute(deps.db);
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
