/** SQL helpers for text search shared by the services that list rows. */
import { sql, type RawBuilder, type SqlBool } from 'kysely';

/** A substring match of `value` on `column` (SQLite LIKE: case-insensitive for ASCII), with LIKE's wildcards and the escape character escaped. */
export function likeContains(column: string, value: string): RawBuilder<SqlBool> {
  const pattern = '%' + value.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
  return sql<SqlBool>`${sql.ref(column)} like ${pattern} escape '\\'`;
}
