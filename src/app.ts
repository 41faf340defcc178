/**
 * buildApp(deps): the Fastify instance with every API surface registered as its own encapsulated
 * plugin. It never listens; main.ts does, and tests use an ephemeral port.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import type { Actor } from './auth/index.ts';
import { SpanKind, contextFromTraceparent, markSpanError, runInContext, startSpan, type Context, type Span } from './observability/index.ts';
import { healthRoutes, ociApi, harborApi, msrApi, tokenApi, consoleApi, consoleChallengeHook, ociErrorBody, harborErrorBody, harborErrorHandler, harborNotFound, applyConnectionLimits, clientErrorHandler, serverOptions, isBlobUploadRequest, tlsServerOptions, followCertificate, type AppDeps } from './api/index.ts';

export type { AppDeps } from './api/index.ts';

/** The Harbor API's prefix; its routes answer with or without one trailing slash. */
const harborPrefix = '/api/v2.0/';

/**
 * Drops one trailing slash from an /api/v2.0 path (`/api/v2.0/quotas/?page=2` is
 * `/api/v2.0/quotas?page=2`), as Harbor's router does: Terraform pages `/quotas/`. Fastify's
 * `ignoreTrailingSlash` is router-wide, and /v2 must stay strict (`/v2/<name>/tags/list/` is not
 * a registry route), so the rewrite is scoped here, before routing.
 */
export function harborTrailingSlash(url: string): string {
  if (!url.startsWith(harborPrefix)) return url;
  const q = url.indexOf('?');
  const end = q < 0 ? url.length : q;
  if (end <= harborPrefix.length || url[end - 1] !== '/') return url;
  return url.slice(0, end - 1) + url.slice(end);
}

/** Harbor's answer to a write while `read_only` is on (its readonly middleware): 403 DENIED. */
export const readOnlyMessage = 'The system is in read only mode. Any modification is prohibited.';

/** Requests `read_only` lets through, besides GET, HEAD and OPTIONS: as Harbor, turning it off, signing in and token requests. */
function passesReadOnly(method: string, url: string): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return true;
  const path = url.split('?')[0] ?? url;
  if (method === 'PUT' && path === '/api/v2.0/configurations') return true;
  return method === 'POST' && (path === '/c/login' || path === '/service/token');
}

/** The span of each request in flight (with tracing on), ended by the onResponse hook. */
const requestSpans = new WeakMap<FastifyRequest, { span: Span; context: Context }>();

/**
 * With tracing on (docs/observability.md): a SERVER span per request on every surface, started in
 * onRequest (a child of the caller's `traceparent`, if any), active while the route's handler runs
 * (so the services' spans, the outbox row and outgoing calls join it), and ended in onResponse with
 * the route, method and status. Hooks only: nothing of Node or Fastify is patched.
 */
function traceRequests(app: FastifyInstance): void {
  app.addHook('onRequest', async (req) => {
    const given = req.headers['traceparent'];
    const s = startSpan(req.method, {
      kind: SpanKind.SERVER,
      parent: contextFromTraceparent(typeof given === 'string' ? given : undefined),
      attributes: { 'http.request.method': req.method, 'url.path': req.url.split('?')[0] ?? req.url, 'wharf.request_id': req.id },
    });
    if (s) requestSpans.set(req, s);
  });
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) => unknown;
    route.handler = function (this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) {
      return runInContext(requestSpans.get(req)?.context, () => handler.call(this, req, reply));
    } as RouteHandlerMethod;
  });
  app.addHook('onResponse', async (req, reply) => {
    const s = requestSpans.get(req);
    if (!s) return;
    requestSpans.delete(req);
    const route = req.routeOptions.url ?? 'unmatched';
    s.span.updateName(`${req.method} ${route}`);
    s.span.setAttributes({ 'http.route': route, 'http.response.status_code': reply.statusCode });
    if (reply.statusCode >= 500) markSpanError(s.span, `status ${reply.statusCode}`);
    s.span.end();
  });
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
    rewriteUrl: (req) => harborTrailingSlash(req.url ?? '/'),
    return503OnClosing: false,
    // Behind load balancers (docs/deployment.md): req.ip is the client they forwarded, not theirs.
    trustProxy: deps.config.server.trust_proxy.length > 0 ? deps.config.server.trust_proxy : false,
    // Header, keep-alive and socket timeouts (src/api/connections.ts; the `server` config section).
    ...serverOptions(deps.config.server),
    // tls: HTTPS with the certificate manager's pair, HTTP/2 too with tls.http2 (src/api/tls.ts, docs/tls.md).
    ...tlsServerOptions(deps.config, deps.tls),
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
  // A certificate replaced on disk (or renewed by tls.auto) is served to new connections without a restart.
  if (deps.tls) followCertificate(app.server, deps.tls);
  app.decorateRequest('actor', null as unknown as Actor);
  app.decorateRequest('badCredentials', false);
  if (deps.config.tracing.enabled) traceRequests(app);
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    req.badCredentials = false;
    req.actor = { kind: 'anonymous', username: '', userId: null, sysadmin: false };
  });
  // `read_only` (Harbor's /configurations): every write on every surface is refused before routing.
  app.addHook('onRequest', async (req, reply) => {
    if (passesReadOnly(req.method, req.url) || !(await deps.settings.readOnly())) return;
    const body = req.url.startsWith('/v2') ? ociErrorBody('DENIED', readOnlyMessage) : harborErrorBody('DENIED', readOnlyMessage);
    return reply.code(403).header('content-type', 'application/json; charset=utf-8').send(body);
  });
  // The console's API calls get their 401s without a Basic challenge (src/api/console.ts).
  app.addHook('onSend', consoleChallengeHook);
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
  // MSR's webhook API (docs/msr-api.md), on the same webhook policies.
  await app.register(msrApi(deps), { prefix: '/api/v0' });
  await app.register(tokenApi(deps));
  // The web console: /c/login, /c/log_out, /harbor/ and the `/` redirect (src/api/console.ts).
  await app.register(consoleApi(deps));
  for (const plugin of deps.plugins ?? []) await app.register(plugin);
  return app;
}
