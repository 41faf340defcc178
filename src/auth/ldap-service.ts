/**
 * LDAP authentication as Harbor does it (docs/ldap.md), and Harbor's four LDAP operations.
 *
 * With `auth_mode` `ldap_auth`, a sign-in of anyone but the admin (user id 1, who keeps the local
 * password) goes to the directory: the user is searched as the search DN (`ldap_filter` AND
 * `(<ldap_uid>=<name>)` under `ldap_base_dn`, exactly one entry or no sign-in), then the password
 * is checked by binding as the DN found. The first success onboards a local user (the directory's
 * name, `mail`, `displayName` or `cn`; comment `from LDAP.`; no local password: its hash is
 * {@link ldapPasswordMark}, which no password matches); later ones refresh the email. Each sign-in
 * also rewrites `admin_role_in_auth` (member of `ldap_group_admin_dn`: a system admin) and, when
 * `ldap_group_search_filter` is set (as in Harbor), the user's LDAP group memberships (source
 * 'ldap'): each group of the membership attribute that the directory confirms is onboarded as an
 * LDAP user group (group_type 1) if new. Local memberships are left alone.
 *
 * The settings are read through a port (main.ts wires it to src/settings/), so every change made
 * through /configurations applies to the next sign-in. The Authenticator calls {@link active} and
 * {@link authenticate} (its DirectoryLogin port).
 */
import type { Kysely } from 'kysely';
import { addGroupMember, findUserGroup, insertUserGroup, isUniqueViolation, removeGroupMember, type Database, type UserRow } from '../db/index.ts';
import { fail, isDomainError } from '../domain/index.ts';
import type { Actor } from './actor.ts';
import type { Authorizer } from './authorizer.ts';
import { LdapError, dnKey, pingLdap, withLdap, type LdapSettings, type LdapUser } from './ldap.ts';
import type { Principal } from './principals.ts';
import { groupTypes, normalDn } from './user-groups.ts';
import { checkUsername } from './user-names.ts';

/** The password hash of an onboarded LDAP user: not an argon2 hash, so no local password matches it. */
export const ldapPasswordMark = 'ldap:no-local-password';

/** Each LDAP setting and its key in /configurations. */
const ldapKeys = {
  url: 'ldap_url',
  searchDn: 'ldap_search_dn',
  searchPassword: 'ldap_search_password',
  baseDn: 'ldap_base_dn',
  filter: 'ldap_filter',
  uid: 'ldap_uid',
  scope: 'ldap_scope',
  timeout: 'ldap_timeout',
  verifyCert: 'ldap_verify_cert',
  groupBaseDn: 'ldap_group_base_dn',
  groupSearchFilter: 'ldap_group_search_filter',
  groupAttributeName: 'ldap_group_attribute_name',
  groupSearchScope: 'ldap_group_search_scope',
  groupAdminDn: 'ldap_group_admin_dn',
  groupMembershipAttribute: 'ldap_group_membership_attribute',
} as const satisfies Record<keyof LdapSettings, string>;

/** A /configurations key the LDAP service reads. */
export type LdapSettingKey = 'auth_mode' | (typeof ldapKeys)[keyof typeof ldapKeys];

/** `auth_mode` and the LDAP settings, as read now. */
export interface LdapModeSettings {
  /** `db_auth` or `ldap_auth`. */
  authMode: string;
  ldap: LdapSettings;
}

/** What the LDAP service needs. */
export interface LdapServiceDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** A setting's current value (src/settings/, wired by main.ts): every change applies to the next call. */
  read: (key: LdapSettingKey) => Promise<string | number | boolean>;
  /** Where a directory that fails a sign-in is reported (the sign-in itself is refused); absent: nowhere. */
  logger?: { warn(obj: object, msg: string): void };
}

/** Harbor's LdapUser. */
export interface LdapUserView {
  username: string;
  realname: string;
  email: string;
}

/** Harbor's LdapFailedImportUser. */
export interface LdapFailedImportView {
  uid: string;
  error: string;
}

