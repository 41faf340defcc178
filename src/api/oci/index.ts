/**
 * The /v2 plugin: the OCI Distribution 1.1 API. One wildcard route dispatches on the path tail
 * (names.ts) to handler tables (routing.ts) from blobs.ts and manifests.ts. No body parser runs:
 * uploads stream `req.raw`, manifests use readBody (body.ts). Every response carries
 * `Docker-Distribution-API-Version: registry/2.0`; every error is spec-shaped
 * (`{"errors":[{"code","message","detail"}]}`) through the one table in errors.ts.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { fail, isDomainError, type ErrorCode } from '../../domain/index.ts';
import { badCredentialsMessage, registryChallenge, resolveActor } from '../credentials.ts';
import { blobRoutes, mountSourceScope } from './blobs.ts';
import { ociErrorBody, ociErrorTable, ociUnknownError } from './errors.ts';
import { manifestRoutes } from './manifests.ts';
import { parseOciPath } from './names.ts';
import { mergeRoutes, type OciMethod, type OciRoutes } from './routing.ts';

/** A fallback 401 challenge; the plugin's onSend hook replaces it with the token flow's Bearer challenge (credentials.ts). */
export const wwwAuthenticate = 'Basic realm="wharf"';

const methods: OciMethod[] = ['GET', 'HEAD', 'PUT', 'POST', 'PATCH', 'DELETE'];

function isOciMethod(m: string): m is OciMethod {
  // Widened to string[] only to ask includes() about an arbitrary string.
  return (methods as string[]).includes(m);
}

/** The domain code for one of Fastify's own errors (bad framing, body too large, ...). */
function codeForStatus(status: number): ErrorCode {
  if (status === 413) return 'SIZE_INVALID';
  if (status === 404) return 'NOT_FOUND';
  if (status === 405 || status === 415) return 'UNSUPPORTED';
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 429) return 'TOOMANYREQUESTS';
  return 'BAD_REQUEST';
}

/**
 * Sends a spec-shaped error with the table's status, or `status` for an HTTP-level error that
 * keeps its own (Fastify's 415 for a Content-Type it cannot parse, an unsupported coding).
 */
function sendError(reply: FastifyReply, code: ErrorCode, message: string, detail?: unknown, status?: number): FastifyReply {
  const entry = ociErrorTable[code];
  if (code === 'UNAUTHORIZED') reply.header('www-authenticate', wwwAuthenticate);
  return reply.code(status ?? entry.status).type('application/json; charset=utf-8').send(ociErrorBody(entry.code, message, detail));
}

/** `challenge` with `extra` added to its scope list (space-separated, as the token spec writes several). */
function withScope(challenge: string, extra: string | null): string {
  if (extra === null) return challenge;
  const m = /,scope="([^"]*)"$/.exec(challenge);
  return m ? `${challenge.slice(0, m.index)},scope="${m[1] ?? ''} ${extra}"` : `${challenge},scope="${extra}"`;
}

/** Codings Wharf stores bodies under: none, `identity`, and `chunked` framing (which Node removes). */
const plainCodings = new Set(['', 'identity', 'chunked']);

/**
 * The first transfer or content coding of a request other than chunked framing and identity
 * (`Transfer-Encoding: gzip, chunked`, `Content-Encoding: gzip`), or null. Wharf stores upload
 * and manifest bodies byte for byte and decodes nothing, so such a body would be stored still
 * encoded, under a digest that does not describe it.
 */
export function unsupportedCoding(headers: { 'transfer-encoding'?: string; 'content-encoding'?: string }): string | null {
  for (const header of [headers['transfer-encoding'], headers['content-encoding']]) {
    for (const coding of (header ?? '').split(',')) {
      const c = coding.trim().toLowerCase();
      if (!plainCodings.has(c)) return c;
    }
  }
  return null;
}

/** Path kinds whose PUT, POST or PATCH body Wharf stores. */
const storedBodies = new Set(['uploads', 'upload', 'manifest']);

