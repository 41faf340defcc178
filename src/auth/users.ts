/**
 * The user service: Harbor's users, managed by the system admin (create, list, get, update,
 * disable, delete), each user's own password change, and who is logged in. New user names follow
 * src/auth/user-names.ts (NFKC, one script, no confusable of an existing user); names cannot be
 * changed afterwards, and logins look names up exactly, so a lookalike never reaches another
 * account. Passwords follow Harbor's rule (8 to 128 characters with at least one upper-case
 * letter, one lower-case letter and one digit), are stored as argon2id hashes, and may not repeat
 * the current password or one of the last {@link passwordHistoryDepth} (kept in `password_history`).
 */
import argon2 from 'argon2';
import type { Kysely } from 'kysely';
import type { Database, UserRow } from '../db/index.ts';
import { fail, type ListQuery, type ListSpec } from '../domain/index.ts';
import { isUniqueViolation, likeContains, listPage } from '../db/index.ts';
import type { Actor } from './actor.ts';
import { Authenticator } from './authenticator.ts';
import type { Authorizer } from './authorizer.ts';
import { checkUsername, confusableKeys } from './user-names.ts';

/** The fields `q` and `sort` take on the user list. */
export const userListSpec = {
  user_id: { type: 'int', column: 'id' },
  username: { type: 'text', column: 'username' },
  email: { type: 'text', column: 'email' },
  realname: { type: 'text', column: 'realname' },
  sysadmin_flag: { type: 'bool', column: 'sysadmin' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** How many earlier passwords (besides the current one) a new password may not repeat. */
export const passwordHistoryDepth = 5;

/** Harbor's UserResp (plus Wharf's `disabled`). Times are RFC 3339. */
export interface UserView {
  user_id: number;
  username: string;
  email: string;
  realname: string;
  comment: string;
  sysadmin_flag: boolean;
  admin_role_in_auth: boolean;
  /** Wharf extension: a disabled user cannot log in. */
  disabled: boolean;
  creation_time: string;
  update_time: string;
}

/** Harbor's UserCreationReq. */
export interface UserCreate {
  username: string;
  password: string;
  email?: string;
  realname?: string;
  comment?: string;
}

/** Harbor's UserProfile, plus Wharf's `disabled` (system admin only). */
export interface UserUpdate {
  email?: string;
  realname?: string;
  comment?: string;
  disabled?: boolean;
}

/** A page of users. */
export interface UserPage {
  total: number;
  items: UserView[];
}

/** Everything the user service needs. */
export interface UserServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  authenticator: Authenticator;
}

/** Checks a password against Harbor's rule; throws BAD_REQUEST saying what is missing. */
export function checkPasswordRule(password: unknown): string {
  if (typeof password !== 'string' || password === '') throw fail('BAD_REQUEST', 'password is required');
  const missing: string[] = [];
  if (password.length < 8) missing.push('at least 8 characters');
  if (password.length > 128) throw fail('BAD_REQUEST', 'the password is too long: at most 128 characters');
  if (!/[A-Z]/.test(password)) missing.push('an upper-case letter');
  if (!/[a-z]/.test(password)) missing.push('a lower-case letter');
  if (!/[0-9]/.test(password)) missing.push('a digit');
  if (missing.length) {
    throw fail('BAD_REQUEST', `the password is too weak: it needs ${missing.join(', ')} (8 to 128 characters with at least one upper-case letter, one lower-case letter and one digit)`);
  }
  return password;
}

function optionalText(v: unknown, name: string, max: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw fail('BAD_REQUEST', `${name} must be a string`);
  if (v.length > max) throw fail('BAD_REQUEST', `${name} is too long: at most ${max} characters`);
  return v;
}

function checkEmail(v: unknown): string | undefined {
  const email = optionalText(v, 'email', 255);
  if (email !== undefined && email !== '' && !/^[^\s@]+@[^\s@]+$/.test(email)) throw fail('BAD_REQUEST', `email "${email}" is not a valid address`);
  return email;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fail('BAD_REQUEST', 'the request body must be a JSON object');
  // Checked just above: a non-null, non-array object.
  return body as Record<string, unknown>;
}

/** Users: the system admin's management and each user's own account. */
export class UserService {
  constructor(private readonly deps: UserServiceDeps) {}

  /** Creates a user (system admin). Returns the new id. */
  async create(actor: Actor, body: unknown): Promise<number> {
    this.deps.authorizer.check(actor, 'admin');
    // As Harbor: users come from the directory in LDAP mode (docs/ldap.md).
    const mode = await this.deps.authenticator.directoryMode();
    if (mode) throw fail('FORBIDDEN', `creating local user is not allowed under auth mode: ${mode}`);
    const b = asObject(body);
    const username = checkUsername(b.username);
    const password = checkPasswordRule(b.password);
    const email = checkEmail(b.email) ?? '';
    const realname = optionalText(b.realname, 'realname', 255) ?? '';
    const comment = optionalText(b.comment, 'comment', 255) ?? '';
    const hash = await Authenticator.hashPassword(password);
    const db = this.deps.db;
    return db.transaction().execute(async (trx) => {
      const clash = await trx.selectFrom('users').select('id').where((eb) => eb(eb.fn('lower', ['username']), '=', username.toLowerCase())).executeTakeFirst();
      if (clash) throw fail('CONFLICT', `user name "${username}" is already taken`);
      const lookalike = await this.confusableWith(trx, username);
      if (lookalike !== undefined) throw fail('CONFLICT', `user name "${username}" can be confused with the existing user "${lookalike}"`);
      if (email !== '') {
        const mail = await trx.selectFrom('users').select('id').where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase())).executeTakeFirst();
        if (mail) throw fail('CONFLICT', `email "${email}" is already in use`);
      }
      const now = Date.now();
      try {
        const row = await trx
          .insertInto('users')
          .values({ username, password_hash: hash, email, realname, comment, sysadmin: 0, disabled: 0, creation_time: now, update_time: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        return row.id;
      } catch (err) {
        // A concurrent create of the same name committed after the check above (PostgreSQL).
        if (isUniqueViolation(err)) throw fail('CONFLICT', `user name "${username}" is already taken`);
        throw err;
      }
    });
  }

  /** Lists users (system admin), with Harbor's `q` and `sort` over userListSpec (`q=username=~x,email=y`). */
  async list(actor: Actor, list: ListQuery): Promise<UserPage> {
    this.deps.authorizer.check(actor, 'admin');
    const page = await listPage(this.deps.db.selectFrom('users').selectAll(), list, userListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
    return { total: page.total, items: page.items.map(view) };
  }

  /** Finds users by name (any logged-in user, as Harbor's /users/search): id and name only. */
  async search(actor: Actor, username: string, page: { page: number; pageSize: number }): Promise<{ total: number; items: Array<{ user_id: number; username: string }> }> {
    if (actor.kind !== 'user') throw actor.username === '' ? fail('UNAUTHORIZED', 'authentication required to search users') : fail('FORBIDDEN', 'only users may search users');
    if (username === '') throw fail('BAD_REQUEST', 'username is required');
    const q = this.deps.db.selectFrom('users').where(likeContains('username', username));
    const total = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await q.select(['id', 'username']).orderBy('username').limit(page.pageSize).offset((page.page - 1) * page.pageSize).execute();
    return { total: Number(total.n), items: rows.map((r) => ({ user_id: r.id, username: r.username })) };
  }

  /** One user: the system admin may read anyone, a user only themselves. */
  async get(actor: Actor, id: number): Promise<UserView> {
    this.selfOrAdmin(actor, id);
    return view(await this.row(id));
  }

  /** The logged-in user. */
  async current(actor: Actor): Promise<UserView> {
    if (actor.kind !== 'user' || actor.userId === null) {
      if (actor.username === '') throw fail('UNAUTHORIZED', 'authentication required');
      throw fail('FORBIDDEN', `${actor.username} is not a user account`);
    }
    return view(await this.row(actor.userId));
  }

  /** Updates email, realname, comment (the user or the system admin) and `disabled` (system admin). */
  async update(actor: Actor, id: number, body: unknown): Promise<void> {
    this.selfOrAdmin(actor, id);
    const b = asObject(body);
    const row = await this.row(id);
    const email = checkEmail(b.email);
    const realname = optionalText(b.realname, 'realname', 255);
    const comment = optionalText(b.comment, 'comment', 255);
    let disabled: number | undefined;
    if (b.disabled !== undefined) {
      if (typeof b.disabled !== 'boolean') throw fail('BAD_REQUEST', 'disabled must be true or false');
      this.deps.authorizer.check(actor, 'admin');
      if (b.disabled && row.username === 'admin') throw fail('BAD_REQUEST', 'the system admin "admin" cannot be disabled');
      if (b.disabled && actor.userId === id) throw fail('BAD_REQUEST', 'you cannot disable your own account');
      disabled = b.disabled ? 1 : 0;
    }
    await this.deps.db.transaction().execute(async (trx) => {
      if (email !== undefined && email !== '' && email.toLowerCase() !== row.email.toLowerCase()) {
        const mail = await trx
          .selectFrom('users')
          .select('id')
          .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
          .where('id', '!=', id)
          .executeTakeFirst();
        if (mail) throw fail('CONFLICT', `email "${email}" is already in use`);
      }
      await trx
        .updateTable('users')
        .set({
          ...(email !== undefined ? { email } : {}),
          ...(realname !== undefined ? { realname } : {}),
          ...(comment !== undefined ? { comment } : {}),
          ...(disabled !== undefined ? { disabled } : {}),
          update_time: Date.now(),
        })
        .where('id', '=', id)
        .execute();
    });
    if (disabled === 1) this.deps.authenticator.invalidateUser(id);
  }

  /** Grants or revokes system admin (Harbor's PUT /users/{id}/sysadmin). */
  async setSysadmin(actor: Actor, id: number, body: unknown): Promise<void> {
    this.deps.authorizer.check(actor, 'admin');
    const b = asObject(body);
    if (typeof b.sysadmin_flag !== 'boolean') throw fail('BAD_REQUEST', 'sysadmin_flag must be true or false');
    const row = await this.row(id);
    if (!b.sysadmin_flag && row.username === 'admin') throw fail('BAD_REQUEST', 'the system admin "admin" keeps its role');
    await this.deps.db.updateTable('users').set({ sysadmin: b.sysadmin_flag ? 1 : 0, update_time: Date.now() }).where('id', '=', id).execute();
    this.deps.authenticator.invalidateUser(id);
  }

  /** Changes a password: a user their own (old password required), the system admin anyone's. */
  async changePassword(actor: Actor, id: number, body: unknown): Promise<void> {
    this.selfOrAdmin(actor, id);
    // As Harbor: in LDAP mode only the admin's local password can change.
    if (id !== 1 && (await this.deps.authenticator.directoryMode())) throw fail('FORBIDDEN', `User with ID ${id} can't be updated`);
    const b = asObject(body);
    const row = await this.row(id);
    const self = actor.kind === 'user' && actor.userId === id;
    if (self) {
      if (typeof b.old_password !== 'string' || b.old_password === '') throw fail('BAD_REQUEST', 'old_password is required to change your own password');
      const ok = await argon2.verify(row.password_hash, b.old_password).catch(() => false);
      if (!ok) throw fail('FORBIDDEN', 'the old password is wrong');
    }
    const password = checkPasswordRule(b.new_password);
    const history = await this.deps.db
      .selectFrom('password_history')
      .select('password_hash')
      .where('user_id', '=', id)
      .orderBy('id', 'desc')
      .limit(passwordHistoryDepth)
      .execute();
    for (const hash of [row.password_hash, ...history.map((h) => h.password_hash)]) {
      if (await argon2.verify(hash, password).catch(() => false)) {
        throw fail('BAD_REQUEST', `the new password must differ from the current one and the last ${passwordHistoryDepth} passwords`);
      }
    }
    const hash = await Authenticator.hashPassword(password);
    const now = Date.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('password_history').values({ user_id: id, password_hash: row.password_hash, creation_time: now }).execute();
      await trx.updateTable('users').set({ password_hash: hash, update_time: now }).where('id', '=', id).execute();
      // Keep only what the reuse check reads.
      const keep = trx.selectFrom('password_history').select('id').where('user_id', '=', id).orderBy('id', 'desc').limit(passwordHistoryDepth);
      await trx.deleteFrom('password_history').where('user_id', '=', id).where('id', 'not in', keep).execute();
    });
    this.deps.authenticator.invalidateUser(id);
  }

  /** Deletes a user (system admin); not the admin itself, not oneself. */
  async delete(actor: Actor, id: number): Promise<void> {
    this.deps.authorizer.check(actor, 'admin');
    const row = await this.row(id);
    if (row.username === 'admin') throw fail('BAD_REQUEST', 'the system admin "admin" cannot be deleted');
    if (actor.userId === id) throw fail('BAD_REQUEST', 'you cannot delete your own account');
    await this.deps.db.deleteFrom('users').where('id', '=', id).execute();
    this.deps.authenticator.invalidateUser(id);
  }

  /**
   * The existing user whose name shares a confusable key with `username` (src/auth/user-names.ts),
   * if any. Every name is compared, in the creating transaction: creating users is an admin's
   * occasional act, and a skeleton costs about a microsecond.
   */
  private async confusableWith(trx: Kysely<Database>, username: string): Promise<string | undefined> {
    const keys = new Set(confusableKeys(username));
    const rows = await trx.selectFrom('users').select('username').execute();
    return rows.find((r) => confusableKeys(r.username).some((k) => keys.has(k)))?.username;
  }

  private selfOrAdmin(actor: Actor, id: number): void {
    if (actor.kind === 'user' && actor.userId === id) return;
    this.deps.authorizer.check(actor, 'admin');
  }

  private async row(id: number): Promise<UserRow> {
    const row = await this.deps.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw fail('NOT_FOUND', `user ${id} not found`);
    return row;
  }
}

function view(r: UserRow): UserView {
  return {
    user_id: r.id,
    username: r.username,
    email: r.email,
    realname: r.realname,
    comment: r.comment,
    sysadmin_flag: r.sysadmin === 1,
    admin_role_in_auth: r.admin_role_in_auth === 1,
    disabled: r.disabled === 1,
    creation_time: new Date(r.creation_time).toISOString(),
    update_time: new Date(r.update_time).toISOString(),
  };
}
