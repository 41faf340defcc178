/**
 * Checks HTTP Basic credentials against the users table (argon2id hashes). Successful checks are
 * cached for a minute keyed by a SHA-256 of the credentials, so a push of many layers does not pay
 * argon2's cost on every request. The cache keeps only who was verified and the hash that matched:
 * the Actor (roles, robot permissions, disabled, expiry) is loaded afresh on every request by
 * `loadActor`, which also refuses a cached check whose stored hash has changed since, so a
 * password change or secret refresh applies at once on every instance sharing the database. Names starting `robot$` are robot
 * accounts, checked against the robots table's secret hashes.
 */
import { createHash } from 'node:crypto';
import argon2 from 'argon2';
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Actor } from './actor.ts';
import { loadActor, type Principal } from './principals.ts';
import { scannerUsername } from './scanner-credential.ts';
import type { TokenService } from './tokens.ts';
import { robotPrefix } from './user-names.ts';

const cacheMs = 60_000;

/** A directory that checks users' passwords (the LDAP service); `active` while `auth_mode` says so. */
export interface DirectoryLogin {
  active(): Promise<boolean>;
  authenticate(username: string, password: string): Promise<{ principal: Principal; hash: string } | null>;
}

/** Authenticates users by name and password. */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal; hash: string; until: number }>();

  constructor(private readonly db: Kysely<Database>) {}

  private scannerTokens: Pick<TokenService, 'verify'> | undefined;

  private directory: DirectoryLogin | undefined;

  /**
   * Checks users' passwords in a directory while it is active (LDAP, src/auth/ldap-service.ts):
   * everyone but the admin (user id 1), who keeps the local password. Robots stay local.
   */
  useDirectory(directory: DirectoryLogin): void {
    this.directory = directory;
  }

  /**
   * Accepts scanner credentials: `wharf$scanner` with a scanner token (TokenService.issueScannerToken)
   * as the password, for adapters that want Basic credentials (scanner-credential.ts).
   */
  acceptScannerTokens(tokens: Pick<TokenService, 'verify'>): void {
    this.scannerTokens = tokens;
  }

  /**
   * True when `username` names a robot account: a robot of that name exists (whatever
   * `robot_name_prefix` was when it was made), or it starts with Harbor's default `robot$`.
   */
  async isRobotName(username: string): Promise<boolean> {
    if (username.toLowerCase().startsWith(robotPrefix)) return true;
    return (await this.db.selectFrom('robots').select('id').where('name', '=', username).executeTakeFirst()) !== undefined;
  }

  /** The auth mode while a directory checks passwords (`ldap_auth`), else null (`db_auth`: local passwords). */
  async directoryMode(): Promise<string | null> {
    return this.directory && (await this.directory.active()) ? 'ldap_auth' : null;
  }

  /** Returns the actor for valid credentials, or null. Never says whether the user exists. */
  async verify(username: string, password: string): Promise<Actor | null> {
    if (username === scannerUsername) {
      if (!this.scannerTokens) return null;
      const t = await this.scannerTokens.verify(password).catch(() => null);
      return t?.principal?.kind === 'scanner' ? loadActor(this.db, t.principal) : null;
    }
    const key = createHash('sha256').update(`${username}\0${password}`).digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) {
      const actor = await loadActor(this.db, hit.principal, hit.hash);
      if (actor) return actor;
      // Changed (or disabled) since: check the credentials in full.
      this.cache.delete(key);
    }
    const checked = await this.checkRobot(username, password);
    if (!checked) return null;
    const actor = await loadActor(this.db, checked.principal);
    if (!actor) return null;
    // A directory's answer is not kept: group and admin changes apply at the next request, as in Harbor.
    if (checked.directory) return actor;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { principal: checked.principal, hash: checked.hash, until: Date.now() + cacheMs });
    return actor;
  }

  /** A user's principal when the password matches (disabled users are refused by loadActor). */
  private async checkUser(username: string, password: string): Promise<{ principal: Principal; hash: string; directory?: true } | null> {
    if (this.directory && (await this.directory.active())) {
      const local = await this.db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst();
      if (local?.id !== 1) {
        const found = await this.directory.authenticate(username, password);
        return found && { ...found, directory: true };
      }
    }
    const user = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    // Verify against a fixed hash when the user is unknown, so timing does not reveal existence.
    const hash = user?.password_hash ?? dummyHash;
    const ok = await argon2.verify(hash, password).catch(() => false);
    if (!user || !ok || user.disabled) return null;
    return { principal: { kind: 'user', id: user.id }, hash: user.password_hash };
  }

  /**
   * A robot's principal when the secret matches its hash (disabled or expired robots are refused
   * by loadActor); a name no robot has is checked as a user's.
   */
  private async checkRobot(name: string, secret: string): Promise<{ principal: Principal; hash: string; directory?: true } | null> {
    const robot = await this.db.selectFrom('robots').select(['id', 'secret_hash']).where('name', '=', name).executeTakeFirst();
    // Robots are known by their stored names, so a change of robot_name_prefix leaves them working.
    if (!robot) return this.checkUser(name, secret);
    const ok = await argon2.verify(robot.secret_hash, secret).catch(() => false);
    if (!ok) return null;
    return { principal: { kind: 'robot', id: robot.id }, hash: robot.secret_hash };
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
