/**
 * Predicates over `artifacts as a` that more than one store or service needs, so one rule has
 * one spelling.
 */
import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { Database } from './schema.ts';

/** A builder over a query whose FROM holds `artifacts as a`. */
export type ArtifactBuilder = ExpressionBuilder<Database & { a: Database['artifacts'] }, 'a'>;

/** The artifact has at least one tag. */
export function isTagged(eb: ArtifactBuilder): Expression<SqlBool> {
  return eb.exists(eb.selectFrom('tags as t').select('t.id').whereRef('t.artifact_id', '=', 'a.id'));
}

/** The artifact is a manifest child of another artifact of the same repository (an index's platform manifest). */
export function isIndexChild(eb: ArtifactBuilder, repositoryId: number): Expression<SqlBool> {
  return eb.exists(
    eb
      .selectFrom('artifact_references as r')
      .innerJoin('artifacts as p', 'p.id', 'r.artifact_id')
      .select('r.id')
      .whereRef('r.child_digest', '=', 'a.digest')
      .where('r.kind', '=', 'manifest')
      .where('p.repository_id', '=', repositoryId),
  );
}

/**
 * Harbor's base filter for retention and replication: tagged, or not an index child of the
 * repository (untagged index children go with their index).
 */
export function taggedOrNotIndexChild(eb: ArtifactBuilder, repositoryId: number): Expression<SqlBool> {
  return eb.or([isTagged(eb), eb.not(isIndexChild(eb, repositoryId))]);
}
