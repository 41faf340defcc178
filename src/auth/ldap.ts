/**
 * An LDAP directory as Harbor uses one (docs/ldap.md), over ldapts: the connection settings (the
 * `ldap_*` keys of /configurations), Harbor's ping, the user search (the configured filter AND
 * `(<ldap_uid>=<name>)` under `ldap_base_dn`, bound as `ldap_search_dn`), the bind that checks a
 * user's password, and the group searches (by name under `ldap_group_base_dn`, or by DN).
 *
 * Every value a caller gives that goes into a filter is escaped as RFC 4515 says
 * ({@link escapeFilterValue}); the filters written in the settings are the system admin's and are
 * used as written. A session opens one connection and closes it; nothing is kept between calls.
 */
import type { Client, Entry } from 'ldapts';
import { lazyModule } from '../platform/index.ts';

/** The `ldap_*` settings, read from /configurations by whoever builds the directory (main.ts). */
export interface LdapSettings {
  url: string;
  searchDn: string;
  searchPassword: string;
  baseDn: string;
  filter: string;
  uid: string;
  /** 0 base, 1 one level, 2 subtree. */
  scope: number;
  /** Seconds. */
  timeout: number;
  verifyCert: boolean;
  groupBaseDn: string;
  groupSearchFilter: string;
  groupAttributeName: string;
  groupSearchScope: number;
  groupAdminDn: string;
  groupMembershipAttribute: string;
}

/** A person found in the directory. */
export interface LdapUser {
  dn: string;
  username: string;
  email: string;
  realname: string;
  /** The DNs of the user's groups (the membership attribute), as the directory spells them. */
  groupDns: string[];
}

/** A group found in the directory. */
export interface LdapGroup {
  dn: string;
  name: string;
}

/** An LDAP failure with Harbor's message (`empty search dn`, `invalid credential`, ...). */
export class LdapError extends Error {
  constructor(message: string, readonly kind: 'config' | 'network' | 'credentials' | 'notFound' | 'directory' = 'directory') {
    super(message);
    this.name = 'LdapError';
  }
}

/**
 * Escapes a value for an LDAP filter (RFC 4515 section 3): `*`, `(`, `)`, `\` and NUL become
 * `\2a`, `\28`, `\29`, `\5c`, `\00`. One pass, linear in the length.
 */
export function escapeFilterValue(value: string): string {
  return value.replace(/[*()\\\0]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/** A filter from the settings in parentheses ('' stays ''), as Harbor's normalizeFilter. */
export function normalizeFilter(filter: string): string {
  const f = filter.trim();
  if (f === '') return '';
  return f.startsWith('(') && f.endsWith(')') ? f : `(${f})`;
}

/** `(&<base>(<attr>=<escaped value>))`, or `(<attr>=*)` for an empty value (Harbor lists everyone then). */
export function searchFilter(base: string, attribute: string, value: string): string {
  const own = `(${attribute}=${value === '' ? '*' : escapeFilterValue(value)})`;
  const b = normalizeFilter(base);
  return b === '' ? own : `(&${b}${own})`;
}

/**
 * Harbor's reading of `ldap_url`: `ldap://` or `ldaps://` (none: `ldap://`), port 389 or 636 when
 * absent, and port 636 always means ldaps.
 */
export function ldapUrl(raw: string): string {
  let s = raw.trim();
  if (s === '') throw new LdapError('empty ldap url', 'config');
  let protocol = 'ldap';
  const i = s.indexOf('://');
  if (i >= 0) {
    protocol = s.slice(0, i).toLowerCase();
    s = s.slice(i + 3);
    if (protocol !== 'ldap' && protocol !== 'ldaps') throw new LdapError('unknown ldap protocol', 'config');
  }
  s = s.replace(/\/.*$/, '');
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new LdapError(`illegal ldap url: ${raw}`, 'config');
  const port = m[2] ?? (protocol === 'ldaps' ? '636' : '389');
  if (port === '636') protocol = 'ldaps';
  return `${protocol}://${m[1]}:${port}`;
}

const scopes = ['base', 'one', 'sub'] as const;

function scopeOf(n: number): (typeof scopes)[number] {
  return scopes[n] ?? 'sub';
}

/** Lower case without spaces around `,` and `=`: DNs compared as Harbor compares them. */
export function dnKey(dn: string): string {
  return dn
    .trim()
    .toLowerCase()
    .replace(/\s*([,=])\s*/g, '$1');
}

/** True when `child` is `base` or below it. */
export function underDn(base: string, child: string): boolean {
  const b = dnKey(base);
  const c = dnKey(child);
  return b === '' || c === b || c.endsWith(',' + b);
}

function first(entry: Entry, attribute: string): string {
  const want = attribute.toLowerCase();
  for (const [k, v] of Object.entries(entry)) {
    if (k.toLowerCase() !== want || k === 'dn') continue;
    const x = Array.isArray(v) ? v[0] : v;
    return x === undefined ? '' : (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)).trim();
  }
  return '';
}

function all(entry: Entry, attribute: string): string[] {
  const want = attribute.toLowerCase();
  for (const [k, v] of Object.entries(entry)) {
    if (k.toLowerCase() !== want || k === 'dn') continue;
    const list = Array.isArray(v) ? v : [v];
    return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)).trim()).filter((x) => x !== '');
  }
  return [];
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' || /timeout|timed out|connect|ECONN|EHOST|ENOTFOUND|socket/i.test(err.message);
}

