/**
 * Trace context carried in the data (issue 17, docs/observability.md): the W3C `traceparent` of
 * the span that wrote an outbox event (the manifest PUT's, say), and of the dispatch span that
 * created a webhook delivery, so the dispatcher's and the delivery worker's spans join the trace
 * across transactions, processes and the delivery thread. Nullable text: NULL when tracing is off
 * or for rows written before. ADD COLUMN without a default rewrites no rows on either dialect.
 */
import type { Kysely } from 'kysely';

/** Adds events.trace_context and webhook_executions.trace_context. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('events').addColumn('trace_context', 'text').execute();
  await db.schema.alterTable('webhook_executions').addColumn('trace_context', 'text').execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('webhook_executions').dropColumn('trace_context').execute();
  await db.schema.alterTable('events').dropColumn('trace_context').execute();
}
