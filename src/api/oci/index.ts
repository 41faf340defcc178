// PLACEHOLDER: being written by the registry helper.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
/** The /v2 plugin (placeholder). */
export function ociApi(_deps: AppDeps) {
  return async (_app: FastifyInstance): Promise<void> => {};
}
