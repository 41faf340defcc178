/**
 * Helpers of the stores that run plain SQL as compiled queries (no query building per call):
 * run a statement, read its rows, and build multi-row VALUES lists in chunks SQLite accepts.
 */
import { createHash } from 'node:crypto';
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { isPostgres, numberedPlaceholders } from './dialect.ts';
import { arrayRowsMarker } from './statement-cache.ts';

/** A Kysely handle or a transaction (a `Transaction<Database>` is a `Kysely<Database>`). */
export type Executor = Kysely<Database>;

/** Rows per multi-row statement (SQLite allows 32,766 bound values; the widest row has 13). */
export const chunkRows = 500;

const numbered = new Map<string, string>();

/**
 * PostgreSQL: the stores' statement texts (after numbering) that are sent as named, server-side
 * prepared statements (connect.ts): parsed and planned once per connection instead of per call.
 * Only texts of at most {@link maxPreparedParameters} parameters (multi-row VALUES lists of
 * varying length stay unnamed) and at most {@link maxPreparedTexts} of them, so the statements a
 * connection keeps are few and bounded. Kysely-built texts are never named.
 */
const preparedNames = new Map<string, string>();
const maxPreparedTexts = 256;
const maxPreparedParameters = 32;

/** The prepared statement's name for `text` (PostgreSQL), or undefined when it is sent unnamed. */
export function preparedName(text: string): string | undefined {
  return preparedNames.get(text);
}

/** `sql` as the database's dialect writes it: `?` placeholders become `$n` on PostgreSQL (cached per text). */
function dialectText(db: Executor, sql: string): string {
  if (!isPostgres(db)) return sql;
  let text = numbered.get(sql);
  if (text === undefined) {
    text = numberedPlaceholders(sql);
    if (numbered.size > 2000) numbered.clear();
    numbered.set(sql, text);
    const parameters = sql.match(/\?/g)?.length ?? 0;
    if (parameters <= maxPreparedParameters && preparedNames.size < maxPreparedTexts && !preparedNames.has(text)) {
      preparedNames.set(text, 'w' + createHash('sha1').update(text).digest('hex').slice(0, 16));
    }
  }
  return text;
}

/** The rows `sql` selects (`?` placeholders, bound in order). */
export async function query<R>(db: Executor, sql: string, parameters: unknown[]): Promise<R[]> {
  // CompiledQuery's row type is a phantom parameter: the rows are what `sql` selects.
  const q: CompiledQuery<R> = CompiledQuery.raw(dialectText(db, sql), parameters);
  return (await db.executeQuery(q)).rows;
}

/**
 * {@link query} for a hot read of many columns: on SQLite the rows come as arrays (statement-cache.ts,
 * `arrayRowsMarker`) and become objects here, with `names`, the columns `sql` selects in order.
 * Measured on the manifest lookup's 27 columns: 12-16 µs a call as objects, 10 as arrays.
 */
export async function queryNamed<R extends object>(db: Executor, sql: string, parameters: unknown[], names: readonly string[]): Promise<R[]> {
  if (isPostgres(db)) return query<R>(db, sql, parameters);
  const rows = await query<unknown[]>(db, arrayRowsMarker + sql, parameters);
  return rows.map((values) => {
    if (!Array.isArray(values)) return values as R; // a connection without the statement cache
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) row[names[i] as string] = values[i];
    return row as R;
  });
}

/** The names a column list gives its columns with `AS`, in order (for {@link queryNamed}). */
export function columnAliases(columnList: string): string[] {
  return [...columnList.matchAll(/\bAS\s+(\w+)/gi)].map((m) => m[1] as string);
}

/** Runs `sql`; returns the number of rows it changed. */
export async function run(db: Executor, sql: string, parameters: unknown[]): Promise<number> {
  const r = await db.executeQuery(CompiledQuery.raw(dialectText(db, sql), parameters));
  return Number(r.numAffectedRows ?? 0n);
}

/**
 * `(?, ?, …), (?, ?, …)`: `rows` groups of one placeholder per entry of `types`. On PostgreSQL each
 * placeholder carries its SQL type (`?::bigint`), which a VALUES list cannot infer from its use.
 */
export function valuesList(db: Executor, rows: number, types: readonly SqlType[]): string {
  const pg = isPostgres(db);
  const one = `(${types.map((t) => (pg ? `?::${t}` : '?')).join(', ')})`;
  return new Array<string>(rows).fill(one).join(', ');
}

/** The column types a VALUES list names (PostgreSQL's names; SQLite ignores them). */
export type SqlType = 'bigint' | 'integer' | 'text' | 'bytea';

/** `items` in runs of at most `size` (default {@link chunkRows}): statements that bind a list of values take them a run at a time. */
export function chunks<T>(items: readonly T[], size = chunkRows): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
