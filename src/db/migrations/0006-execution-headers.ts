/**
 * A delivery's format headers stored with its execution: `webhook_executions.headers` holds, as a
 * JSON object, the headers the payload format returned with the stored body (Content-Type, the
 * CloudEvents binary-mode `ce-*` headers, ...), so every attempt and redelivery sends the body
 * with the headers it was rendered with. NULL for executions written before this migration (the
 * worker then derives them again from the event, as it did before).
 */
import type { Kysely } from 'kysely';

/** Adds `webhook_executions.headers`. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_executions').addColumn('headers', 'text').execute();
}

/** Drops it. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_executions').dropColumn('headers').execute();
}
