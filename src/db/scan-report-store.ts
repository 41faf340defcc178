/**
 * The scan reports' SQL (src/scanning/): the only code that writes scan_reports,
 * scan_report_items and sbom_reports, and the reads of registry tables the scan service needs
 * (an artifact by tag or digest, an index's children, a project's metadata, every artifact for
 * scan all). Kysely's query builder only, so it runs on SQLite and PostgreSQL alike.
 *
 * A report leaves Pending/Running exactly once: {@link ScanReportStore.finishReport} is a
 * conditional UPDATE (`status IN ('Pending','Running')`) whose row count says whether this caller
 * finished it, so the event written in the same transaction is written once, whichever process
 * (or reclaimed run) gets there.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, SbomReportsTable, ScanReportItemsTable, ScanReportsTable } from './schema.ts';
import { chunks } from './sql.ts';

export type ScanReportRow = Selectable<ScanReportsTable>;
export type ScanReportItemRow = Selectable<ScanReportItemsTable>;
export type SbomReportRow = Selectable<SbomReportsTable>;

type Db = Kysely<Database> | Transaction<Database>;

/** Non-final report statuses. */
const open = ['Pending', 'Running'];

/** A report's result on Success. */
/** Report items written by one INSERT. */
const itemsPerInsert = 500;

export interface ReportResult {
  severity: string;
  counts: { total: number; fixable: number; Critical: number; High: number; Medium: number; Low: number; None: number; Unknown: number };
  scanner: string;
  generatedAt: string;
  items: Array<Omit<ScanReportItemRow, 'id' | 'report_id'>>;
}

/** An artifact row with its repository and project. */
export interface ArtifactRecord {
  id: number;
  digest: string;
  media_type: string;
  config_media_type: string | null;
  artifact_type: string | null;
  subject_digest: string | null;
  manifest_size: number;
  repository_id: number;
  repository: string;
  repository_creation_time: number;
  project_id: number;
  project: string;
  project_public: number;
  project_metadata: string;
}

