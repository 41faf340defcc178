/**
 * Checks HTTP Basic credentials against the users table (argon2id hashes). Successful checks are
 * cached for a minute keyed by a SHA-256 of the credentials, so a push of many layers does not pay
 * argon2's cost on every request; a password change is seen within that minute. The cache keeps
 * only who was verified: the Actor (roles, robot permissions, disabled, expiry) is loaded afresh on
 * every request by `loadActor`, so those changes apply at once. Names starting `robot$` are robot
 * accounts, checked against the robots table's secret hashes.
 */
import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Actor } from './actor.ts';
import { loadActor, type Principal } from './principals.ts';

const cacheMs = 60_000;

/** Authenticates users by name and password. */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();

  constructor(private readonly db: Kysely<Database>) {}

  /** Returns the actor for valid credentials, or null. Never says whether the user exists. */
  async verify(username: string, password: string): Promise<Actor | null> {
    const key = createHash('sha256').update(`${username}\0${password}`).digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return loadActor(this.db, hit.principal);
    const principal = username.startsWith('robot$') ? await this.checkRobot(username, password) : await this.checkUser(username, password);
    if (!principal) return null;
    const actor = await loadActor(this.db, principal);
    if (!actor) return null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { principal, until: Date.now() + cacheMs });
    return actor;
  }

  /** A user's principal when the password matches (disabled users are refused by loadActor). */
  private async checkUser(username: string, password: string): Promise<Principal | null> {
    const user = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    // Verify against a fixed hash when the user is unknown, so timing does not reveal existence.
    const hash = user?.password_hash ?? dummyHash;
    const ok = await argon2.verify(hash, password).catch(() => false);
    if (!user || !ok || user.disabled) return null;
    return { kind: 'user', id: user.id };
  }

  /** A robot's principal when the secret matches its hash (disabled or expired robots are refused by loadActor). */
  private async checkRobot(name: string, secret: string): Promise<Principal | null> {
    const robot = await this.db.selectFrom('robots').select(['id', 'secret_hash']).where('name', '=', name).executeTakeFirst();
    const ok = await argon2.verify(robot?.secret_hash ?? dummyHash, secret).catch(() => false);
    if (!robot || !ok) return null;
    return { kind: 'robot', id: robot.id };
  }

  /** Forgets cached checks of robot `robotId` (after a secret refresh or deletion: the old secret stops working at once). */
  invalidateRobot(robotId: number): void {
    for (const [key, entry] of this.cache) if (entry.principal.kind === 'robot' && entry.principal.id === robotId) this.cache.delete(key);
  }

  /** Forgets cached checks of user `userId` (after a password change or deletion: the old password stops working at once). */
  invalidateUser(userId: number): void {
    for (const [key, entry] of this.cache) if (entry.principal.kind === 'user' && entry.principal.id === userId) this.cache.delete(key);
  }

  /** Parses an `Authorization: Basic ...` header; null when absent or not Basic. */
  static parseBasic(header: string | undefined): { username: string; password: string } | null {
    if (!header || !/^basic /i.test(header)) return null;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return null;
    return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
  }

  /** Hashes a password with argon2id. */
  static hashPassword(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }
}

// argon2id hash of a random string, used only to spend the same time on unknown users.
const dummyHash = '$argon2id$v=19$m=65536,t=3,p=4$K5MOFYjB858UOA1zNCp0SQ$glPWYyRf8laNneISdeQ7WVY1bjO69+WHKZR9eeXyekk';
