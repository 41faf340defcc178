// PLACEHOLDER: the webhook API helper replaces this file.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
/** Harbor's webhook policy API and Wharf's webhook extensions under /api/v2.0 (placeholder). */
export function webhookRoutes(_deps: AppDeps) {
  return async (_app: FastifyInstance): Promise<void> => {};
}
