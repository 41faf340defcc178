/**
 * Checks HTTP Basic credentials against the users table (argon2id hashes). Successful checks are
 * cached for a minute keyed by a SHA-256 of the credentials, so a push of many layers does not pay
 * argon2's cost on every request; a password change or a disabled user is seen within that minute.
 */
import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Actor } from './actor.ts';

const cacheMs = 60_000;

/** Authenticates users by name and password. */
export class Authenticator {
  private readonly cache = new Map<string, { actor: Actor; until: number }>();

  constructor(private readonly db: Kysely<Database>) {}

  /** Returns the actor for valid credentials, or null. Never says whether the user exists. */
  async verify(username: string, password: string): Promise<Actor | null> {
    const key = createHash('sha256').update(`${username}\0${password}`).digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.actor;
    const user = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    // Verify against a fixed hash when the user is unknown, so timing does not reveal existence.
    const hash = user?.password_hash ?? dummyHash;
    const ok = await argon2.verify(hash, password).catch(() => false);
    if (!user || !ok || user.disabled) return null;
    const actor: Actor = { username: user.username, userId: user.id, sysadmin: user.sysadmin === 1 };
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { actor, until: Date.now() + cacheMs });
    return actor;
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
