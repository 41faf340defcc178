/**
 * The token service of the Docker registry token flow (distribution's token, jwt and scope specs):
 * it grants, per requested scope, exactly the actions the Authorizer allows the authenticated actor
 * and signs them into a short-lived JWT; /v2 and /api/v2.0 verify such tokens.
 *
 * Keys: an ES256 key pair is generated on first use and kept in `token_signing_keys` (so tokens
 * survive a restart and every process sharing the database accepts them); the oldest key signs,
 * any stored key verifies (by `kid`). Creation is insert-if-absent in one serialized transaction,
 * so instances starting together on one database all sign with the same key.
 *
 * Claims: `iss` = {@link tokenIssuer}, `sub` = the user or robot name ('' for anonymous),
 * `aud` = the service (`wharf`), `exp`/`nbf`/`iat`, a random `jti`, the `access` list
 * `[{type, name, actions}]`, and Wharf's `wharf_principal` (`{kind, id}` of the user or robot, or
 * null for anonymous) so the verifier can reload the caller's current rights.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, decodeProtectedHeader, type JWK, type CryptoKey, type JWTPayload } from 'jose';
import { sql, type Kysely } from 'kysely';
import { isPostgres, type Database } from '../db/index.ts';
import { fail, isDomainError, parseRepoName } from '../domain/index.ts';
import type { Actor } from './actor.ts';
import { isScannerActor, scannerPullAction, scannerUsername } from './scanner-credential.ts';
import type { Action, Authorizer } from './authorizer.ts';

/** The `service` (JWT audience) of Wharf's registry. */
export const tokenService = 'wharf';
/** The JWT issuer. */
export const tokenIssuer = 'wharf-token-issuer';
const alg = 'ES256';
/** The advisory lock (PostgreSQL) under which the first signing key is created. */
const signingKeyLockKey = 0x77686b79;

/** One requested resource scope: `repository:library/alpine:pull,push`. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

/** One entry of the token's `access` claim. */
export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** Who a token speaks for: a user or robot id, a scanner's repository (scanner-credential.ts), or null for an anonymous token. */
export type TokenPrincipal = { kind: 'user' | 'robot'; id: number } | { kind: 'scanner'; repository: string } | null;

/** A signed token and its facts, as /service/token answers. */
export interface IssuedToken {
  token: string;
  /** Seconds. */
  expiresIn: number;
  /** RFC 3339. */
  issuedAt: string;
  access: AccessEntry[];
}

/** What a verified token says. */
export interface VerifiedToken {
  subject: string;
  principal: TokenPrincipal;
  /** Repository name -> granted actions. */
  access: Map<string, Set<string>>;
}

/**
 * Parses one scope string; throws BAD_REQUEST when malformed. A `repository` scope's name must be
 * a repository name /v2 accepts (`parseRepoName`, the same parser): `private/../p2/app`, upper
 * case, escapes or a name without a project are malformed scopes, not names granted nothing.
 */
export function parseScope(raw: string): Scope {
  const first = raw.indexOf(':');
  const last = raw.lastIndexOf(':');
  if (first <= 0 || last === first) throw fail('BAD_REQUEST', `invalid scope "${raw}": expected type:name:actions`);
  // A resource class (`repository(plugin)`) does not change what is granted. String search, not
  // `/\(.*\)$/`, which backtracks quadratically on a scope of many `(`.
  const head = raw.slice(0, first);
  const open = head.indexOf('(');
  const type = open >= 0 && head.endsWith(')') && !/[\n\r\u2028\u2029]/.test(head) ? head.slice(0, open) : head;
  const name = raw.slice(first + 1, last);
  const actions = raw
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (name === '') throw fail('BAD_REQUEST', `invalid scope "${raw}": empty resource name`);
  if (type === 'repository') {
    try {
      parseRepoName(name);
    } catch (err) {
      if (!isDomainError(err, 'NAME_INVALID')) throw err;
      throw fail('BAD_REQUEST', `invalid scope "${raw}": ${err.message}`);
    }
  }
  return { type, name, actions };
}

/** Most scopes one token request may ask for. */
export const maxScopes = 100;

const repoActions: Record<string, Action> = { pull: 'pull', push: 'push', delete: 'delete' };

/** Everything the token service needs. */
export interface TokenServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** Token lifetime, seconds. */
  ttlSeconds: number;
}

interface KeySet {
  signing: { kid: string; key: CryptoKey };
  verifying: Map<string, CryptoKey>;
}

