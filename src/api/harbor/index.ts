// PLACEHOLDER: being written by the Harbor API helper.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
/** The /api/v2.0 plugin (placeholder). */
export function harborApi(_deps: AppDeps) {
  return async (_app: FastifyInstance): Promise<void> => {};
}
