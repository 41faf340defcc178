/**
 * The SQL of labels (`labels`, `artifact_labels`, migration 0015): Harbor's global and project
 * labels, listed with Harbor's q/sort/paging, and their links to artifacts. Links go with their
 * artifact or label by ON DELETE CASCADE. Written by src/projects/labels.ts.
 */
import type { Kysely } from 'kysely';
import type { ListQuery, ListSpec, Page } from '../domain/index.ts';
import type { Database, LabelRow } from './schema.ts';
import { listPage } from './listing.ts';
import { likeContains } from './like.ts';

/** The fields of `GET /labels` (Harbor's q and sort). */
export const labelListSpec = {
  id: { type: 'int', column: 'id' },
  name: { type: 'text', column: 'name' },
  scope: { type: 'text', column: 'scope' },
  project_id: { type: 'int', column: 'project_id' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** What a label is made of. */
export interface LabelFields {
  name: string;
  description: string;
  color: string;
}

/** One label by id. */
export async function readLabel(db: Kysely<Database>, id: number): Promise<LabelRow | undefined> {
  return db.selectFrom('labels').selectAll().where('id', '=', id).executeTakeFirst();
}

/** True when a label of that name exists in the scope (other than `exceptId`). */
export async function labelNameTaken(db: Kysely<Database>, scope: string, projectId: number, name: string, exceptId?: number): Promise<boolean> {
  let q = db.selectFrom('labels').select('id').where('scope', '=', scope).where('project_id', '=', projectId).where('name', '=', name);
  if (exceptId !== undefined) q = q.where('id', '<>', exceptId);
  return (await q.executeTakeFirst()) !== undefined;
}

/** Inserts a label; returns its id. A name clash fails with the database's unique violation. */
export async function insertLabel(db: Kysely<Database>, scope: string, projectId: number, f: LabelFields, now: number): Promise<number> {
  const row = await db
    .insertInto('labels')
    .values({ name: f.name, description: f.description, color: f.color, scope, project_id: projectId, creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** Changes a label's name, description and color. */
export async function updateLabel(db: Kysely<Database>, id: number, f: LabelFields, now: number): Promise<void> {
  await db.updateTable('labels').set({ name: f.name, description: f.description, color: f.color, update_time: now }).where('id', '=', id).execute();
}

/** Deletes a label and (first, for databases that do not cascade) its links. */
export async function deleteLabel(db: Kysely<Database>, id: number): Promise<void> {
  await db.deleteFrom('artifact_labels').where('label_id', '=', id).execute();
  await db.deleteFrom('labels').where('id', '=', id).execute();
}

/** Deletes a project's labels (with their links), when the project goes. */
export async function deleteProjectLabels(db: Kysely<Database>, projectId: number): Promise<void> {
  await db.deleteFrom('labels').where('scope', '=', 'p').where('project_id', '=', projectId).execute();
}

/** Labels of one scope (`projectId` 0 for global ones), `name` fuzzy, by id unless `sort` says otherwise. */
export async function listLabels(db: Kysely<Database>, scope: string, projectId: number, name: string | undefined, list: ListQuery): Promise<Page<LabelRow>> {
  let q = db.selectFrom('labels').selectAll().where('scope', '=', scope).where('project_id', '=', projectId);
  if (name !== undefined && name !== '') q = q.where(likeContains('name', name));
  return listPage(q, list, labelListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
}

/** True when the artifact carries the label. */
export async function artifactHasLabel(db: Kysely<Database>, artifactId: number, labelId: number): Promise<boolean> {
  return (await db.selectFrom('artifact_labels').select('id').where('artifact_id', '=', artifactId).where('label_id', '=', labelId).executeTakeFirst()) !== undefined;
}

/** Links a label to an artifact. A second link fails with the database's unique violation. */
export async function addArtifactLabel(db: Kysely<Database>, artifactId: number, labelId: number, now: number): Promise<void> {
  await db.insertInto('artifact_labels').values({ artifact_id: artifactId, label_id: labelId, creation_time: now }).execute();
}

/** Removes a label from an artifact; false when it was not there. */
export async function removeArtifactLabel(db: Kysely<Database>, artifactId: number, labelId: number): Promise<boolean> {
  const r = await db.deleteFrom('artifact_labels').where('artifact_id', '=', artifactId).where('label_id', '=', labelId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** The labels of these artifacts, by artifact id, in the order they were added. */
export async function labelsOfArtifacts(db: Kysely<Database>, artifactIds: readonly number[]): Promise<Map<number, LabelRow[]>> {
  const out = new Map<number, LabelRow[]>();
  if (artifactIds.length === 0) return out;
  const rows = await db
    .selectFrom('artifact_labels')
    .innerJoin('labels', 'labels.id', 'artifact_labels.label_id')
    .selectAll('labels')
    .select('artifact_labels.artifact_id')
    .where('artifact_labels.artifact_id', 'in', [...artifactIds])
    .orderBy('artifact_labels.id')
    .execute();
  for (const { artifact_id, ...label } of rows) {
    const list = out.get(artifact_id) ?? [];
    list.push(label);
    out.set(artifact_id, list);
  }
  return out;
}

/** The ids of the artifacts of a repository that carry every one of `labelIds`. */
export async function artifactsWithLabels(db: Kysely<Database>, repositoryId: number, labelIds: readonly number[]): Promise<Set<number>> {
  const ids = [...new Set(labelIds)];
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('artifact_labels')
    .innerJoin('artifacts', 'artifacts.id', 'artifact_labels.artifact_id')
    .select('artifact_labels.artifact_id')
    .where('artifacts.repository_id', '=', repositoryId)
    .where('artifact_labels.label_id', 'in', ids)
    .groupBy('artifact_labels.artifact_id')
    .having((eb) => eb.fn.count('artifact_labels.label_id'), '=', ids.length)
    .execute();
  return new Set(rows.map((r) => Number(r.artifact_id)));
}
