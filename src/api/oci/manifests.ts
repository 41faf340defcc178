// PLACEHOLDER: the manifest helper replaces this file.
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
/** Manifest, tag list, referrers and catalog routes under /v2 (placeholder). */
export function manifestRoutes(_deps: AppDeps) {
  return async (_app: FastifyInstance): Promise<void> => {};
}