/** Harbor's UserGroup as the LDAP group search answers it (name and DN). */
export interface LdapGroupView {
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
}

/** Harbor's LdapConf body of a ping: the keys and their types. */
const pingKeys = {
  ldap_url: ['url', 'string'],
  ldap_search_dn: ['searchDn', 'string'],
  ldap_search_password: ['searchPassword', 'string'],
  ldap_base_dn: ['baseDn', 'string'],
  ldap_filter: ['filter', 'string'],
  ldap_uid: ['uid', 'string'],
  ldap_scope: ['scope', 'number'],
  ldap_connection_timeout: ['timeout', 'number'],
  ldap_verify_cert: ['verifyCert', 'boolean'],
} as const;

/** A valid address as Harbor checks one before syncing it from the directory. */
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function directoryFailure(err: unknown): Error {
  if (isDomainError(err)) return err;
  if (err instanceof LdapError && err.kind === 'config') return fail('BAD_REQUEST', err.message);
  return fail('UNAVAILABLE', `LDAP: ${err instanceof Error ? err.message : String(err)}`);
}

/** LDAP sign-in and Harbor's /ldap operations. */
export class LdapService {
  constructor(private readonly deps: LdapServiceDeps) {}

  private async settings(): Promise<LdapModeSettings> {
    const values = await Promise.all(Object.values(ldapKeys).map((k) => this.deps.read(k)));
    const ldap = Object.fromEntries(Object.keys(ldapKeys).map((field, i) => [field, values[i]])) as unknown as LdapSettings; // one value per field, typed by the catalog
    return { authMode: String(await this.deps.read('auth_mode')), ldap };
  }

  /** True while `auth_mode` is `ldap_auth`. */
  async active(): Promise<boolean> {
    return (await this.settings()).authMode === 'ldap_auth';
  }

  /**
   * Checks a name and password against the directory; on success the local user (onboarded when
   * new, its admin role and LDAP groups refreshed) as the Authenticator caches it. Null for an
   * unknown name, several entries, a wrong password, or a directory that cannot be reached.
   */
  async authenticate(username: string, password: string): Promise<{ principal: Principal; hash: string } | null> {
    if (username.trim() === '' || password === '') return null;
    const { ldap } = await this.settings();
    let found: { user: LdapUser; groups: Array<{ dn: string; name: string }> } | null;
    try {
      found = await withLdap(ldap, async (s) => {
        const users = await s.searchUsers(username);
        const user = users.length === 1 ? users[0] : undefined;
        if (!user || !(await s.bind(user.dn, password))) return null;
        // Groups are confirmed as the search DN (the user may not read them).
        const groups: Array<{ dn: string; name: string }> = [];
        if (ldap.groupSearchFilter.trim() !== '') {
          for (const dn of user.groupDns) {
            const g = await s.groupByDn(dn).catch(() => null);
            if (g) groups.push(g);
          }
        }
        return { user, groups };
      });
    } catch (err) {
      this.deps.logger?.warn({ err, url: ldap.url }, 'LDAP sign-in refused: the directory failed');
      return null;
    }
    if (!found) return null;
    const row = await this.onboard(found.user);
    if (!row || row.id === 1) return null;
    const admin = ldap.groupAdminDn.trim() !== '' && found.user.groupDns.some((dn) => dnKey(dn) === dnKey(ldap.groupAdminDn));
    if ((row.admin_role_in_auth === 1) !== admin) {
      await this.deps.db.updateTable('users').set({ admin_role_in_auth: admin ? 1 : 0 }).where('id', '=', row.id).execute();
    }
    if (ldap.groupSearchFilter.trim() !== '') await this.syncGroups(row.id, found.groups);
    return { principal: { kind: 'user', id: row.id }, hash: row.password_hash };
  }

