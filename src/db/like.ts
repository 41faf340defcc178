/** SQL helpers for text search shared by the services that list rows. */
import { sql, type RawBuilder, type SqlBool } from 'kysely';

/**
 * A case-insensitive substring match of `value` on `column`, with LIKE's wildcards and the escape
 * character escaped. Both sides are lower-cased: SQLite's LIKE ignores ASCII case by itself,
 * PostgreSQL's does not.
 */
export function likeContains(column: string, value: string): RawBuilder<SqlBool> {
  const pattern = '%' + value.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
  return sql<SqlBool>`lower(${sql.ref(column)}) like lower(${pattern}) escape '\\'`;
}