/** Issues and verifies registry bearer tokens. */
export class TokenService {
  private keys: Promise<KeySet> | undefined;
  private loadedAt = 0;

  constructor(private readonly deps: TokenServiceDeps) {}

  /** The actions `actor` may do on each requested scope (unknown types and actions are dropped). */
  async grant(actor: Actor, scopes: readonly Scope[]): Promise<AccessEntry[]> {
    if (scopes.length > maxScopes) throw fail('BAD_REQUEST', `too many scopes: at most ${maxScopes} per token`);
    const out: AccessEntry[] = [];
    for (const s of scopes) {
      if (s.type === 'registry') {
        // The catalog filters by the caller's rights itself; an authenticated caller may list it.
        if (s.name === 'catalog' && actor.username !== '' && s.actions.includes('*')) out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
        continue;
      }
      if (s.type !== 'repository') continue;
      const projectName = s.name.split('/')[0] ?? '';
      const row = await this.deps.db.selectFrom('projects').select(['name', 'public']).where('name', '=', projectName).executeTakeFirst();
      // A missing project is treated as private: only the system admin is granted anything on it.
      const project = { name: projectName, public: row?.public === 1 };
      const may = (a: Action) => this.deps.authorizer.allows(actor, a, project, s.name);
      const granted = new Set<string>();
      for (const a of s.actions) {
        const mapped = repoActions[a];
        if (mapped && may(mapped)) granted.add(a);
        else if (a === '*' && may('pull') && may('push') && may('delete')) granted.add('*');
      }
      const prev = out.find((e) => e.type === 'repository' && e.name === s.name);
      if (prev) for (const a of granted) prev.actions.includes(a) || prev.actions.push(a);
      else out.push({ type: 'repository', name: s.name, actions: [...granted] });
    }
    return out;
  }

  /** Grants `scopes` to `actor` and signs the result. */
  async issue(actor: Actor, scopes: readonly Scope[]): Promise<IssuedToken> {
    const access = await this.grant(actor, scopes);
    // A scanner credential exchanged for a token keeps its marker on the one repository it may pull.
    if (isScannerActor(actor)) for (const e of access) if (e.actions.includes('pull') && actor.tokenAccess?.get(e.name)?.has(scannerPullAction)) e.actions.push(scannerPullAction);
    return this.sign(actor.username, principalOf(actor), access, this.deps.ttlSeconds);
  }

  /**
   * A scanner's credential (scanner-credential.ts): a token for {@link scannerUsername} that may
   * pull exactly `repository`, marked `scanner-pull`, valid `ttlSeconds`.
   */
  async issueScannerToken(repository: string, ttlSeconds: number): Promise<IssuedToken> {
    parseRepoName(repository);
    return this.sign(scannerUsername, { kind: 'scanner', repository }, [{ type: 'repository', name: repository, actions: ['pull', scannerPullAction] }], ttlSeconds);
  }

