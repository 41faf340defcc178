/**
 * Browser sessions of the web console (issue 14), Harbor's way: `POST /c/login` checks a user's
 * password and creates a session, the browser holds its id in the HttpOnly cookie `sid` and a
 * CSRF token in the script-readable cookie `__csrf`, and every write on /api/v2.0 must echo that
 * token as `X-Harbor-CSRF-Token` (src/api/credentials.ts). Robots cannot sign in.
 *
 * Sessions live in the database (`console_sessions`, src/db/session-store.ts), so all instances
 * sharing it honour them. Only the SHA-256 of the 32-byte random id is stored. A session ends
 * after `idleMinutes` without use (`last_seen`, refreshed at most once a minute) and 12 hours
 * after sign-in in any case; ended rows are pruned now and then by whichever instance notices.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sessionStore, type ConsoleSessionRow, type Database } from '../db/index.ts';

/** A session's absolute lifetime: 12 hours after sign-in. */
export const sessionMaxAgeMs = 12 * 3600 * 1000;
/** `last_seen` is written at most this often per session. */
export const sessionTouchIntervalMs = 60 * 1000;
/** Ended sessions are pruned at most this often per instance. */
const pruneIntervalMs = 10 * 60 * 1000;

/** The cookie holding the session id (HttpOnly). */
export const sessionCookie = 'sid';
/** The cookie holding the CSRF token (readable by the console's scripts). */
export const csrfCookie = '__csrf';
/** The header writes must carry the CSRF token in. */
export const csrfHeader = 'x-harbor-csrf-token';

/** A new session: the id for the cookie (never stored) and its CSRF token. */
export interface NewSession {
  id: string;
  csrf: string;
  expires: number;
}

/** SHA-256 (hex) of a session id: the row's key. */
export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/** True when `given` equals `expected`, compared in constant time. */
export function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The cookies of a `Cookie` header (first value wins for a repeated name); malformed %-escapes are kept raw. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || out.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      /* not an escape: keep it */
    }
    out.set(name, value);
  }
  return out;
}

/** The `Set-Cookie` values that give a browser a session (`secure`: the request came over https). */
export function sessionSetCookies(s: { id: string; csrf: string }, secure: boolean): string[] {
  const sec = secure ? '; Secure' : '';
  return [`${sessionCookie}=${s.id}; Path=/; HttpOnly; SameSite=Lax${sec}`, `${csrfCookie}=${s.csrf}; Path=/; SameSite=Strict${sec}`];
}

/** The `Set-Cookie` values that remove both cookies. */
export function clearSessionCookies(secure: boolean): string[] {
  const sec = secure ? '; Secure' : '';
  const gone = '; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  return [`${sessionCookie}=; Path=/; HttpOnly; SameSite=Lax${gone}${sec}`, `${csrfCookie}=; Path=/; SameSite=Strict${gone}${sec}`];
}

/** Options of {@link ConsoleSessions}. */
export interface ConsoleSessionOptions {
  /** Minutes without use after which a session ends. */
  idleMinutes: number;
  /** The clock (ms); tests replace it. */
  now?: () => number;
}

/** Creates, resolves and ends console sessions. */
export class ConsoleSessions {
  private readonly idleMs: number;
  /** The clock (ms); tests may replace it. */
  now: () => number;
  private lastPrune = 0;

  constructor(
    private readonly db: Kysely<Database>,
    opts: ConsoleSessionOptions,
  ) {
    this.idleMs = opts.idleMinutes * 60 * 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Starts a session for a user. */
  async create(userId: number): Promise<NewSession> {
    const now = this.now();
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    const expires = now + sessionMaxAgeMs;
    await sessionStore.insert(this.db, { id_hash: hashSessionId(id), user_id: userId, csrf, created: now, last_seen: now, expires });
    await this.maybePrune(now);
    return { id, csrf, expires };
  }

  /**
   * The live session an id names, or null (unknown, idle too long, past its end). Refreshes
   * `last_seen` when the last refresh is a minute old or more.
   */
  async resolve(id: string): Promise<ConsoleSessionRow | null> {
    if (id === '' || id.length > 200) return null;
    const now = this.now();
    const idHash = hashSessionId(id);
    const row = await sessionStore.get(this.db, idHash);
    if (!row) return null;
    if (row.expires <= now || row.last_seen + this.idleMs <= now) {
      await sessionStore.delete(this.db, idHash);
      return null;
    }
    if (now - row.last_seen >= sessionTouchIntervalMs) {
      await sessionStore.touch(this.db, idHash, now);
      row.last_seen = now;
    }
    await this.maybePrune(now);
    return row;
  }

  /** Ends the session an id names (nothing when there is none). */
  async destroy(id: string): Promise<void> {
    if (id === '' || id.length > 200) return;
    await sessionStore.delete(this.db, hashSessionId(id));
  }

  /** Deletes every ended session now. Returns how many. */
  prune(): Promise<number> {
    const now = this.now();
    this.lastPrune = now;
    return sessionStore.prune(this.db, now - this.idleMs, now);
  }

  private async maybePrune(now: number): Promise<void> {
    if (now - this.lastPrune < pruneIntervalMs) return;
    await this.prune();
  }
}

const perDatabase = new WeakMap<Kysely<Database>, ConsoleSessions>();

/** The one ConsoleSessions of a database handle in this process (the console plugin and the credential hooks share it). */
export function consoleSessions(db: Kysely<Database>, idleMinutes: number): ConsoleSessions {
  let s = perDatabase.get(db);
  if (!s) {
    s = new ConsoleSessions(db, { idleMinutes });
    perDatabase.set(db, s);
  }
  return s;
}