  /** Harbor's pingLdap: the body's settings (absent keys: the saved ones; the saved password only in LDAP mode). System admin only. */
  async ping(actor: Actor, body: unknown): Promise<{ success: boolean; message?: string }> {
    this.deps.authorizer.check(actor, 'admin');
    const { authMode, ldap } = await this.settings();
    const settings: LdapSettings = { ...ldap, searchPassword: '' };
    const b = body === undefined || body === null ? {} : body;
    if (typeof b !== 'object' || Array.isArray(b)) throw fail('BAD_REQUEST', 'the body must be a JSON object of ldap_* settings');
    for (const [key, v] of Object.entries(b)) {
      if (!Object.hasOwn(pingKeys, key)) continue;
      const [field, type] = pingKeys[key as keyof typeof pingKeys]; // checked just above
      if (v === null || v === undefined) continue;
      if (typeof v !== type) throw fail('BAD_REQUEST', `${key} must be a ${type}`);
      (settings as unknown as Record<string, unknown>)[field] = v; // typed by pingKeys
    }
    if (settings.searchPassword === '' && authMode === 'ldap_auth') settings.searchPassword = ldap.searchPassword;
    return pingLdap(settings);
  }

  /** Harbor's searchLdapUser: users whose uid attribute is `username` (everyone for ''). System admin only. */
  async searchUsers(actor: Actor, username: string): Promise<LdapUserView[]> {
    this.deps.authorizer.check(actor, 'admin');
    const { ldap } = await this.settings();
    try {
      const users = await withLdap(ldap, (s) => s.searchUsers(username));
      return users.map((u) => ({ username: u.username, realname: u.realname, email: u.email }));
    } catch (err) {
      throw directoryFailure(err);
    }
  }

