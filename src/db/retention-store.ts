/**
 * The SQL of tag retention (migration 0016): one policy per project (`retention_policies`), the
 * result each repository task of a run writes when it ends (`retention_task_results`), the
 * once-per-run guard of the summary event (`retention_summaries`), and the read of a repository's
 * retention candidates. Written by src/lifecycle/retention/retention-service.ts.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { isPostgres } from './dialect.ts';
import { taggedOrNotIndexChild } from './artifact-filters.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A stored policy. */
export interface RetentionPolicyRow {
  id: number;
  project_id: number;
  policy: string;
  creation_time: number;
  update_time: number;
}

/** One artifact a retention task may keep or delete, with its tags and labels. */
export interface RetentionCandidateRow {
  id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  push_time: number;
  pull_time: number | null;
  tags: Array<{ name: string; push_time: number; pull_time: number | null }>;
  labels: string[];
}

/** What one task did. */
export interface RetentionResultRow {
  task_id: number;
  execution_id: number;
  repository: string;
  total: number;
  retained: number;
  deleted: string;
  finish_time: number;
}

/** The project's policy, if any. */
export async function retentionPolicyOfProject(db: Db, projectId: number): Promise<RetentionPolicyRow | undefined> {
  return db.selectFrom('retention_policies').selectAll().where('project_id', '=', projectId).executeTakeFirst();
}

/** A policy by id. */
export async function retentionPolicy(db: Db, id: number): Promise<RetentionPolicyRow | undefined> {
  return db.selectFrom('retention_policies').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The policy ids of these projects (for `retention_id` in project reads). */
export async function retentionPolicyIds(db: Db, projectIds: readonly number[]): Promise<Map<number, number>> {
  if (projectIds.length === 0) return new Map();
  const rows = await db.selectFrom('retention_policies').select(['id', 'project_id']).where('project_id', 'in', [...projectIds]).execute();
  return new Map(rows.map((r) => [r.project_id, r.id]));
}

/** Inserts a policy; returns its id (a second one for the project breaks the unique key). */
export async function insertRetentionPolicy(db: Db, projectId: number, policy: string, now: number): Promise<number> {
  const row = await db.insertInto('retention_policies').values({ project_id: projectId, policy, creation_time: now, update_time: now }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Replaces a policy's content. */
export async function updateRetentionPolicy(db: Db, id: number, policy: string, now: number): Promise<void> {
  await db.updateTable('retention_policies').set({ policy, update_time: now }).where('id', '=', id).execute();
}

/** Deletes a policy. */
export async function deleteRetentionPolicy(db: Db, id: number): Promise<void> {
  await db.deleteFrom('retention_policies').where('id', '=', id).execute();
}

/** The repositories of a project (full names), by name. */
export async function projectRepositories(db: Db, projectId: number): Promise<Array<{ id: number; name: string }>> {
  return db.selectFrom('repositories').select(['id', 'name']).where('project_id', '=', projectId).orderBy('name').execute();
}

/**
 * A repository's candidates: its artifacts that are not accessories (no `subject`) and that are
 * tagged or not a child of another artifact of the repository (Harbor's base filter: untagged
 * index children go with their index), with their tags and label names. Three reads, whatever
 * the number of artifacts.
 */
export async function retentionCandidates(db: Db, repositoryId: number): Promise<RetentionCandidateRow[]> {
  const arts = await db
    .selectFrom('artifacts as a')
    .select(['a.id', 'a.digest', 'a.media_type', 'a.artifact_type', 'a.push_time', 'a.pull_time'])
    .where('a.repository_id', '=', repositoryId)
    .where('a.subject_digest', 'is', null)
    .where((eb) => taggedOrNotIndexChild(eb, repositoryId))
    .orderBy('a.id')
    .execute();
  const tags = await db.selectFrom('tags').select(['artifact_id', 'name', 'push_time', 'pull_time']).where('repository_id', '=', repositoryId).orderBy('id').execute();
  const labels = await db
    .selectFrom('artifact_labels as al')
    .innerJoin('artifacts as a', 'a.id', 'al.artifact_id')
    .innerJoin('labels as l', 'l.id', 'al.label_id')
    .select(['al.artifact_id', 'l.name'])
    .where('a.repository_id', '=', repositoryId)
    .orderBy('al.id')
    .execute();
  const byArtifact = new Map<number, RetentionCandidateRow>();
  const out = arts.map((a) => {
    const c: RetentionCandidateRow = { ...a, tags: [], labels: [] };
    byArtifact.set(a.id, c);
    return c;
  });
  for (const t of tags) byArtifact.get(t.artifact_id)?.tags.push({ name: t.name, push_time: t.push_time, pull_time: t.pull_time });
  for (const l of labels) byArtifact.get(l.artifact_id)?.labels.push(l.name);
  return out;
}

/**
 * Serialises the end of a run's tasks (PostgreSQL: a transaction-scoped advisory lock on the
 * run; SQLite runs one write transaction at a time already).
 */
export async function lockRetentionRun(trx: Transaction<Database>, executionId: number): Promise<void> {
  if (isPostgres(trx)) await sql`SELECT pg_advisory_xact_lock(${retentionLockSpace}, ${executionId})`.execute(trx);
}

/** The advisory lock space of retention runs (an arbitrary constant of Wharf's). */
const retentionLockSpace = 0x52455431;

/** A task's result, if it wrote one. */
export async function retentionResult(db: Db, taskId: number): Promise<RetentionResultRow | undefined> {
  return db.selectFrom('retention_task_results').selectAll().where('task_id', '=', taskId).executeTakeFirst();
}

/** The results of a run's tasks, by task id. */
export async function retentionResults(db: Db, executionId: number): Promise<RetentionResultRow[]> {
  return db.selectFrom('retention_task_results').selectAll().where('execution_id', '=', executionId).orderBy('task_id').execute();
}

/** Records a task's result. */
export async function insertRetentionResult(db: Db, r: RetentionResultRow): Promise<void> {
  await db.insertInto('retention_task_results').values(r).execute();
}

/** Claims a run's summary event: true for the one caller that records it first. */
export async function claimRetentionSummary(db: Db, executionId: number, now: number): Promise<boolean> {
  const row = await db.insertInto('retention_summaries').values({ execution_id: executionId, sent_time: now }).onConflict((oc) => oc.column('execution_id').doNothing()).returning('execution_id').executeTakeFirst();
  return row !== undefined;
}