function createdByOf(annotations: string | null): string | undefined {
  if (!annotations) return undefined;
  try {
    const a: unknown = JSON.parse(annotations);
    const v = typeof a === 'object' && a !== null ? (a as Record<string, unknown>)['created-by'] : undefined; // a JSON object, checked
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The scan tables and the registry reads of the scan service. */
export class ScanReportStore {
  constructor(private readonly db: Kysely<Database>) {}

  // ---- registry reads -------------------------------------------------------------------

  private artifactQuery(db: Db) {
    return db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .innerJoin('projects as p', 'p.id', 'r.project_id')
      .select([
        'a.id as id',
        'a.digest as digest',
        'a.media_type as media_type',
        'a.config_media_type as config_media_type',
        'a.artifact_type as artifact_type',
        'a.subject_digest as subject_digest',
        'a.manifest_size as manifest_size',
        'r.id as repository_id',
        'r.name as repository',
        'r.creation_time as repository_creation_time',
        'p.id as project_id',
        'p.name as project',
        'p.public as project_public',
        'p.metadata as project_metadata',
      ]);
  }

  /** The artifact `digest` in repository `repo`. */
  async artifactByDigest(repo: string, digest: string): Promise<ArtifactRecord | undefined> {
    return this.artifactQuery(this.db).where('r.name', '=', repo).where('a.digest', '=', digest).executeTakeFirst();
  }

  /** The artifact tagged `tag` in repository `repo`. */
  async artifactByTag(repo: string, tag: string): Promise<ArtifactRecord | undefined> {
    return this.artifactQuery(this.db).innerJoin('tags as t', 't.artifact_id', 'a.id').where('r.name', '=', repo).where('t.name', '=', tag).executeTakeFirst();
  }

  /** Artifacts after id `afterId`, by id (scan all). */
  async artifactsAfter(afterId: number, limit: number): Promise<ArtifactRecord[]> {
    return this.artifactQuery(this.db).where('a.id', '>', afterId).orderBy('a.id').limit(limit).execute();
  }

  /** How many artifacts there are. */
  async artifactCount(): Promise<number> {
    const r = await this.db.selectFrom('artifacts').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** An index's child manifests (digest, media type, platform JSON), in order. */
  async children(artifactId: number): Promise<Array<{ digest: string; media_type: string | null; platform: string | null }>> {
    return this.db
      .selectFrom('artifact_references')
      .select(['child_digest as digest', 'media_type', 'platform'])
      .where('artifact_id', '=', artifactId)
      .where('kind', '=', 'manifest')
      .orderBy('id')
      .execute();
  }

  /** The media types of an artifact's blobs (config and layers). */
  async blobMediaTypes(artifactId: number): Promise<string[]> {
    const rows = await this.db.selectFrom('artifact_references').select('media_type').where('artifact_id', '=', artifactId).where('kind', '=', 'blob').execute();
    return rows.map((r) => r.media_type ?? '');
  }

  /** True when some repository still holds a manifest `digest`. */
  async digestReferenced(digest: string, db: Db = this.db): Promise<boolean> {
    return (await db.selectFrom('artifacts').select('id').where('digest', '=', digest).limit(1).executeTakeFirst()) !== undefined;
  }

  /** Digests of manifests whose subject is `digest` in `repo` with the config type or artifactType `type`; `createdBy` keeps those whose `created-by` annotation is that. */
  async accessories(repositoryId: number, subject: string, type: string, createdBy?: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('artifacts')
      .select(['digest', 'annotations'])
      .where('repository_id', '=', repositoryId)
      .where('subject_digest', '=', subject)
      .where((eb) => eb.or([eb('config_media_type', '=', type), eb('artifact_type', '=', type)]))
      .execute();
    return rows.filter((r) => createdBy === undefined || createdByOf(r.annotations) === createdBy).map((r) => r.digest);
  }

  // ---- vulnerability reports --------------------------------------------------------------

  /** Inserts Pending reports (the placeholders of a new scan), after dropping older rows of their keys but the newest Success. */
  async insertReports(trx: Db, rows: ReadonlyArray<{ uuid: string; digest: string; registration_uuid: string; mime_type: string; execution_id: number; task_id: number | null; scan_all_id?: number | null }>, now: number): Promise<void> {
    for (const r of rows) {
      await this.pruneKey(trx, r.digest, r.registration_uuid, r.mime_type);
      await trx
        .insertInto('scan_reports')
        .values({ ...r, scan_all_id: r.scan_all_id ?? null, status: 'Pending', status_message: '', start_time: null, end_time: null, severity: '', total_cnt: 0, fixable_cnt: 0, critical_cnt: 0, high_cnt: 0, medium_cnt: 0, low_cnt: 0, none_cnt: 0, unknown_cnt: 0, scanner: '', generated_at: null, adapter_request_id: null, creation_time: now })
        .execute();
    }
  }

  /** Deletes the rows of a key except its newest Success (kept for the gate and overviews while a rescan runs). */
  private async pruneKey(trx: Db, digest: string, reg: string, mime: string): Promise<void> {
    const keep = await trx
      .selectFrom('scan_reports')
      .select('id')
      .where('digest', '=', digest)
      .where('registration_uuid', '=', reg)
      .where('mime_type', '=', mime)
      .where('status', '=', 'Success')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    let q = trx.deleteFrom('scan_reports').where('digest', '=', digest).where('registration_uuid', '=', reg).where('mime_type', '=', mime);
    if (keep) q = q.where('id', '!=', keep.id);
    await q.execute();
  }

  /** Sets the task of reports (placeholders are written before their task's id is known). */
  async setTask(trx: Db, uuids: readonly string[], taskId: number): Promise<void> {
    if (uuids.length) await trx.updateTable('scan_reports').set({ task_id: taskId }).where('uuid', 'in', uuids).execute();
  }

  /** Marks reports Running and records the adapter's request id. */
  async markRunning(uuids: readonly string[], requestId: string | null, now: number): Promise<void> {
    if (!uuids.length) return;
    await this.db
      .updateTable('scan_reports')
      .set({ status: 'Running', start_time: now, ...(requestId === null ? {} : { adapter_request_id: requestId }) })
      .where('uuid', 'in', uuids)
      .where('status', 'in', open)
      .execute();
  }

  /**
   * Ends a report: Success with its result and items, or Error/Stopped with a message. True when
   * this call ended it (it was Pending or Running); false when it was already final.
   */
  async finishReport(trx: Db, uuid: string, status: 'Success' | 'Error' | 'Stopped', message: string, result: ReportResult | null, now: number): Promise<boolean> {
    const res = await trx
      .updateTable('scan_reports')
      .set({
        status,
        status_message: message,
        end_time: now,
        ...(result
          ? {
              severity: result.severity,
              total_cnt: result.counts.total,
              fixable_cnt: result.counts.fixable,
              critical_cnt: result.counts.Critical,
              high_cnt: result.counts.High,
              medium_cnt: result.counts.Medium,
              low_cnt: result.counts.Low,
              none_cnt: result.counts.None,
              unknown_cnt: result.counts.Unknown,
              scanner: result.scanner,
              generated_at: result.generatedAt,
            }
          : {}),
      })
      .where('uuid', '=', uuid)
      .where('status', 'in', open)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    const row = await trx.selectFrom('scan_reports').select(['id', 'digest', 'registration_uuid', 'mime_type', 'start_time']).where('uuid', '=', uuid).executeTakeFirstOrThrow();
    if (row.start_time === null) await trx.updateTable('scan_reports').set({ start_time: now }).where('id', '=', row.id).execute();
    if (result) {
      // A statement per 500 items (12 columns: 6,000 parameters, within SQLite's and PostgreSQL's
      // limits), in the items' order; a report of thousands of findings was as many round trips.
      for (const part of chunks(result.items, itemsPerInsert)) {
        await trx
          .insertInto('scan_report_items')
          .values(part.map((it) => ({ ...it, report_id: row.id })))
          .execute();
      }
      // The new Success replaces older ones of its key.
      await trx
        .deleteFrom('scan_reports')
        .where('digest', '=', row.digest)
        .where('registration_uuid', '=', row.registration_uuid)
        .where('mime_type', '=', row.mime_type)
        .where('id', '<', row.id)
        .execute();
    }
    return true;
  }

  /** Sets the scanner of a report before it ends (failed scans still name the scanner). */
  async setScanner(uuids: readonly string[], scanner: string): Promise<void> {
    if (uuids.length) await this.db.updateTable('scan_reports').set({ scanner }).where('uuid', 'in', uuids).where('status', 'in', open).execute();
  }

  /** Reports by uuid. */
  async reportsByUuid(uuids: readonly string[], db: Db = this.db): Promise<ScanReportRow[]> {
    if (!uuids.length) return [];
    return db.selectFrom('scan_reports').selectAll().where('uuid', 'in', uuids).orderBy('id').execute();
  }

  /** Every report row of the digests (newest first per key). */
  async reportsOf(digests: readonly string[], db: Db = this.db): Promise<ScanReportRow[]> {
    if (!digests.length) return [];
    return db.selectFrom('scan_reports').selectAll().where('digest', 'in', digests).orderBy('id', 'desc').execute();
  }

  /**
   * Scan all's metrics: per status, the scans (tasks) it started, from their reports (the job
   * history of IMAGE_SCAN is pruned, these rows are not while they are the newest of their key).
   */
  async scanAllCounts(scanAllId: number): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('scan_reports')
      .select((eb) => ['status', eb.fn.count<number>('task_id').distinct().as('n')])
      .where('scan_all_id', '=', scanAllId)
      .groupBy('status')
      .execute();
    const out: Record<string, number> = {};
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }

  /** Reports of a task. */
  async reportsOfTask(taskId: number): Promise<ScanReportRow[]> {
    return this.db.selectFrom('scan_reports').selectAll().where('task_id', '=', taskId).orderBy('id').execute();
  }

  /** Open reports of an execution. */
  async openReportsOfExecution(executionId: number): Promise<ScanReportRow[]> {
    return this.db.selectFrom('scan_reports').selectAll().where('execution_id', '=', executionId).where('status', 'in', open).orderBy('id').execute();
  }

  /** Items of reports, by report id. */
  async items(reportIds: readonly number[]): Promise<ScanReportItemRow[]> {
    if (!reportIds.length) return [];
    return this.db.selectFrom('scan_report_items').selectAll().where('report_id', 'in', reportIds).orderBy('id').execute();
  }

  /** Deletes every report (and SBOM report) of a digest. */
  async deleteDigest(trx: Db, digest: string): Promise<number> {
    const a = await trx.deleteFrom('scan_reports').where('digest', '=', digest).executeTakeFirst();
    const b = await trx.deleteFrom('sbom_reports').where('digest', '=', digest).executeTakeFirst();
    return Number(a.numDeletedRows) + Number(b.numDeletedRows);
  }

  // ---- SBOM reports -----------------------------------------------------------------------

  /** The SBOM report of a key. */
  async sbomReport(digest: string, reg: string, mediaType: string, db: Db = this.db): Promise<SbomReportRow | undefined> {
    return db.selectFrom('sbom_reports').selectAll().where('digest', '=', digest).where('registration_uuid', '=', reg).where('media_type', '=', mediaType).executeTakeFirst();
  }

  /** Replaces the SBOM report of a key with a Pending one. */
  async insertSbomReport(trx: Db, r: { uuid: string; digest: string; registration_uuid: string; media_type: string; execution_id: number; task_id: number | null }, now: number): Promise<void> {
    await trx.deleteFrom('sbom_reports').where('digest', '=', r.digest).where('registration_uuid', '=', r.registration_uuid).where('media_type', '=', r.media_type).execute();
    await trx
      .insertInto('sbom_reports')
      .values({ ...r, status: 'Pending', status_message: '', start_time: null, end_time: null, sbom_digest: null, sbom_repository: null, scanner: '', adapter_request_id: null, creation_time: now })
      .execute();
  }

  /** Sets the task of SBOM reports. */
  async setSbomTask(trx: Db, uuids: readonly string[], taskId: number): Promise<void> {
    if (uuids.length) await trx.updateTable('sbom_reports').set({ task_id: taskId }).where('uuid', 'in', uuids).execute();
  }

  /** Marks an SBOM report Running with the adapter's request id. */
  async markSbomRunning(uuid: string, requestId: string | null, scanner: string, now: number): Promise<void> {
    await this.db
      .updateTable('sbom_reports')
      .set({ status: 'Running', start_time: now, scanner, ...(requestId === null ? {} : { adapter_request_id: requestId }) })
      .where('uuid', '=', uuid)
      .where('status', 'in', open)
      .execute();
  }

  /** Ends an SBOM report; true when this call ended it. */
  async finishSbomReport(trx: Db, uuid: string, status: 'Success' | 'Error' | 'Stopped', message: string, result: { sbomDigest: string; sbomRepository: string; scanner: string } | null, now: number): Promise<boolean> {
    const res = await trx
      .updateTable('sbom_reports')
      .set({ status, status_message: message, end_time: now, ...(result ? { sbom_digest: result.sbomDigest, sbom_repository: result.sbomRepository, scanner: result.scanner } : {}) })
      .where('uuid', '=', uuid)
      .where('status', 'in', open)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
    await trx.updateTable('sbom_reports').set({ start_time: now }).where('uuid', '=', uuid).where('start_time', 'is', null).execute();
    return true;
  }

  /** SBOM reports by uuid. */
  async sbomReportsByUuid(uuids: readonly string[], db: Db = this.db): Promise<SbomReportRow[]> {
    if (!uuids.length) return [];
    return db.selectFrom('sbom_reports').selectAll().where('uuid', 'in', uuids).orderBy('id').execute();
  }

  /** SBOM reports of digests. */
  async sbomReportsOf(digests: readonly string[]): Promise<SbomReportRow[]> {
    if (!digests.length) return [];
    return this.db.selectFrom('sbom_reports').selectAll().where('digest', 'in', digests).orderBy('id', 'desc').execute();
  }

  /** Open SBOM reports of an execution. */
  async openSbomReportsOfExecution(executionId: number): Promise<SbomReportRow[]> {
    return this.db.selectFrom('sbom_reports').selectAll().where('execution_id', '=', executionId).where('status', 'in', open).orderBy('id').execute();
  }

  /** True when the manifest `digest` in repository `repo` has a subject (an accessory: a signature, an SBOM). */
  async isAccessory(repo: string, digest: string, db: Db = this.db): Promise<boolean> {
    const row = await db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select('a.subject_digest')
      .where('r.name', '=', repo)
      .where('a.digest', '=', digest)
      .executeTakeFirst();
    return row !== undefined && row.subject_digest !== null;
  }
}
