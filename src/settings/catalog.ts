/**
 * Harbor's system settings (`/api/v2.0/configurations`): every key of the swagger's
 * `Configurations` / `ConfigurationsResponse`, its type, Harbor's default (metadatalist.go) and
 * whether Wharf acts on it. Pure: parsing a PUT's values and reading stored JSON text.
 *
 * Acting keys are writable (`editable: true`); the rest are read-only in Wharf (`editable: false`)
 * and show Harbor's default, or what Wharf actually does when it has the behaviour under another
 * name (`token_expiration` from `auth.token_ttl_seconds`, `session_timeout` from the console's).
 * `auth_mode` and the `ldap_*` keys act: LDAP authentication (src/auth/ldap-service.ts, docs/ldap.md).
 * docs/harbor-api.md "Configurations" lists them.
 */
import { fail } from '../domain/index.ts';

/** The JSON type of a setting's value (the swagger's String/Bool/IntegerConfigItem). */
export type SettingType = 'string' | 'bool' | 'int';

/** A setting's value. */
export type SettingValue = string | boolean | number;

/** One key. */
export interface SettingSpec {
  type: SettingType;
  /** Harbor's default value. */
  default: SettingValue;
  /** Wharf acts on it, so a PUT may change it. */
  writable: boolean;
  /** A password: accepted by a PUT, never returned by GET. */
  secret?: boolean;
  /** Checks a new value (already of the right type); returns the value to store. */
  check?: (v: SettingValue) => SettingValue;
}

const str = (def = ''): SettingSpec => ({ type: 'string', default: def, writable: false });
const bool = (def: boolean): SettingSpec => ({ type: 'bool', default: def, writable: false });
const int = (def: number): SettingSpec => ({ type: 'int', default: def, writable: false });
const writable = (s: SettingSpec, check?: SettingSpec['check']): SettingSpec => ({ ...s, writable: true, ...(check ? { check } : {}) });

/** The `auth_mode` values Wharf serves (Harbor also has uaa_auth, http_auth and oidc_auth). */
export const authModes = ['db_auth', 'ldap_auth'] as const;

/** Harbor's check of a non-empty string key (ldap_url, ldap_base_dn, ldap_uid). */
function nonEmpty(key: string): SettingSpec['check'] {
  return (v) => {
    if (String(v).trim() === '') throw fail('BAD_REQUEST', `item name ${key}: the configure value can not be empty`);
    return v;
  };
}

/** Harbor's check of an LDAP search scope: 0 base, 1 one level, 2 subtree. */
function ldapScope(key: string): SettingSpec['check'] {
  return (v) => {
    if (v !== 0 && v !== 1 && v !== 2) throw fail('BAD_REQUEST', `item name ${key}: invalid scope, should be 0, 1 or 2`);
    return v;
  };
}

/** Harbor's values of `project_creation_restriction`. */
export const projectCreationRestrictions = ['everyone', 'adminonly'] as const;
/** Who may create projects. */
export type ProjectCreationRestriction = (typeof projectCreationRestrictions)[number];

