/**
 * The one owner of the `configurations` table's SQL: Harbor's system settings
 * (`/api/v2.0/configurations`), one row per key, the value JSON text. src/settings/ reads and
 * writes them through here; webhooks' dispatcher reads `notification_enable` through
 * {@link readConfigurationValue} inside its own transaction.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/** Every stored setting: key to its JSON text. Keys never written are absent (their defaults apply). */
export async function readConfigurations(db: Kysely<Database>): Promise<Map<string, string>> {
  const rows = await db.selectFrom('configurations').select(['key', 'value']).execute();
  return new Map(rows.map((r) => [r.key, r.value]));
}

/** One stored setting's JSON text; undefined when it was never written. `db` may be a transaction. */
export async function readConfigurationValue(db: Kysely<Database>, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('configurations').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/**
 * Writes settings (key to JSON text) in one transaction: all or none. `alongside` runs in the same
 * transaction (the audit entry of the change).
 */
export async function writeConfigurations(db: Kysely<Database>, entries: ReadonlyArray<readonly [string, string]>, alongside?: (trx: Transaction<Database>) => Promise<void>): Promise<void> {
  if (entries.length === 0) return;
  await db.transaction().execute(async (trx) => {
    for (const [key, value] of entries) {
      await trx
        .insertInto('configurations')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    }
    await alongside?.(trx);
  });
}
