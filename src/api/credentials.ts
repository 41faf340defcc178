/**
 * Resolves the caller of a request from its Authorization header, for /v2, /api/v2.0 and
 * /service/token:
 * - no header, or empty Basic credentials (`skopeo --no-creds` sends `Og==`): anonymous;
 * - `Basic user:password` (users and robots): checked by the Authenticator, after the failed-login
 *   limiter (a locked name or address is a 429 TOOMANYREQUESTS, correct password or not);
 * - `Bearer <jwt>` from /service/token: signature, issuer, audience, expiry checked; the caller is
 *   reloaded (`loadActor`) so a disabled user or robot is refused at once. On /v2 the token's
 *   `access` claim becomes `actor.tokenAccess`, which the Authorizer requires for repository
 *   actions. On every other surface (/api/v2.0) the caller is a `token` actor (`tokenActor`): it
 *   may read what anonymous callers may and do the repository actions of its access list that
 *   its account may do, nothing else (docs/auth.md, "Registry tokens on the API").
 * - no Authorization header but a console session cookie (`sid`, src/auth/sessions.ts) naming a
 *   live session, on /api/v2.0 only (registry clients use tokens, so /v2 ignores it): the session's
 *   user (reloaded, so a disabled user is refused at once). A write (not GET/HEAD/OPTIONS) must then
 *   carry the session's CSRF token as `X-Harbor-CSRF-Token`, else 403 "CSRF token invalid".
 * Wrong credentials or a bad token set `req.badCredentials`; each surface answers it with a 401.
 */
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import { Authenticator, consoleSessions, csrfHeader, loadActor, parseCookies, sessionCookie, tokenActor, tokenService, tokensEqual, type Actor, type LoginLimiter, type TokenService } from '../auth/index.ts';
import { fail, isDomainError } from '../domain/index.ts';
import { parseOciPath } from './oci/names.ts';

/** What resolving a caller needs. */
export interface CredentialDeps {
  db: Kysely<Database>;
  authenticator: Authenticator;
  tokens: TokenService;
  loginLimiter: LoginLimiter;
  /** The console section of the configuration; absent or disabled: session cookies are ignored. */
  config?: { console: { enabled: boolean; session_timeout_minutes: number } };
}

/**
 * Checks a name and password through the failed-login limiter: the full Actor, or null for wrong
 * credentials (recorded as a failure). Throws TOOMANYREQUESTS while the name or address is locked.
 */
export async function authenticateBasic(deps: CredentialDeps, username: string, password: string, address: string, surface: string): Promise<Actor | null> {
  const seen = await deps.loginLimiter.check(username, address, surface);
  // The Authenticator returns the full Actor (roles, robot permissions) as the database has it now.
  const actor = await deps.authenticator.verify(username, password);
  if (!actor) {
    await deps.loginLimiter.recordFailure(username, address, surface);
    return null;
  }
  await deps.loginLimiter.recordSuccess(username, seen);
  return actor;
}

/** The surface whose bearer-token callers keep their account's identity (narrowed by `tokenAccess`). */
const registrySurface = '/v2';

/**
 * Verifies a bearer token: null when it is not valid; on /v2 the token's account with
 * `tokenAccess` set; on any other surface a `token` actor (see `tokenActor`).
 */
export async function authenticateBearer(deps: CredentialDeps, token: string, surface: string): Promise<Actor | null> {
  let verified;
  try {
    verified = await deps.tokens.verify(token);
  } catch (err) {
    if (isDomainError(err, 'UNAUTHORIZED')) return null;
    throw err;
  }
  const base = verified.principal === null ? anonymousActor() : await loadActor(deps.db, verified.principal);
  if (!base) return null;
  return surface === registrySurface ? { ...base, tokenAccess: verified.access } : tokenActor(base, verified.access);
}

function anonymousActor(): Actor {
  return { kind: 'anonymous', username: '', userId: null, sysadmin: false };
}

/**
 * The caller an Authorization header value names on `surface`, from `address`: undefined for no
 * credentials (an anonymous caller), null for wrong credentials or a bad token.
 */
export async function authorizationActor(deps: CredentialDeps, header: string | undefined, address: string, surface: string): Promise<Actor | null | undefined> {
  if (header && /^bearer /i.test(header)) return authenticateBearer(deps, header.slice(7).trim(), surface);
  const basic = Authenticator.parseBasic(header);
  if (!basic || (basic.username === '' && basic.password === '')) return undefined;
  return authenticateBasic(deps, basic.username, basic.password, address, surface);
}

/** Returns an onRequest hook that sets `req.actor` (and `req.badCredentials` on a failed login). */
export function resolveActor(deps: CredentialDeps, surface: string) {
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    if (!header && surface !== registrySurface) {
      const actor = await sessionActor(deps, req);
      if (actor) req.actor = actor;
      return;
    }
    const actor = await authorizationActor(deps, header, req.ip, surface);
    if (actor === null) req.badCredentials = true;
    else if (actor) req.actor = actor;
  };
}

/** Methods that change nothing, exempt from the CSRF check. */
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The user of the console session the request's `sid` cookie names, or null (no cookie, no live
 * session, a disabled or deleted user). Throws FORBIDDEN for a write without the session's CSRF token.
 */
async function sessionActor(deps: CredentialDeps, req: FastifyRequest): Promise<Actor | null> {
  const c = deps.config?.console;
  if (!c?.enabled || !req.headers.cookie) return null;
  const id = parseCookies(req.headers.cookie).get(sessionCookie);
  if (!id) return null;
  const session = await consoleSessions(deps.db, c.session_timeout_minutes).resolve(id);
  if (!session) return null;
  const actor = await loadActor(deps.db, { kind: 'user', id: session.user_id });
  if (!actor) return null;
  if (!safeMethods.has(req.method)) {
    const given = req.headers[csrfHeader];
    if (typeof given !== 'string' || !tokensEqual(given, session.csrf)) throw fail('FORBIDDEN', 'CSRF token invalid');
  }
  return actor;
}

/**
 * The /v2 `WWW-Authenticate` challenge for a request: the token realm, the service, and, when the
 * request concerns a repository (or the catalog), the scope it needs (distribution's token spec):
 * `Bearer realm="<external_url>/service/token",service="wharf",scope="repository:<name>:pull,push"`.
 */
export function registryChallenge(externalUrl: string, method: string, url: string): string {
  const base = `Bearer realm="${externalUrl.replace(/\/+$/, '')}/service/token",service="${tokenService}"`;
  const scope = neededScope(method, url);
  return scope ? `${base},scope="${scope}"` : base;
}

function neededScope(method: string, url: string): string | null {
  const i = url.indexOf('/v2/');
  if (i < 0) return null;
  const tail = url.slice(i + 4);
  if (/^_catalog(\?|$)/.test(tail)) return 'registry:catalog:*';
  let target;
  try {
    target = parseOciPath(tail);
  } catch {
    return null;
  }
  if (!target) return null;
  const actions = method === 'GET' || method === 'HEAD' ? 'pull' : method === 'DELETE' ? 'delete' : 'pull,push';
  return `repository:${target.name}:${actions}`;
}

/** The 401 message for a request whose credentials were refused: says whether the token or the password failed. */
export function badCredentialsMessage(req: FastifyRequest): string {
  return badCredentialsText(req.headers.authorization);
}

/** The message of a 401 for the Authorization value `header`. */
export function badCredentialsText(header: string | undefined): string {
  return /^bearer /i.test(header ?? '') ? 'invalid, expired or revoked bearer token; get a new one from /service/token' : 'invalid username or password';
}
