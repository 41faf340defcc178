/**
 * The SQL of tag immutability rules (`immutable_rules`, migration 0014). The lifecycle module
 * (src/lifecycle/immutability/) validates and decides; this file only reads and writes rows.
 */
import type { Kysely } from 'kysely';
import type { ListQuery, ListSpec, Page } from '../domain/index.ts';
import type { Database, ImmutableRuleRow } from './schema.ts';
import { listPage } from './listing.ts';

/** The fields of `GET /projects/{p}/immutabletagrules` (Harbor's q and sort). */
export const immutableRuleListSpec = {
  id: { type: 'int', column: 'id' },
  project_id: { type: 'int', column: 'project_id' },
  disabled: { type: 'bool', column: 'disabled' },
  creation_time: { type: 'time', column: 'creation_time' },
  update_time: { type: 'time', column: 'update_time' },
} as const satisfies ListSpec;

/** One page of a project's rules, by id unless `sort` says otherwise. */
export async function listImmutableRules(db: Kysely<Database>, projectId: number, list: ListQuery): Promise<Page<ImmutableRuleRow>> {
  const q = db.selectFrom('immutable_rules').selectAll().where('project_id', '=', projectId);
  return listPage(q, list, immutableRuleListSpec, { fallback: [{ column: 'id', desc: false }], tieBreak: { column: 'id', desc: false } });
}

/** A project's rules, by id. */
export async function immutableRulesOf(db: Kysely<Database>, projectId: number): Promise<ImmutableRuleRow[]> {
  return db.selectFrom('immutable_rules').selectAll().where('project_id', '=', projectId).orderBy('id').execute();
}

/** One rule of a project, or undefined. */
export async function immutableRuleIn(db: Kysely<Database>, projectId: number, id: number): Promise<ImmutableRuleRow | undefined> {
  return db.selectFrom('immutable_rules').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
}

/** Inserts a rule; returns its id (a unique violation on `(project_id, tag_filter)` propagates). */
export async function insertImmutableRule(db: Kysely<Database>, projectId: number, tagFilter: string, now: number): Promise<number> {
  const row = await db
    .insertInto('immutable_rules')
    .values({ project_id: projectId, tag_filter: tagFilter, disabled: 0, creation_time: now, update_time: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Changes a rule's filter and/or its disabled flag. */
export async function updateImmutableRule(db: Kysely<Database>, id: number, change: { tagFilter?: string; disabled?: boolean }, now: number): Promise<void> {
  await db
    .updateTable('immutable_rules')
    .set({
      update_time: now,
      ...(change.tagFilter === undefined ? {} : { tag_filter: change.tagFilter }),
      ...(change.disabled === undefined ? {} : { disabled: change.disabled ? 1 : 0 }),
    })
    .where('id', '=', id)
    .execute();
}

/** Deletes a rule. */
export async function deleteImmutableRule(db: Kysely<Database>, id: number): Promise<void> {
  await db.deleteFrom('immutable_rules').where('id', '=', id).execute();
}