/** Every key, in the swagger's order. */
export const settingsCatalog = {
  auth_mode: writable(str('db_auth'), (v) => {
    if (!authModes.some((m) => m === v)) throw fail('BAD_REQUEST', `item name auth_mode: invalid auth_mode, Wharf takes ${authModes.join(' or ')} (Harbor's uaa_auth, http_auth and oidc_auth are not served)`);
    return v;
  }),
  primary_auth_mode: bool(false),
  ldap_base_dn: writable(str(), nonEmpty('ldap_base_dn')),
  ldap_filter: writable(str()),
  ldap_group_base_dn: writable(str()),
  ldap_group_admin_dn: writable(str()),
  ldap_group_attribute_name: writable(str()),
  ldap_group_search_filter: writable(str()),
  ldap_group_search_scope: writable(int(2), ldapScope('ldap_group_search_scope')),
  ldap_group_attach_parallel: bool(false),
  ldap_scope: writable(int(2), ldapScope('ldap_scope')),
  ldap_search_dn: writable(str()),
  ldap_search_password: { ...writable(str()), secret: true },
  ldap_timeout: writable(int(5), (v) => {
    if (typeof v !== 'number' || v < 1) throw fail('BAD_REQUEST', 'item name ldap_timeout: the timeout must be at least 1 second');
    return v;
  }),
  ldap_uid: writable(str('cn'), nonEmpty('ldap_uid')),
  ldap_url: writable(str(), nonEmpty('ldap_url')),
  ldap_verify_cert: writable(bool(true)),
  ldap_group_membership_attribute: writable(str('memberof')),
  project_creation_restriction: writable(str('everyone'), (v) => {
    if (!projectCreationRestrictions.some((r) => r === v)) {
      throw fail('BAD_REQUEST', 'item name project_creation_restriction: invalid project_creation_restriction, should be adminonly or everyone');
    }
    return v;
  }),
  read_only: writable(bool(false)),
  self_registration: bool(false),
  token_expiration: int(30),
  uaa_client_id: str(),
  uaa_client_secret: str(),
  uaa_endpoint: str(),
  uaa_verify_cert: bool(false),
  http_authproxy_endpoint: str(),
  http_authproxy_tokenreview_endpoint: str(),
  http_authproxy_admin_groups: str(),
  http_authproxy_admin_usernames: str(),
  http_authproxy_verify_cert: bool(true),
  http_authproxy_skip_search: bool(false),
  http_authproxy_server_certificate: str(),
  oidc_name: str(),
  oidc_endpoint: str(),
  oidc_client_id: str(),
  oidc_client_secret: { ...str(), secret: true },
  oidc_groups_claim: str(),
  oidc_admin_group: str(),
  oidc_group_filter: str(),
  oidc_scope: str(),
  oidc_user_claim: str(),
  oidc_verify_cert: bool(true),
  oidc_auto_onboard: bool(false),
  oidc_extra_redirect_parms: str('{}'),
  oidc_logout: bool(false),
  robot_token_duration: int(30),
  robot_name_prefix: writable(str('robot$'), (v) => {
    const s = String(v).trim();
    if (s === '') throw fail('BAD_REQUEST', 'robot_name_prefix cannot be empty or contain only spaces');
    if (s.length > 64 || /[\s/:@]/.test(s)) throw fail('BAD_REQUEST', 'item name robot_name_prefix: at most 64 characters, without spaces, "/", ":" or "@"');
    return s;
  }),
  notification_enable: writable(bool(true)),
  quota_per_project_enable: writable(bool(true)),
  storage_per_project: writable(int(-1), (v) => {
    if (typeof v !== 'number' || (v <= 0 && v !== -1)) throw fail('BAD_REQUEST', 'item name storage_per_project: quota value should be -1 or great than zero');
    return v;
  }),
  audit_log_forward_endpoint: str(),
  skip_audit_log_database: bool(false),
  session_timeout: int(60),
  scanner_skip_update_pulltime: bool(false),
  banner_message: writable(str()),
  disabled_audit_log_event_types: str(),
} as const satisfies Record<string, SettingSpec>;

/** A key Wharf knows. */
export type SettingKey = keyof typeof settingsCatalog;

/** The spec of `key`, or undefined when Harbor has no such key. */
export function settingSpec(key: string): SettingSpec | undefined {
  return Object.hasOwn(settingsCatalog, key) ? (settingsCatalog as Record<string, SettingSpec>)[key] : undefined;
}

/** The keys, in the swagger's order. */
export const settingKeys = Object.keys(settingsCatalog) as SettingKey[];

/**
 * A PUT's value for `key`, checked: Harbor's message for an unknown key; read-only keys refused
 * with Harbor's message for a key that cannot be updated; a value of the wrong type a 400.
 */
export function parseSettingInput(key: string, v: unknown): SettingValue {
  const spec = settingSpec(key);
  if (!spec) throw fail('BAD_REQUEST', `invalid config, item not defined in metadatalist, ${key}`);
  if (!spec.writable) throw fail('BAD_REQUEST', `system config items cannot be updated, item: ${key} (read-only in Wharf)`);
  let value: SettingValue;
  switch (spec.type) {
    case 'bool':
      if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `item name ${key}: the value must be true or false`);
      value = v;
      break;
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw fail('BAD_REQUEST', `item name ${key}: the value must be an integer`);
      value = v;
      break;
    case 'string':
      if (typeof v !== 'string') throw fail('BAD_REQUEST', `item name ${key}: the value must be a string`);
      value = v;
      break;
  }
  return spec.check ? spec.check(value) : value;
}

/**
 * A stored value read back as `spec`'s type; the default when the text does not parse or has
 * another type (older rows: `notification_enable` was once written as unquoted `false`).
 */
export function storedSetting(spec: SettingSpec, stored: string | undefined): SettingValue {
  if (stored === undefined) return spec.default;
  let v: unknown;
  try {
    v = JSON.parse(stored);
  } catch {
    v = stored.trim();
  }
  switch (spec.type) {
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'false' || v === 0) return false;
      if (v === 'true' || v === 1) return true;
      return spec.default;
    case 'int':
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
      if (typeof v === 'string' && /^-?[0-9]+$/.test(v)) return Number(v);
      return spec.default;
    case 'string':
      return typeof v === 'string' ? v : spec.default;
  }
}