  private async sign(subject: string, principal: TokenPrincipal, access: AccessEntry[], ttl: number): Promise<IssuedToken> {
    const keys = await this.loadKeys();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ access, wharf_principal: principal })
      .setProtectedHeader({ alg, kid: keys.signing.kid, typ: 'JWT' })
      .setIssuer(tokenIssuer)
      .setSubject(subject)
      .setAudience(tokenService)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(keys.signing.key);
    // RFC 3339 without fractional seconds, as the token spec's examples.
    return { token, expiresIn: ttl, issuedAt: new Date(now * 1000).toISOString().replace('.000Z', 'Z'), access };
  }

  /** Checks signature, issuer, audience, expiry and not-before; throws UNAUTHORIZED otherwise. */
  async verify(token: string): Promise<VerifiedToken> {
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw fail('UNAUTHORIZED', 'invalid bearer token');
    }
    let keys = await this.loadKeys();
    // An unknown kid may be a key another process just created: re-read, at most every 10 s.
    if (kid !== undefined && !keys.verifying.has(kid) && Date.now() - this.loadedAt > 10_000) keys = await this.loadKeys(true);
    const key = kid === undefined ? undefined : keys.verifying.get(kid);
    if (!key) throw fail('UNAUTHORIZED', 'bearer token signed by an unknown key');
    let payload: JWTPayload;
    try {
      // JWT times are whole seconds and `iat` is rounded down, so a second of tolerance keeps a
      // token valid for at least its `expires_in`, however late in a second it was issued.
      ({ payload } = await jwtVerify(token, key, { issuer: tokenIssuer, audience: tokenService, algorithms: [alg], requiredClaims: ['exp', 'iat', 'sub'], clockTolerance: 1 }));
    } catch (err) {
      const expired = err instanceof Error && 'code' in err && err.code === 'ERR_JWT_EXPIRED';
      throw fail('UNAUTHORIZED', expired ? 'bearer token expired' : 'invalid bearer token');
    }
    return { subject: payload.sub ?? '', principal: readPrincipal(payload.wharf_principal), access: readAccess(payload.access) };
  }

  private loadKeys(reload = false): Promise<KeySet> {
    if (!this.keys || reload) {
      this.loadedAt = Date.now();
      const p = this.readOrCreateKeys();
      // A failed load is retried on the next call instead of being cached forever.
      p.catch(() => {
        if (this.keys === p) this.keys = undefined;
      });
      this.keys = p;
    }
    return this.keys;
  }

  private async readOrCreateKeys(): Promise<KeySet> {
    const db = this.deps.db;
    const readRows = (d: Kysely<Database>) => d.selectFrom('token_signing_keys').selectAll().orderBy('creation_time').orderBy('kid').execute();
    let rows = await readRows(db);
    if (rows.length === 0) {
      const pair = await generateKeyPair(alg, { extractable: true });
      const row = {
        kid: randomUUID(),
        alg,
        private_jwk: JSON.stringify(await exportJWK(pair.privateKey)),
        public_jwk: JSON.stringify(await exportJWK(pair.publicKey)),
        creation_time: Date.now(),
      };
      // Insert only if there is still no key, in one transaction that processes starting together
      // take in turn (SQLite: BEGIN IMMEDIATE, one writer; PostgreSQL: an advisory lock): exactly
      // one key is created, and every process signs with it.
      rows = await db.transaction().execute(async (trx) => {
        if (isPostgres(trx)) await sql`SELECT pg_advisory_xact_lock(${signingKeyLockKey})`.execute(trx);
        const now = await readRows(trx);
        if (now.length > 0) return now;
        await trx.insertInto('token_signing_keys').values(row).execute();
        return readRows(trx);
      });
    }
    const verifying = new Map<string, CryptoKey>();
    for (const r of rows) verifying.set(r.kid, await importKey(r.public_jwk, r.alg));
    const first = rows[0];
    if (!first) throw new Error('no token signing key after creating one');
    return { signing: { kid: first.kid, key: await importKey(first.private_jwk, first.alg) }, verifying };
  }
}

async function importKey(jwkText: string, keyAlg: string): Promise<CryptoKey> {
  // JSON.parse yields unknown structure; the row was written by exportJWK, so it is a JWK.
  const jwk = JSON.parse(jwkText) as JWK;
  const key = await importJWK(jwk, keyAlg);
  if (key instanceof Uint8Array) throw new Error('token signing key is not an asymmetric key');
  return key;
}

function principalOf(actor: Actor): TokenPrincipal {
  if (isScannerActor(actor)) {
    const repository = [...(actor.tokenAccess?.keys() ?? [])][0];
    return repository === undefined ? null : { kind: 'scanner', repository };
  }
  if (actor.kind === 'robot' && actor.robot) return { kind: 'robot', id: actor.robot.id };
  if (actor.kind === 'user' && actor.userId !== null) return { kind: 'user', id: actor.userId };
  return null;
}

function readPrincipal(v: unknown): TokenPrincipal {
  if (typeof v !== 'object' || v === null) return null;
  const kind = 'kind' in v ? v.kind : undefined;
  const id = 'id' in v ? v.id : undefined;
  if ((kind === 'user' || kind === 'robot') && typeof id === 'number' && Number.isSafeInteger(id)) return { kind, id };
  const repository = 'repository' in v ? v.repository : undefined;
  if (kind === 'scanner' && typeof repository === 'string') return { kind, repository };
  throw fail('UNAUTHORIZED', 'invalid bearer token principal');
}

function readAccess(v: unknown): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  if (!Array.isArray(v)) return out;
  for (const e of v) {
    if (typeof e !== 'object' || e === null) continue;
    const type = 'type' in e ? e.type : undefined;
    const name = 'name' in e ? e.name : undefined;
    const actions = 'actions' in e ? e.actions : undefined;
    if (type !== 'repository' || typeof name !== 'string' || !Array.isArray(actions)) continue;
    const set = out.get(name) ?? new Set<string>();
    for (const a of actions) if (typeof a === 'string') set.add(a);
    out.set(name, set);
  }
  return out;
}
