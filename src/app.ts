/**
 * buildApp(deps): the Fastify instance with every API surface registered as its own encapsulated
 * plugin. It never listens; main.ts does, and tests use an ephemeral port.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import type { Kysely } from 'kysely';
import type { Config } from './config/index.ts';
import type { Database } from './db/index.ts';
import type { Authenticator, Authorizer, Actor, UserService, TokenService, LoginLimiter } from './auth/index.ts';
import type { Registry } from './registry/types.ts';
import type { ProjectService } from './projects/index.ts';
import type { QuotaService } from './projects/quotas.ts';
import type { AuditService } from './audit/index.ts';
import type { DiskMonitor, Metrics } from './observability/index.ts';
import type { BlobStore } from './storage/index.ts';
import type { WebhookServices } from './webhooks/index.ts';
import type { GcReport } from './registry/index.ts';
import { healthRoutes } from './api/health.ts';
import { ociApi } from './api/oci/index.ts';
import { harborApi } from './api/harbor/index.ts';
import { tokenApi } from './api/token/index.ts';
import { ociErrorBody } from './api/oci/errors.ts';
import { harborErrorBody, harborErrorHandler, harborNotFound } from './api/harbor/errors.ts';
import { applyConnectionLimits, clientErrorHandler, serverOptions } from './api/connections.ts';
import { isBlobUploadRequest } from './api/oci/blobs.ts';

/** Everything the HTTP layer needs: services only, no drivers. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Kysely<Database>;
  blobs: BlobStore;
  authenticator: Authenticator;
  authorizer: Authorizer;
  /** Users: admin management, password changes, the current user. */
  users: UserService;
  /** Issues and verifies the registry's bearer tokens. */
  tokens: TokenService;
  /** Failed-login limiting; its `loginFailures` emitter announces each failure. */
  loginLimiter: LoginLimiter;
  registry: Registry;
  projects: ProjectService;
  /** Webhook policies, delivery history (redelivery included) and the global switch. */
  webhooks: WebhookServices;
  /** Runs garbage collection now (the admin API's gc trigger). */
  gc: () => Promise<GcReport>;
  /** Storage quotas (Harbor's /quotas). */
  quotas: QuotaService;
  /** The audit log (Harbor's /audit-logs, /projects/{p}/logs). */
  audit: AuditService;
  /** Whether writes can succeed (a full disk): /healthz and /readyz report it, error handlers answer 503. */
  disk: DiskMonitor;
  /** Extra plugins registered by the composition root (webhooks API and the like). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller (anonymous when no valid credentials were given). */
    actor: Actor;
    /** True when credentials were sent but were wrong. */
    badCredentials: boolean;
  }
}

/** Builds the Fastify app. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps Fastify's default generic so plugins type-check.
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,128}$/.test(given) ? given : randomUUID();
    },
    logController: new LogController({ requestIdLogLabel: 'request_id' }),
    bodyLimit: deps.config.registry.max_manifest_bytes + 1,
    // Registry clients send paths with encoded characters; the router must see them raw.
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 1024 },
    return503OnClosing: false,
    // Header, keep-alive and socket timeouts (src/api/connections.ts; the `server` config section).
    ...serverOptions(deps.config.server),
    // Broken HTTP, oversized or late headers: a small JSON error in the surfaces' shape, then close.
    clientErrorHandler: clientErrorHandler(deps.config.server, deps.logger),
    // Errors Fastify raises before any plugin runs (a malformed %-escape in the URL, say) still
    // answer in the protocol's own error format.
    frameworkErrors: (err, req, rawReply) => {
      const message = `bad request: ${err.message}`;
      // The hook's reply is typed against an unresolved route schema; it is an ordinary reply.
      const reply = rawReply as unknown as FastifyReply;
      reply.code(400).header('content-type', 'application/json; charset=utf-8');
      if (req.url.startsWith('/v2')) void reply.send(ociErrorBody('NAME_INVALID', message));
      else void reply.send(harborErrorBody('BAD_REQUEST', message));
    },
  });
  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('badCredentials', false);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    req.badCredentials = false;
    req.actor = { kind: 'anonymous', username: '', userId: null, sysadmin: false };
  });
  applyConnectionLimits(app, deps.config.server, isBlobUploadRequest);
  // Outside the surfaces that set their own (/v2, /api/v2.0, /service/token): Harbor's shape, the
  // console's and every non-registry client's, for unknown paths and Fastify's own errors.
  app.setErrorHandler(harborErrorHandler);
  app.setNotFoundHandler(harborNotFound);
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });
  await app.register(healthRoutes(deps));
  await app.register(ociApi(deps), { prefix: '/v2' });
  await app.register(harborApi(deps), { prefix: '/api/v2.0' });
  await app.register(tokenApi(deps));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
