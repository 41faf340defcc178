/**
 * Scan reports (src/scanning/, src/db/scan-report-store.ts): one row per scan of one manifest by
 * one scanner registration for one report MIME type, with its items stored per report (Harbor
 * shares vulnerability rows across reports and leaves their text stale, #18523). A key
 * (digest, registration_uuid, mime_type) holds at most two rows: the newest scan and, while that
 * one runs or after it failed, the last successful one, which the pull gate and overviews read.
 * SBOM reports: one row per (digest, registration_uuid, media_type).
 * Plain types and no SQLite-only syntax, so that the same migration runs on PostgreSQL.
 */
import type { Kysely } from 'kysely';
import { autoId } from '../dialect.ts';

/** Creates scan_reports, scan_report_items and sbom_reports. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('scan_reports')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('uuid', 'text', (c) => c.notNull().unique())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('registration_uuid', 'text', (c) => c.notNull())
    .addColumn('mime_type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('start_time', 'bigint')
    .addColumn('end_time', 'bigint')
    .addColumn('severity', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('total_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('fixable_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('critical_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('high_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('medium_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('low_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('none_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('unknown_cnt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('scanner', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('generated_at', 'text')
    .addColumn('adapter_request_id', 'text')
    .addColumn('execution_id', 'integer')
    .addColumn('task_id', 'integer')
    /** The SCAN_ALL execution that started this scan (its metrics count these rows), else null. */
    .addColumn('scan_all_id', 'integer')
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('scan_reports_scan_all').on('scan_reports').columns(['scan_all_id']).execute();
  await db.schema.createIndex('scan_reports_key').on('scan_reports').columns(['digest', 'registration_uuid', 'mime_type', 'id']).execute();
  await db.schema.createIndex('scan_reports_task').on('scan_reports').columns(['task_id']).execute();
  await db.schema
    .createTable('scan_report_items')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('report_id', 'integer', (c) => c.notNull().references('scan_reports.id').onDelete('cascade'))
    .addColumn('cve_id', 'text', (c) => c.notNull())
    .addColumn('package', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('fix_version', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    /** JSON arrays / objects as the adapter sent them (normalised). */
    .addColumn('links', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('cwe_ids', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('preferred_cvss', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('vendor_attributes', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('scan_report_items_report').on('scan_report_items').columns(['report_id', 'id']).execute();
  await db.schema
    .createTable('sbom_reports')
    .addColumn('id', 'integer', autoId(db))
    .addColumn('uuid', 'text', (c) => c.notNull().unique())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('registration_uuid', 'text', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('status_message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('start_time', 'bigint')
    .addColumn('end_time', 'bigint')
    .addColumn('sbom_digest', 'text')
    .addColumn('sbom_repository', 'text')
    .addColumn('scanner', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('adapter_request_id', 'text')
    .addColumn('execution_id', 'integer')
    .addColumn('task_id', 'integer')
    .addColumn('creation_time', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('sbom_reports_key', ['digest', 'registration_uuid', 'media_type'])
    .execute();
  await db.schema.createIndex('sbom_reports_task').on('sbom_reports').columns(['task_id']).execute();
}

/** Drops them (development only). */
export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sbom_reports').ifExists().execute();
  await db.schema.dropTable('scan_report_items').ifExists().execute();
  await db.schema.dropTable('scan_reports').ifExists().execute();
}
