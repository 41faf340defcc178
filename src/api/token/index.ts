/**
 * The /service/token plugin: the token endpoint of the Docker registry token flow.
 *
 *   GET  /service/token?service=wharf&scope=repository:library/alpine:pull,push[&scope=...][&account=name]
 *   POST /service/token   (form: grant_type=password, username, password, scope (space-separated), service)
 *
 * 1. A client calls /v2, gets `401` with `WWW-Authenticate: Bearer realm="<external_url>/service/token",
 *    service="wharf",scope="repository:<name>:<actions>"`.
 * 2. It calls this endpoint with the service and scopes, and HTTP Basic credentials (a user or a
 *    robot) or none (anonymous). Wrong credentials are a 401; a locked name or address a 429.
 * 3. The answer is `{token, access_token, expires_in, issued_at}`: a JWT granting, per requested
 *    repository, exactly the requested actions the caller is allowed (possibly none).
 * 4. The client repeats its /v2 request with `Authorization: Bearer <token>`.
 *
 * `account` is informational (docker sends the login name); the Basic credentials decide who the
 * caller is. Errors use the registry's `{"errors":[{"code","message"}]}` format.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../deps.ts';
import { Authenticator, parseScope, tokenService, type Actor, type Scope } from '../../auth/index.ts';
import { fail, isDomainError } from '../../domain/index.ts';
import { authenticateBasic } from '../credentials.ts';
import { ociErrorBody, ociErrorTable } from '../oci/errors.ts';

const surface = '/service/token';

function strings(v: unknown): string[] {
  if (v === undefined) return [];
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

function scopesOf(raw: string[]): Scope[] {
  // A scope parameter may itself hold several space-separated scopes (as in the POST form).
  return raw
    .flatMap((s) => s.split(' '))
    .filter((s) => s !== '')
    .map(parseScope);
}

function checkService(v: unknown): void {
  if (v === undefined || v === '') return;
  if (v !== tokenService) throw fail('BAD_REQUEST', `unknown service "${String(v)}"; this registry's service is "${tokenService}"`);
}

async function sendToken(deps: AppDeps, actor: Actor, scopes: Scope[], reply: FastifyReply) {
  const t = await deps.tokens.issue(actor, scopes);
  reply.header('cache-control', 'no-store');
  return { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt };
}

/** The /service/token Fastify plugin (registered by buildApp). */
export function tokenApi(deps: AppDeps) {
  return async (app: FastifyInstance): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))));
    });
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, _body, done) => done(null, {}));

    app.setErrorHandler(async (err: FastifyError | Error, req, reply) => {
      const code = isDomainError(err) ? err.code : 'statusCode' in err && err.statusCode === 413 ? 'SIZE_INVALID' : 'statusCode' in err && err.statusCode && err.statusCode < 500 ? 'BAD_REQUEST' : null;
      if (code === null) {
        req.log.error({ err }, 'unexpected error in /service/token');
        return reply.code(500).type('application/json; charset=utf-8').send(ociErrorBody('UNKNOWN', `internal error; request id ${req.id}`));
      }
      const entry = ociErrorTable[code];
      if (entry.status === 401) reply.header('www-authenticate', `Basic realm="${tokenService}"`);
      return reply.code(entry.status).type('application/json; charset=utf-8').send(ociErrorBody(entry.code, err.message));
    });

    app.get<{ Querystring: Record<string, unknown> }>('/service/token', async (req, reply) => {
      checkService(req.query.service);
      const scopes = scopesOf(strings(req.query.scope));
      const actor = await caller(deps, req);
      return sendToken(deps, actor, scopes, reply);
    });

    app.post<{ Body: Record<string, unknown> | undefined }>('/service/token', async (req, reply) => {
      const body = req.body ?? {};
      const grant = body.grant_type;
      if (grant !== 'password') throw fail('BAD_REQUEST', `unsupported grant_type "${String(grant ?? '')}"; this token service supports "password"`);
      checkService(body.service);
      const username = typeof body.username === 'string' ? body.username : '';
      const password = typeof body.password === 'string' ? body.password : '';
      if (username === '') throw fail('BAD_REQUEST', 'username is required with grant_type=password');
      const actor = await authenticateBasic(deps, username, password, req.ip, surface);
      if (!actor) throw fail('UNAUTHORIZED', 'invalid username or password');
      return sendToken(deps, actor, scopesOf(strings(body.scope)), reply);
    });
  };
}

/** The caller of a GET: Basic credentials (user or robot), or anonymous. */
async function caller(deps: AppDeps, req: FastifyRequest): Promise<Actor> {
  const basic = Authenticator.parseBasic(req.headers.authorization);
  if (!basic || (basic.username === '' && basic.password === '')) return { kind: 'anonymous', username: '', userId: null, sysadmin: false };
  const actor = await authenticateBasic(deps, basic.username, basic.password, req.ip, surface);
  if (!actor) throw fail('UNAUTHORIZED', 'invalid username or password');
  return actor;
}
