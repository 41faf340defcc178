/**
 * Helpers of the stores that run plain SQL as compiled queries (no query building per call):
 * run a statement, read its rows, and build multi-row VALUES lists in chunks SQLite accepts.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** A Kysely handle or a transaction (a `Transaction<Database>` is a `Kysely<Database>`). */
export type Executor = Kysely<Database>;

/** Rows per multi-row statement (SQLite allows 32,766 bound values; the widest row has 13). */
export const chunkRows = 500;

/** The rows `sql` selects. */
export async function query<R>(db: Executor, sql: string, parameters: unknown[]): Promise<R[]> {
  // CompiledQuery's row type is a phantom parameter: the rows are what `sql` selects.
  const q: CompiledQuery<R> = CompiledQuery.raw(sql, parameters);
  return (await db.executeQuery(q)).rows;
}

/** Runs `sql`; returns the number of rows it changed. */
export async function run(db: Executor, sql: string, parameters: unknown[]): Promise<number> {
  const r = await db.executeQuery(CompiledQuery.raw(sql, parameters));
  return Number(r.numAffectedRows ?? 0n);
}

/** `(?, ?, …), (?, ?, …)`: `rows` groups of `width` placeholders. */
export function valuesList(rows: number, width: number): string {
  const one = `(${new Array<string>(width).fill('?').join(', ')})`;
  return new Array<string>(rows).fill(one).join(', ');
}

/** `items` in runs of at most {@link chunkRows}. */
export function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += chunkRows) out.push(items.slice(i, i + chunkRows));
  return out;
}