/** ldapts, loaded by the first LDAP session (only installations with LDAP authentication open one). */
const ldapts = lazyModule<typeof import('ldapts')>('ldapts');

/** One connection to the directory; close it when done. */
export class LdapSession {
  private constructor(
    private readonly settings: LdapSettings,
    private readonly client: Client,
  ) {}

  /** A session (the connection opens with the first bind). */
  static open(settings: LdapSettings): LdapSession {
    const url = ldapUrl(settings.url);
    const ms = Math.max(1, settings.timeout || 5) * 1000;
    const client = new (ldapts().Client)({ url, timeout: ms, connectTimeout: ms, ...(url.startsWith('ldaps:') ? { tlsOptions: { rejectUnauthorized: settings.verifyCert } } : {}) });
    return new LdapSession(settings, client);
  }

  /** Binds as `dn`; false for wrong credentials (an empty password never binds: it would be an anonymous bind). */
  async bind(dn: string, password: string): Promise<boolean> {
    if (password === '') return false;
    try {
      await this.client.bind(dn, password);
      return true;
    } catch (err) {
      if (err instanceof ldapts().InvalidCredentialsError) return false;
      throw err;
    }
  }

  private async bindSearch(): Promise<void> {
    const s = this.settings;
    if (s.searchDn === '') throw new LdapError('empty search dn', 'config');
    let ok: boolean;
    try {
      ok = await this.bind(s.searchDn, s.searchPassword);
    } catch (err) {
      throw new LdapError(`can not bind search dn, error: ${err instanceof Error ? err.message : String(err)}`, isNetworkError(err) ? 'network' : 'directory');
    }
    if (!ok) throw new LdapError('can not bind search dn, error: invalid credential', 'credentials');
  }

  /** Users whose `ldap_uid` attribute is `username` exactly (everyone for ''), under the settings' filter. */
  async searchUsers(username: string): Promise<LdapUser[]> {
    const s = this.settings;
    await this.bindSearch();
    const uid = s.uid.trim() || 'cn';
    const membership = s.groupMembershipAttribute.trim() || 'memberof';
    const attributes = [...new Set(['uid', 'cn', 'mail', 'email', 'displayName', uid, membership])];
    const { searchEntries } = await this.client.search(s.baseDn, { scope: scopeOf(s.scope), filter: searchFilter(s.filter, uid, username), attributes, paged: { pageSize: 1000 } });
    return searchEntries.map((e) => ({
      dn: e.dn,
      username: first(e, uid) || username,
      email: first(e, 'mail') || first(e, 'email'),
      realname: first(e, 'displayName') || first(e, 'cn') || first(e, 'uid'),
      groupDns: all(e, membership),
    }));
  }

  private groupBase(): string {
    return this.settings.groupBaseDn.trim() || this.settings.baseDn;
  }

  /** Groups whose name attribute (`ldap_group_attribute_name`, default cn) is `name` (every group for ''). */
  async searchGroupsByName(name: string): Promise<LdapGroup[]> {
    const s = this.settings;
    await this.bindSearch();
    const nameAttribute = s.groupAttributeName.trim() || 'cn';
    const { searchEntries } = await this.client.search(this.groupBase(), {
      scope: scopeOf(s.groupSearchScope),
      filter: searchFilter(s.groupSearchFilter, nameAttribute, name),
      attributes: [nameAttribute],
      paged: { pageSize: 1000 },
    });
    return searchEntries.map((e) => ({ dn: e.dn, name: first(e, nameAttribute) || e.dn }));
  }

  /** The group at `dn` (under the group base DN and matching the group filter), or null. */
  async groupByDn(dn: string): Promise<LdapGroup | null> {
    const s = this.settings;
    if (!underDn(this.groupBase(), dn)) return null;
    await this.bindSearch();
    const nameAttribute = s.groupAttributeName.trim() || 'cn';
    try {
      const { searchEntries } = await this.client.search(dn, { scope: 'base', filter: searchFilter(s.groupSearchFilter, nameAttribute, ''), attributes: [nameAttribute] });
      const e = searchEntries[0];
      return e ? { dn: e.dn, name: first(e, nameAttribute) || e.dn } : null;
    } catch (err) {
      if (err instanceof ldapts().NoSuchObjectError) return null;
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.client.unbind().catch(() => {});
  }
}

/** Runs `work` in a session that is closed afterwards. */
export async function withLdap<T>(settings: LdapSettings, work: (s: LdapSession) => Promise<T>): Promise<T> {
  const session = LdapSession.open(settings);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}

/**
 * Harbor's ping: connects and binds as the search DN. Messages as Harbor's: `ldap server network
 * timeout` (unreachable), `empty search dn`, `invalid credential`, `empty password`.
 */
export async function pingLdap(settings: LdapSettings): Promise<{ success: boolean; message?: string }> {
  const failed = (message: string) => ({ success: false, message: `error: ${message}` });
  if (settings.searchPassword === '') return failed('empty password');
  let session: LdapSession;
  try {
    session = LdapSession.open(settings);
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
  try {
    if (settings.searchDn === '') return failed('empty search dn');
    const ok = await session.bind(settings.searchDn, settings.searchPassword);
    return ok ? { success: true } : failed('invalid credential');
  } catch (err) {
    return failed(isNetworkError(err) ? 'ldap server network timeout' : `fail to ping LDAP server: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await session.close();
  }
}
