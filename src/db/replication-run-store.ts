/**
 * The SQL of replication runs (src/replication/runs.ts) that no other store has: what a push
 * policy's fetch step lists of the local registry (repositories, and per repository its artifacts
 * with their tags, label names and subject), one artifact's facts for an event-based trigger, the
 * once-per-run guard of the summary event (`replication_summaries`, migration 0019) under a per-run
 * lock, the open tasks of a run with their attributes, and the filtered page of REPLICATION
 * executions Harbor's `GET /replication/executions` shows. Query builder only: SQLite and
 * PostgreSQL alike.
 */
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, JobExecutionsTable } from './schema.ts';
import { isPostgres } from './dialect.ts';
import { taggedOrNotIndexChild } from './artifact-filters.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** One local artifact a push policy may replicate. */
export interface ReplicationArtifactRow {
  id: number;
  digest: string;
  media_type: string;
  config_media_type: string | null;
  artifact_type: string | null;
  /** Set for an accessory (a signature, an SBOM): the digest of the artifact it refers to. */
  subject_digest: string | null;
  /** Tag names, oldest first. */
  tags: string[];
  /** Label names. */
  labels: string[];
}

/** A local repository: id, full name and project. */
export interface ReplicationRepositoryRow {
  id: number;
  name: string;
  project_id: number;
}

/** Every local repository, by name. */
export async function replicationRepositories(db: Db): Promise<ReplicationRepositoryRow[]> {
  return db.selectFrom('repositories').select(['id', 'name', 'project_id']).orderBy('name').execute();
}

async function withTagsAndLabels(db: Db, repositoryId: number, arts: Array<Omit<ReplicationArtifactRow, 'tags' | 'labels'>>): Promise<ReplicationArtifactRow[]> {
  if (arts.length === 0) return [];
  const ids = arts.map((a) => a.id);
  const tags = await db.selectFrom('tags').select(['artifact_id', 'name']).where('repository_id', '=', repositoryId).where('artifact_id', 'in', ids).orderBy('id').execute();
  const labels = await db
    .selectFrom('artifact_labels as al')
    .innerJoin('labels as l', 'l.id', 'al.label_id')
    .select(['al.artifact_id', 'l.name'])
    .where('al.artifact_id', 'in', ids)
    .orderBy('al.id')
    .execute();
  const byId = new Map<number, ReplicationArtifactRow>();
  const out = arts.map((a) => {
    const r: ReplicationArtifactRow = { ...a, tags: [], labels: [] };
    byId.set(a.id, r);
    return r;
  });
  for (const t of tags) byId.get(t.artifact_id)?.tags.push(t.name);
  for (const l of labels) byId.get(l.artifact_id)?.labels.push(l.name);
  return out;
}

/**
 * A repository's replication candidates: its artifacts except untagged children of an index of
 * the same repository (they travel with their index), accessories included, with their tags and
 * label names; in push order. Three reads, whatever the number of artifacts.
 */
export async function replicationArtifacts(db: Db, repositoryId: number): Promise<ReplicationArtifactRow[]> {
  const arts = await db
    .selectFrom('artifacts as a')
    .select(['a.id', 'a.digest', 'a.media_type', 'a.config_media_type', 'a.artifact_type', 'a.subject_digest'])
    .where('a.repository_id', '=', repositoryId)
    .where((eb) => taggedOrNotIndexChild(eb, repositoryId))
    .orderBy('a.id')
    .execute();
  return withTagsAndLabels(db, repositoryId, arts);
}

/** One artifact of a repository (full name) by digest, with its tags and labels; undefined when gone. */
export async function replicationArtifact(db: Db, repository: string, digest: string): Promise<(ReplicationArtifactRow & { repository_id: number }) | undefined> {
  const a = await db
    .selectFrom('artifacts as a')
    .innerJoin('repositories as r', 'r.id', 'a.repository_id')
    .select(['a.id', 'a.repository_id', 'a.digest', 'a.media_type', 'a.config_media_type', 'a.artifact_type', 'a.subject_digest'])
    .where('r.name', '=', repository)
    .where('a.digest', '=', digest)
    .executeTakeFirst();
  if (!a) return undefined;
  const { repository_id, ...rest } = a;
  const [row] = await withTagsAndLabels(db, repository_id, [rest]);
  return row ? { ...row, repository_id } : undefined;
}

