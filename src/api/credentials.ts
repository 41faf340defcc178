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
 * Wrong credentials or a bad token set `req.badCredentials`; each surface answers it with a 401.
 */
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import { Authenticator, loadActor, tokenActor, tokenService, type Actor, type LoginLimiter, type TokenService } from '../auth/index.ts';
import { isDomainError } from '../domain/index.ts';
import { parseOciPath } from './oci/names.ts';

/** What resolving a caller needs. */
export interface CredentialDeps {
  db: Kysely<Database>;
  authenticator: Authenticator;
  tokens: TokenService;
  loginLimiter: LoginLimiter;
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

/** Returns an onRequest hook that sets `req.actor` (and `req.badCredentials` on a failed login). */
export function resolveActor(deps: CredentialDeps, surface: string) {
  return async (req: FastifyRequest): Promise<void> => {
    const header = req.headers.authorization;
    if (header && /^bearer /i.test(header)) {
      const actor = await authenticateBearer(deps, header.slice(7).trim(), surface);
      if (actor) req.actor = actor;
      else req.badCredentials = true;
      return;
    }
    const basic = Authenticator.parseBasic(header);
    if (!basic || (basic.username === '' && basic.password === '')) return;
    const actor = await authenticateBasic(deps, basic.username, basic.password, req.ip, surface);
    if (actor) req.actor = actor;
    else req.badCredentials = true;
  };
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
  return /^bearer /i.test(req.headers.authorization ?? '') ? 'invalid, expired or revoked bearer token; get a new one from /service/token' : 'invalid username or password';
}
