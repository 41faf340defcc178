/**
 * Harbor's system settings under /api/v2.0 (system admins):
 *   GET /configurations   ConfigurationsResponse: every key as {value, editable}; passwords left out
 *   PUT /configurations   Configurations: writable keys only (docs/harbor-api.md "Configurations") -> 200
 * The settings service (src/settings/) decides who may and what a value may be.
 */
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { callContext } from './context.ts';

/** Routes for /configurations. */
export function configurationRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/configurations', async (req) => deps.settings.getConfigurations(callContext(req)));
    app.put<{ Body: unknown }>('/configurations', async (req, reply) => {
      await deps.settings.updateConfigurations(callContext(req), req.body);
      return reply.code(200).send();
    });
  };
}
