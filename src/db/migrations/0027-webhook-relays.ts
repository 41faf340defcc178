/**
 * Webhook relays (issue 16, src/webhooks/relay/, src/db/relay-store.ts): a project's endpoints
 * that registries other than Wharf (Harbor, the CNCF registry, Docker Hub) post their webhooks to.
 * A relay is found by the SHA-256 of its token (`token_hash`); the token itself is shown once and
 * never stored. `webhook_relay_receipts` remembers the source events a relay has turned into Wharf
 * events (by the source's own event id, or a hash of the event when the source has none) for a
 * while, so that a redelivery is not dispatched twice. Times are ms.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates webhook_relays and webhook_relay_receipts. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhook_relays')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('project_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('creator', 'text', (c) => c.notNull())
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addColumn('last_received_at', 'bigint')
    .addUniqueConstraint('webhook_relays_project_name', ['project_id', 'name'])
    .execute();
  await db.schema
    .createTable('webhook_relay_receipts')
    .addColumn('relay_id', 'integer', (c) => c.notNull())
    .addColumn('source_key', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_relay_receipts_pk', ['relay_id', 'source_key'])
    .execute();
  await db.schema.createIndex('webhook_relay_receipts_received').on('webhook_relay_receipts').columns(['relay_id', 'received_at']).execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('webhook_relay_receipts').ifExists().execute();
  await db.schema.dropTable('webhook_relays').ifExists().execute();
}
