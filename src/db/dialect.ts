/**
 * The two SQL dialects Wharf runs on: SQLite (the embedded default) and PostgreSQL (several
 * instances sharing one database). Queries built with Kysely compile for either; the stores' plain
 * SQL is written with `?` placeholders and, where the dialects differ, in a form for each (a
 * `Record<Dialect, string>`). A Kysely handle or transaction tells its dialect by its adapter.
 */
import { PostgresAdapter, sql, type ColumnDefinitionBuilder, type Kysely, type RawBuilder } from 'kysely';

/** The SQL dialect of a database. */
export type Dialect = 'sqlite' | 'postgres';

const known = new WeakMap<object, Dialect>();

/** The dialect of a Kysely handle or of a transaction on it. */
export function dialectOf(db: Kysely<any>): Dialect {
  const adapter = db.getExecutor().adapter;
  let d = known.get(adapter);
  if (d === undefined) {
    d = adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
    known.set(adapter, d);
  }
  return d;
}

/** True when `db` is a PostgreSQL database. */
export function isPostgres(db: Kysely<any>): boolean {
  return dialectOf(db) === 'postgres';
}

/**
 * A generated integer primary key: AUTOINCREMENT on SQLite (ids never reused), an identity column
 * on PostgreSQL (a sequence: ids never reused either). Migrations use it for every `id` column.
 */
export function autoId(db: Kysely<any>): (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return isPostgres(db) ? (c) => c.primaryKey().generatedByDefaultAsIdentity() : (c) => c.primaryKey().autoIncrement();
}

/**
 * The type of a name column that lists are sorted and paged by (tags, repositories, projects,
 * users): text compared byte by byte, as SQLite's BINARY collation does and as the OCI tag list's
 * `last` paging expects, whatever collation the PostgreSQL database was created with.
 */
export function sortedText(db: Kysely<any>): 'text' | RawBuilder<unknown> {
  return isPostgres(db) ? sql`text collate "C"` : 'text';
}

/** The column type of raw bytes: `blob` on SQLite, `bytea` on PostgreSQL. */
export function bytesType(db: Kysely<any>): 'blob' | 'bytea' {
  return isPostgres(db) ? 'bytea' : 'blob';
}

/**
 * The SQL of a list of integers passed as ONE parameter, a JSON array (`JSON.stringify(ids)`), for
 * `x IN (…)`: SQLite's json_each, PostgreSQL's json_array_elements_text cast to bigint.
 */
export const intListForms: Readonly<Record<Dialect, string>> = {
  sqlite: 'SELECT value FROM json_each(?)',
  postgres: 'SELECT value::bigint FROM json_array_elements_text(?::json)',
};

/** {@link intListForms} in the dialect of `db`. */
export function intListSql(db: Kysely<any>): string {
  return intListForms[dialectOf(db)];
}

/** `?` placeholders in SQL text → PostgreSQL's `$1, $2, …` (none of Wharf's SQL has `?` in a literal). */
export function numberedPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

/** The error code of a database error (better-sqlite3's `SQLITE_…`, pg's SQLSTATE), or ''. */
function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
}

/**
 * True for a unique-constraint violation on either database: SQLite's SQLITE_CONSTRAINT_UNIQUE or
 * _PRIMARYKEY, PostgreSQL's 23505. On PostgreSQL (READ COMMITTED) a read-then-insert can lose such a
 * race to a concurrent transaction; SQLite, with one writer, only sees it for a real duplicate.
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = errorCode(err);
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * True for a transaction that lost to a concurrent one and may simply run again: SQLite's busy or
 * locked database, PostgreSQL's serialization failure (40001) or deadlock victim (40P01).
 */
export function isTransientConflict(err: unknown): boolean {
  const code = errorCode(err);
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') || code === '40001' || code === '40P01';
}