/** The /v2 Fastify plugin (registered at prefix /v2 by src/app.ts). */
export function ociApi(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    const routes: OciRoutes = mergeRoutes(manifestRoutes(deps), blobRoutes(deps));

    // Bodies are never parsed here: every content type (or none) passes through untouched.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req: FastifyRequest, _payload: unknown, done: (err: Error | null, body?: unknown) => void) => done(null));

    const identify = resolveActor(deps, '/v2');
    app.addHook('onRequest', async (req, reply) => {
      reply.header('docker-distribution-api-version', 'registry/2.0');
      await identify(req);
      if (req.badCredentials) throw fail('UNAUTHORIZED', badCredentialsMessage(req));
    });

    // Every 401 carries the Bearer challenge of the token flow, with the scopes the request needs.
    app.addHook('onSend', async (req, reply, payload) => {
      if (reply.statusCode === 401) reply.header('www-authenticate', withScope(registryChallenge(deps.config.external_url, req.method, req.url), mountSourceScope(req)));
      return payload;
    });

    app.setErrorHandler(async (rawErr: FastifyError | Error, req, reply) => {
      // A full or failing disk (ENOSPC, SQLITE_FULL) is a 503 UNAVAILABLE, and /readyz says so.
      const err = deps.disk.unavailable(rawErr) ?? rawErr;
      if (isDomainError(err)) {
        if (ociErrorTable[err.code].status >= 500) req.log.error({ err }, 'registry error');
        return sendError(reply, err.code, err.message, err.detail);
      }
      const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
      // Fastify's own errors keep their status (a garbage Content-Type is its 415, not 405).
      if (status >= 400 && status < 500) return sendError(reply, codeForStatus(status), err.message, undefined, status);
      req.log.error({ err }, 'unexpected error in /v2');
      return reply
        .code(ociUnknownError.status)
        .type('application/json; charset=utf-8')
        .send(ociErrorBody(ociUnknownError.code, `internal error; request id ${req.id}`, { request_id: req.id }));
    });

    app.setNotFoundHandler(async (req, reply) => {
      reply.header('docker-distribution-api-version', 'registry/2.0');
      return sendError(reply, 'NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0] ?? ''}`);
    });

    // The API version check: 200 for an authenticated caller (a valid token, even an anonymous one), else the 401 challenge.
    app.get('/', async (req) => {
      if (req.actor.username === '' && !req.actor.tokenAccess) throw fail('UNAUTHORIZED', 'authentication required');
      return {};
    });

    app.route({
      method: ['GET', 'HEAD'],
      url: '/_catalog',
      exposeHeadRoute: false,
      handler: async (req, reply) => {
        if (req.method !== 'GET' || !routes.catalog) throw fail('UNSUPPORTED', `${req.method} /v2/_catalog is not supported`);
        return routes.catalog(req, reply);
      },
    });

    app.route({
      method: methods,
      url: '/*',
      exposeHeadRoute: false,
      handler: async (req, reply) => {
        const tail = req.url.slice(req.url.indexOf('/v2/') + '/v2/'.length);
        const target = parseOciPath(tail);
        if (!target) throw fail('NOT_FOUND', `no route for ${req.method} ${req.url.split('?')[0] ?? ''}`);
        const method = req.method;
        const handler = isOciMethod(method) ? routes[target.kind]?.[method] : undefined;
        if (!handler) throw fail('UNSUPPORTED', `${method} is not supported on ${target.kind} paths`, { method, kind: target.kind });
        if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE' && storedBodies.has(target.kind)) {
          const coding = unsupportedCoding(req.headers);
          if (coding !== null) {
            // Refused before the handler runs, so nothing of the body is written (an open upload keeps its size).
            reply.header('accept-encoding', 'identity');
            return sendError(reply, 'UNSUPPORTED', `the ${coding} coding is not supported: send the body unencoded (Transfer-Encoding chunked or none, no Content-Encoding)`, { coding }, 415);
          }
        }
        return handler(req, reply, target);
      },
    });
  };
}
