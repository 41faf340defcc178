/**
 * Harbor's global webhook switch, `notification_enable`: a row of the configurations table whose
 * value is JSON text, written through the system settings (src/settings/, `PUT
 * /api/v2.0/configurations`) as `true` or `false`. No row means on. The dispatcher reads it inside
 * its own transaction here, through the configurations store (src/db/configuration-store.ts); the
 * configurations API and `/systeminfo` read the same row through the settings service.
 */
import type { Kysely } from 'kysely';
import { readConfigurationValue, type Database } from '../db/index.ts';
import type { Authorizer } from '../auth/index.ts';

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
  return notificationEnableFrom(await readConfigurationValue(db, notificationEnableKey));
}

/** What the switch needs. */
export interface WebhookSettingsDeps {
  db: Kysely<Database>;
  authorizer: Authorizer;
}

/** The webhook switch as the webhook services see it; changing it is the system settings' job. */
export class WebhookSettings {
  constructor(private readonly deps: WebhookSettingsDeps) {}

  /** The switch, for anyone. */
  notificationsEnabled(): Promise<boolean> {
    return notificationsEnabled(this.deps.db);
  }
}