  /**
   * Harbor's importLdapUser (`{ldap_uid_list: [...]}`): onboards each user found; returns the
   * failures (`empty_uid`, `unknown_user`, `failed_search_user`, `failed to import user: <uid>`).
   * System admin only.
   */
  async importUsers(actor: Actor, body: unknown): Promise<LdapFailedImportView[]> {
    this.deps.authorizer.check(actor, 'admin');
    const list = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { ldap_uid_list?: unknown }).ldap_uid_list : undefined; // shape checked next
    if (!Array.isArray(list) || list.some((x) => typeof x !== 'string')) throw fail('BAD_REQUEST', 'ldap_uid_list must be a list of user ids');
    const { ldap } = await this.settings();
    const failed: LdapFailedImportView[] = [];
    const found: Array<[string, LdapUser]> = [];
    try {
      await withLdap(ldap, async (s) => {
        for (const uid of list as string[]) {
          if (uid === '') {
            failed.push({ uid, error: 'empty_uid' });
            continue;
          }
          let users: LdapUser[];
          try {
            users = await s.searchUsers(uid);
          } catch (err) {
            if (err instanceof LdapError && err.kind !== 'directory') throw err;
            failed.push({ uid, error: 'failed_search_user' });
            continue;
          }
          const user = users[0];
          if (!user) failed.push({ uid, error: 'unknown_user' });
          else found.push([uid, user]);
        }
      });
    } catch (err) {
      throw directoryFailure(err);
    }
    for (const [uid, user] of found) {
      const row = await this.onboard(user);
      if (!row) failed.push({ uid, error: `failed to import user: ${uid}` });
    }
    return failed;
  }

  /** Harbor's searchLdapGroup: by name (under the group base DN) or else by DN. System admin only; 404 when none. */
  async searchGroups(actor: Actor, groupname: string, groupdn: string): Promise<LdapGroupView[]> {
    this.deps.authorizer.check(actor, 'admin');
    const { ldap } = await this.settings();
    let groups: Array<{ dn: string; name: string }> = [];
    try {
      if (groupname !== '') groups = await withLdap(ldap, (s) => s.searchGroupsByName(groupname));
      else if (groupdn !== '') {
        if (!/^\s*[A-Za-z][\w.-]*\s*=/.test(groupdn)) throw fail('BAD_REQUEST', `invalid DN: ${groupdn}`);
        const g = await withLdap(ldap, (s) => s.groupByDn(groupdn));
        groups = g ? [g] : [];
      }
    } catch (err) {
      throw directoryFailure(err);
    }
    if (groups.length === 0) throw fail('NOT_FOUND', `group name:${groupname}, group DN:${groupdn}`);
    return groups.map((g) => ({ group_name: g.name, group_type: groupTypes.ldap, ldap_group_dn: g.dn }));
  }

  /**
   * The local user of a directory entry: found by name, its email refreshed from the directory
   * when valid and free; or onboarded. Null when the name is not a valid Wharf user name.
   */
  private async onboard(u: LdapUser): Promise<UserRow | null> {
    const db = this.deps.db;
    const existing = await db.selectFrom('users').selectAll().where('username', '=', u.username).executeTakeFirst();
    if (existing) {
      const email = u.email.trim();
      if (email !== existing.email && emailPattern.test(email) && !(await emailTaken(db, email, existing.id))) {
        await db.updateTable('users').set({ email, update_time: Date.now() }).where('id', '=', existing.id).execute();
      }
      return existing;
    }
    try {
      checkUsername(u.username);
    } catch {
      return null;
    }
    let email = u.email.trim() || (u.username.includes('@') ? u.username : '');
    if (email !== '' && (email.length > 255 || (await emailTaken(db, email, 0)))) email = '';
    const now = Date.now();
    try {
      await db
        .insertInto('users')
        .values({ username: u.username, password_hash: ldapPasswordMark, email, realname: u.realname.slice(0, 255), comment: 'from LDAP.', sysadmin: 0, disabled: 0, creation_time: now, update_time: now })
        .execute();
    } catch (err) {
      // Onboarded at the same moment by another sign-in: use that row.
      if (!isUniqueViolation(err)) throw err;
    }
    return (await db.selectFrom('users').selectAll().where('username', '=', u.username).executeTakeFirst()) ?? null;
  }

  /** Makes the user's 'ldap' memberships exactly `groups`, onboarding each LDAP group that is new. */
  private async syncGroups(userId: number, groups: Array<{ dn: string; name: string }>): Promise<void> {
    const db = this.deps.db;
    const now = Date.now();
    const want = new Set<number>();
    for (const g of groups) {
      const dn = normalDn(g.dn);
      let row = await findUserGroup(db, { type: groupTypes.ldap, ldapDn: dn });
      if (!row) {
        try {
          await insertUserGroup(db, { group_name: g.name, group_type: groupTypes.ldap, ldap_group_dn: dn }, now);
        } catch (err) {
          // A name taken by another LDAP group: keep the DN as the name, as Harbor's onboarding does.
          if (!isUniqueViolation(err)) throw err;
          await insertUserGroup(db, { group_name: dn, group_type: groupTypes.ldap, ldap_group_dn: dn }, now).catch((e: unknown) => {
            if (!isUniqueViolation(e)) throw e;
          });
        }
        row = await findUserGroup(db, { type: groupTypes.ldap, ldapDn: dn });
      }
      if (row) want.add(row.id);
    }
    const have = await db.selectFrom('user_group_members').select('group_id').where('user_id', '=', userId).where('source', '=', 'ldap').execute();
    for (const h of have) if (!want.has(Number(h.group_id))) await removeGroupMember(db, Number(h.group_id), userId, 'ldap');
    for (const id of want) await addGroupMember(db, id, userId, 'ldap', now);
  }
}

async function emailTaken(db: Kysely<Database>, email: string, exceptId: number): Promise<boolean> {
  const row = await db
    .selectFrom('users')
    .select('id')
    .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
    .where('id', '!=', exceptId)
    .executeTakeFirst();
  return row !== undefined;
}

/** True when users other than the admin (user id 1) exist: Harbor then refuses to change `auth_mode`. */
export async function usersBesidesAdmin(db: Kysely<Database>): Promise<boolean> {
  return (await db.selectFrom('users').select('id').where('id', '>', 1).limit(1).executeTakeFirst()) !== undefined;
}
