/**
 * System endpoints:
 *   GET  /systeminfo            Harbor's GeneralInfo: harbor_version (the Harbor API level Wharf answers
 *                               as) with wharf_version beside it; read_only, project_creation_restriction
 *                               and banner_message from the system settings
 *   GET  /ping                  "Pong"
 *   GET  /health                Harbor's {status, components[]}: database and storage
 * and, from ./jobs.ts, Harbor's views over the job framework: GC and audit log purge history,
 * schedules, stop and logs; /schedules; /jobservice.
 */
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail, makeDigest } from '../../domain/index.ts';
import pkg from '../../../package.json' with { type: 'json' };
import { callContext } from './context.ts';
import { jobRoutes } from './jobs.ts';

/**
 * `harbor_version`: the Harbor release whose API Wharf answers as, in Harbor's `<version>-<build>`
 * form (the build part names Wharf). `wharf_version` beside it is Wharf's own.
 */
export const harborApiVersion = 'v2.15.0-wharf';

/** System info, ping, health, and the job routes (./jobs.ts). */
export function systemRoutes(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get('/systeminfo', async () => {
      const external = deps.config.external_url;
      let registryUrl = external;
      try {
        registryUrl = new URL(external).host;
      } catch {
        /* external_url is validated as a URL by the config schema; keep it as given otherwise */
      }
      const [readOnly, creation, banner, notifications] = await Promise.all([
        deps.settings.readOnly(),
        deps.settings.projectCreationRestriction(),
        deps.settings.bannerMessage(),
        deps.webhooks.settings.notificationsEnabled(),
      ]);
      // db_auth or ldap_auth (docs/ldap.md).
      const authMode = String(await deps.settings.value('auth_mode'));
      // Harbor omits authproxy_settings unless auth_mode is http_auth, which Wharf never is.
      return {
        harbor_version: harborApiVersion,
        wharf_version: `v${pkg.version}`,
        external_url: external,
        registry_url: registryUrl,
        auth_mode: authMode,
        primary_auth_mode: false,
        project_creation_restriction: creation,
        self_registration: false,
        // As Harbor: a CA to download (/systeminfo/getcert) and an https external_url.
        has_ca_root: (deps.tls?.caCertificate() ?? null) !== null && external.startsWith('https://'),
        read_only: readOnly,
        with_chartmuseum: false,
        notification_enable: notifications,
        registry_storage_provider_name: deps.config.storage.driver,
        banner_message: banner,
        oidc_provider_name: '',
        current_time: new Date().toISOString(),
      };
    });

    app.get('/ping', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('Pong'));

    app.get('/health', async () => {
      const components: Array<{ name: string; status: 'healthy' | 'unhealthy'; error?: string }> = [];
      try {
        await sql`select 1`.execute(deps.db);
        components.push({ name: 'database', status: 'healthy' });
      } catch (err) {
        components.push({ name: 'database', status: 'unhealthy', error: err instanceof Error ? err.message : String(err) });
      }
      try {
        await deps.blobs.stat(makeDigest('sha256', '0'.repeat(64)));
        components.push({ name: 'storage', status: 'healthy' });
      } catch (err) {
        components.push({ name: 'storage', status: 'unhealthy', error: err instanceof Error ? err.message : String(err) });
      }
      return { status: components.every((c) => c.status === 'healthy') ? 'healthy' : 'unhealthy', components };
    });

    await app.register(jobRoutes({ jobs: deps.jobs, authorizer: deps.authorizer }));
  };
}
