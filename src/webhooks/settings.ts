/**
 * Harbor's global webhook switch, `notification_enable`: a row of the configurations table whose
 * value is JSON text, written by `PUT /api/v2.0/configurations` as `true` or `false`. No row means
 * on. This file is its one reader: the dispatcher (which drops events while it is off), the
 * configurations API and `/systeminfo` all go through `notificationsEnabled`.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/index.ts';
import type { Authorizer } from '../auth/index.ts';
import { fail } from '../domain/index.ts';
import { isRecord } from './formats/common.ts';
import type { WebhookCallContext } from './policy-scope.ts';

/** The configuration key of Harbor's global webhook switch. */
export const notificationEnableKey = 'notification_enable';

/**
 * The switch as stored: off only when the value says false (JSON `false`, the JSON string
 * `"false"` or `0`, or unquoted text `false` that is not JSON); on when there is no row or the
 * value says anything else.
 */
export function notificationEnableFrom(stored: string | undefined): boolean {
  if (stored === undefined) return true;
  try {
    const v: unknown = JSON.parse(stored);
    return !(v === false || v === 'false' || v === 0);
  } catch {
    return stored.trim() !== 'false';
  }
}

/** True unless the system admin turned webhooks off. `db` may be a transaction (the dispatcher reads it in its own). */
export async function notificationsEnabled(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('configurations').select('value').where('key', '=', notificationEnableKey).executeTakeFirst();
  return notificationEnableFrom(row?.value);
}

/** Harbor's configuration item. */
export interface ConfigItemView {
  value: boolean;
  editable: boolean;
}

/** What the settings need. */
export interface WebhookSettingsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
}

/** Harbor's `/configurations` as far as Wharf has them: the webhook switch (system admins only). */
export class WebhookSettings {
  constructor(private readonly deps: WebhookSettingsDeps) {}

  /** The switch, for anyone (Harbor's `/systeminfo` shows it unauthenticated). */
  notificationsEnabled(): Promise<boolean> {
    return notificationsEnabled(this.deps.db);
  }

  /** Harbor's configurations as far as Wharf has them (admin). */
  async getConfigurations(ctx: WebhookCallContext): Promise<Record<string, ConfigItemView>> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    return { [notificationEnableKey]: { value: await this.notificationsEnabled(), editable: true } };
  }

  /** Updates configurations (admin); Wharf knows only `notification_enable`. */
  async updateConfigurations(ctx: WebhookCallContext, body: unknown): Promise<void> {
    this.deps.authorizer.check(ctx.actor, 'admin');
    if (!isRecord(body)) throw fail('BAD_REQUEST', 'the body must be a JSON object of configuration keys to values');
    for (const key of Object.keys(body)) {
      if (key !== notificationEnableKey) throw fail('BAD_REQUEST', `unsupported configuration key: ${key} (Wharf supports ${notificationEnableKey})`);
    }
    const v = body[notificationEnableKey];
    if (v === undefined) return;
    if (typeof v !== 'boolean') throw fail('BAD_REQUEST', `${notificationEnableKey} must be true or false`);
    await this.deps.db
      .insertInto('configurations')
      .values({ key: notificationEnableKey, value: JSON.stringify(v) })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(v) }))
      .execute();
  }
}