/** A project by name (the project of a REPLICATION event); undefined when there is none. */
export async function replicationProject(db: Db, name: string): Promise<{ id: number; name: string; public: number } | undefined> {
  return db.selectFrom('projects').select(['id', 'name', 'public']).where('name', '=', name).executeTakeFirst();
}

/** True when the local project `name` is a proxy-cache project (`registry_id` set): replication does not write there. */
export async function isProxyCacheProject(db: Db, name: string): Promise<boolean> {
  const row = await db.selectFrom('projects').select('registry_id').where('name', '=', name).executeTakeFirst();
  return row !== undefined && row.registry_id !== null;
}

/** The advisory lock space of replication runs (an arbitrary constant of Wharf's). */
const replicationLockSpace = 0x5245504c;

/**
 * Serialises the ends of a run's tasks and its stop (PostgreSQL: a transaction-scoped advisory
 * lock on the run; SQLite runs one write transaction at a time already).
 */
export async function lockReplicationRun(trx: Transaction<Database>, executionId: number): Promise<void> {
  if (isPostgres(trx)) await sql`SELECT pg_advisory_xact_lock(${replicationLockSpace}, ${executionId})`.execute(trx);
}

/** Claims a run's summary event: true for the one caller that records it first. */
export async function claimReplicationSummary(db: Db, executionId: number, now: number): Promise<boolean> {
  const row = await db
    .insertInto('replication_summaries')
    .values({ execution_id: executionId, sent_time: now })
    .onConflict((oc) => oc.column('execution_id').doNothing())
    .returning('execution_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Forgets the summary marks of runs (deleted with their policy). */
export async function deleteReplicationSummaries(db: Db, executionIds: number[]): Promise<void> {
  for (let i = 0; i < executionIds.length; i += 500) await db.deleteFrom('replication_summaries').where('execution_id', 'in', executionIds.slice(i, i + 500)).execute();
}

/** Every task of a run with its status and attributes (`db` may be the caller's transaction), by id. */
export async function replicationTasks(db: Db, executionId: number): Promise<Array<{ id: number; status: string; status_message: string; extra_attrs: string; start_time: number | null; end_time: number | null }>> {
  return db
    .selectFrom('job_tasks')
    .select(['id', 'status', 'status_message', 'extra_attrs', 'start_time', 'end_time'])
    .where('execution_id', '=', executionId)
    .orderBy('id')
    .execute();
}

/** One execution read with `db` (the caller's transaction: on SQLite a read outside it would wait for it). */
export async function replicationExecution(db: Db, id: number): Promise<Selectable<JobExecutionsTable> | undefined> {
  return db.selectFrom('job_executions').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The filter of a page of executions (statuses and trigger as stored: `Running`, `MANUAL`). */
export interface ReplicationExecutionFilter {
  policyId?: number;
  statuses?: string[];
  trigger?: string;
}

/** A page of REPLICATION executions and the total that match; `sort` is a column and direction (default id desc). */
export async function replicationExecutionPage(
  db: Db,
  vendorType: string,
  f: ReplicationExecutionFilter,
  offset: number,
  limit: number,
  sort: { column: 'id' | 'start_time' | 'end_time' | 'status'; desc: boolean } = { column: 'id', desc: true },
): Promise<{ total: number; rows: Array<Selectable<JobExecutionsTable>> }> {
  let count = db.selectFrom('job_executions').select((eb) => eb.fn.countAll<number>().as('n')).where('vendor_type', '=', vendorType);
  let list = db.selectFrom('job_executions').selectAll().where('vendor_type', '=', vendorType);
  if (f.policyId !== undefined) {
    count = count.where('vendor_id', '=', f.policyId);
    list = list.where('vendor_id', '=', f.policyId);
  }
  if (f.statuses !== undefined) {
    count = count.where('status', 'in', f.statuses);
    list = list.where('status', 'in', f.statuses);
  }
  if (f.trigger !== undefined) {
    count = count.where('trigger', '=', f.trigger);
    list = list.where('trigger', '=', f.trigger);
  }
  const total = await count.executeTakeFirstOrThrow();
  const rows = await list.orderBy(sort.column, sort.desc ? 'desc' : 'asc').orderBy('id', 'desc').offset(offset).limit(limit).execute();
  return { total: Number(total.n), rows };
}
