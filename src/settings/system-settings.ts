/**
 * The system settings service: Harbor's `/api/v2.0/configurations` (read and written by system
 * admins) and the typed readers the rest of Wharf is wired to through ports (main.ts): the read-only
 * switch, the robot name prefix, project creation, the default project quota, webhooks' switch and
 * the banner, `auth_mode` and the LDAP settings (read by src/auth/ldap-service.ts). Values live in the `configurations` table (src/db/configuration-store.ts); they are
 * kept here for `cacheMs` (1 s by default) so that the read-only check on every write costs no
 * query. A change through this instance is seen at once; other instances sharing the database see
 * it within `cacheMs`.
 */
import type { Kysely } from 'kysely';
import { readConfigurations, writeConfigurations, type Database } from '../db/index.ts';
import type { Actor, AuditTrail, Authorizer } from '../auth/index.ts';
import type { Config } from '../config/index.ts';
import { fail } from '../domain/index.ts';
import { parseSettingInput, settingKeys, settingsCatalog, storedSetting, type ProjectCreationRestriction, type SettingKey, type SettingSpec, type SettingValue } from './catalog.ts';

/** Harbor's configuration item: `{value, editable}`. */
export interface ConfigItemView {
  value: SettingValue;
  editable: boolean;
}

/** What the settings need. */
export interface SystemSettingsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
  /** For the read-only keys that show Wharf's own configuration (token and session lifetimes). */
  config?: Pick<Config, 'auth' | 'console'>;
  /** How long values read from the database are reused; default 1000 ms. */
  cacheMs?: number;
  /** Records each change (Harbor's `update_configuration` audit event); absent: none. */
  audit?: AuditTrail;
  /** True when users other than the admin exist: `auth_mode` may not change then (Harbor's rule); absent: never. */
  authModeLocked?: () => Promise<boolean>;
}

/** Who calls. */
export interface SettingsCallContext {
  actor: Actor;
}

/** Harbor's system settings, read and written. */
export class SystemSettings {
  private cached: { at: number; values: Map<string, string> } | null = null;
  private loading: Promise<Map<string, string>> | null = null;
  /** Bumped by every write: a read that started before it is not cached. */
  private generation = 0;

  constructor(private readonly deps: SystemSettingsDeps) {}

  /** One setting's current value (the default when never written). */
  async value(key: SettingKey): Promise<SettingValue> {
    const spec: SettingSpec = settingsCatalog[key];
    return this.override(key) ?? storedSetting(spec, (await this.stored()).get(key));
  }

  /** True while the registry refuses writes (`read_only`). */
  async readOnly(): Promise<boolean> {
    return (await this.value('read_only')) === true;
  }

  /** The prefix of new robot names (`robot_name_prefix`, default `robot$`). */
  async robotNamePrefix(): Promise<string> {
    return String(await this.value('robot_name_prefix'));
  }

  /** Who may create projects (`project_creation_restriction`). */
  async projectCreationRestriction(): Promise<ProjectCreationRestriction> {
    return (await this.value('project_creation_restriction')) === 'adminonly' ? 'adminonly' : 'everyone';
  }

  /**
   * The storage limit a new project gets when its creator gives none (or is not a system admin):
   * `storage_per_project` while `quota_per_project_enable` is on; null when it is off (no limit
   * is applied at all, as Harbor ignores `storage_limit` then).
   */
  async defaultStorageLimit(): Promise<number | null> {
    if ((await this.value('quota_per_project_enable')) !== true) return null;
    return Number(await this.value('storage_per_project'));
  }

  /** Webhooks' global switch (`notification_enable`). */
  async notificationEnable(): Promise<boolean> {
    return (await this.value('notification_enable')) === true;
  }

  /** The console's banner (`banner_message`); '' when none. */
  async bannerMessage(): Promise<string> {
    return String(await this.value('banner_message'));
  }

  /** Harbor's ConfigurationsResponse (system admins): every key but the passwords, `editable` true where Wharf acts. */
  async getConfigurations(ctx: SettingsCallContext): Promise<Record<string, ConfigItemView>> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    const stored = await this.stored();
    const out: Record<string, ConfigItemView> = {};
    for (const key of settingKeys) {
      const spec: SettingSpec = settingsCatalog[key];
      if (spec.secret) continue;
      out[key] = { value: this.override(key) ?? storedSetting(spec, stored.get(key)), editable: spec.writable };
    }
    // Harbor: auth_mode is editable only while no users but the admin exist.
    if (out.auth_mode && (await this.deps.authModeLocked?.())) out.auth_mode.editable = false;
    return out;
  }

  /**
   * Applies Harbor's Configurations body (system admins): every key is checked before any is
   * written, and all are written in one transaction.
   */
  async updateConfigurations(ctx: SettingsCallContext, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    if (body === undefined || body === null) throw fail('BAD_REQUEST', 'Missing configure item');
    if (typeof body !== 'object' || Array.isArray(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object of configuration keys to values');
    const entries: Array<[string, string]> = [];
    for (const [key, v] of Object.entries(body)) entries.push([key, JSON.stringify(parseSettingInput(key, v))]);
    const mode = entries.find(([key]) => key === 'auth_mode');
    if (mode && JSON.parse(mode[1]) !== (await this.value('auth_mode')) && (await this.deps.authModeLocked?.())) {
      throw fail('BAD_REQUEST', 'the auth mode cannot be modified as new users have been inserted into database');
    }
    const { audit } = this.deps;
    // Harbor's audit entry of a change: operation update, resource type and resource `configuration`.
    await writeConfigurations(this.deps.db, entries, audit ? (trx) => audit.record(trx, { projectId: null, username: ctx.actor.username, operation: 'update', resourceType: 'configuration', resource: 'configuration' }) : undefined);
    this.generation++;
    this.cached = null;
    this.loading = null;
  }

  /** Read-only keys that show what Wharf does under its own configuration. */
  private override(key: SettingKey): SettingValue | undefined {
    const c = this.deps.config;
    if (!c) return undefined;
    if (key === 'token_expiration') return Math.max(1, Math.round(c.auth.token_ttl_seconds / 60));
    if (key === 'session_timeout') return c.console.session_timeout_minutes;
    return undefined;
  }

  private async stored(): Promise<Map<string, string>> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < (this.deps.cacheMs ?? 1000)) return this.cached.values;
    if (this.loading) return this.loading;
    const generation = this.generation;
    const loading = readConfigurations(this.deps.db)
      .then((values) => {
        if (generation === this.generation) this.cached = { at: Date.now(), values };
        return values;
      })
      .finally(() => {
        if (this.loading === loading) this.loading = null;
      });
    this.loading = loading;
    return loading;
  }
}
