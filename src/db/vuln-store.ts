/**
 * The SQL of the built-in scanner's vulnerability database (`vulndb_advisories`,
 * `vulndb_affected`, `vulndb_meta`; migration 0011). Imports write batches of records with
 * multi-row statements: one upsert of the advisories (a row changes only for a newer `modified`),
 * then the affected rows of exactly the advisories that changed. A scan reads the affected rows of
 * one ecosystem's packages with one indexed query.
 */
import { dialectOf, type Dialect } from './dialect.ts';
import { chunks, query, run, valuesList, type Executor } from './sql.ts';

/** An advisory to write: its OSV id, times in ms, the compact record, and its affected rows. */
export interface VulnAdvisoryInput {
  osvId: string;
  modified: number;
  withdrawn: number | null;
  record: string;
  affected: Array<{ ecosystem: string; name: string; entry: string }>;
}

/** What one batch changed. */
export interface VulnBatchResult {
  /** Advisories inserted or replaced by a newer record (withdrawn ones included). */
  written: number;
  /** Of those, withdrawn ones (their affected rows removed). */
  withdrawn: number;
  /** Advisories left as they were (the stored record is as new or newer). */
  unchanged: number;
}

/** One affected row of a lookup, with its advisory. */
export interface VulnLookupRow {
  osv_id: string;
  record: string;
  entry: string;
}

/** The meta row. */
export interface VulnMetaRow {
  updated_at: number | null;
  source: string | null;
  advisories: number;
  affected: number;
}

/** A list of strings passed as ONE parameter (a JSON array), for `x IN (…)`. */
const textListForms: Readonly<Record<Dialect, string>> = {
  sqlite: 'SELECT value FROM json_each(?)',
  postgres: 'SELECT json_array_elements_text(?::json)',
};

const intListForms: Readonly<Record<Dialect, string>> = {
  sqlite: 'SELECT value FROM json_each(?)',
  postgres: 'SELECT value::bigint FROM json_array_elements_text(?::json)',
};

export const vulnStore = {
  /**
   * Writes one batch (call it inside a transaction; at most one record per OSV id). An advisory
   * row is inserted, or replaced when the batch's `modified` is newer; the affected rows of every
   * written advisory are replaced (none for a withdrawn one).
   */
  async writeBatch(db: Executor, batch: readonly VulnAdvisoryInput[]): Promise<VulnBatchResult> {
    const result: VulnBatchResult = { written: 0, withdrawn: 0, unchanged: 0 };
    const byId = new Map(batch.map((a) => [a.osvId, a]));
    for (const part of chunks(batch)) {
      const params: unknown[] = [];
      for (const a of part) params.push(a.osvId, a.modified, a.withdrawn, a.record);
      const written = await query<{ id: number; osv_id: string }>(
        db,
        `INSERT INTO vulndb_advisories (osv_id, modified, withdrawn, record) VALUES ${valuesList(db, part.length, ['text', 'bigint', 'bigint', 'text'])}
         ON CONFLICT (osv_id) DO UPDATE SET modified = excluded.modified, withdrawn = excluded.withdrawn, record = excluded.record
         WHERE excluded.modified > vulndb_advisories.modified
         RETURNING id, osv_id`,
        params,
      );
      result.written += written.length;
      result.unchanged += part.length - written.length;
      if (!written.length) continue;
      await run(db, `DELETE FROM vulndb_affected WHERE advisory_id IN (${intListForms[dialectOf(db)]})`, [JSON.stringify(written.map((w) => Number(w.id)))]);
      const rows: unknown[][] = [];
      for (const w of written) {
        const a = byId.get(w.osv_id);
        if (!a) continue;
        if (a.withdrawn !== null) {
          result.withdrawn++;
          continue;
        }
        for (const x of a.affected) rows.push([Number(w.id), x.ecosystem, x.name, x.entry]);
      }
      for (const rowPart of chunks(rows)) {
        await run(db, `INSERT INTO vulndb_affected (advisory_id, ecosystem, name, entry) VALUES ${valuesList(db, rowPart.length, ['integer', 'text', 'text', 'text'])}`, rowPart.flat());
      }
    }
    return result;
  },

  /** The affected rows of `names` in `ecosystem`, with their advisories; withdrawn advisories have none. */
  lookup(db: Executor, ecosystem: string, names: readonly string[]): Promise<VulnLookupRow[]> {
    return query<VulnLookupRow>(
      db,
      `SELECT v.osv_id AS osv_id, v.record AS record, a.entry AS entry
         FROM vulndb_affected a JOIN vulndb_advisories v ON v.id = a.advisory_id
        WHERE a.ecosystem = ? AND a.name IN (${textListForms[dialectOf(db)]}) AND v.withdrawn IS NULL`,
      [ecosystem, JSON.stringify(names)],
    );
  },

  /** Recounts the advisories (withdrawn ones not counted) and affected rows; sets `updated_at` and `source` when given. */
  async refreshMeta(db: Executor, update?: { updatedAt: number; source: string }): Promise<void> {
    const [c] = await query<{ advisories: number; affected: number }>(
      db,
      `SELECT (SELECT count(*) FROM vulndb_advisories WHERE withdrawn IS NULL) AS advisories, (SELECT count(*) FROM vulndb_affected) AS affected`,
      [],
    );
    const advisories = Number(c?.advisories ?? 0);
    const affected = Number(c?.affected ?? 0);
    if (update) await run(db, `UPDATE vulndb_meta SET advisories = ?, affected = ?, updated_at = ?, source = ? WHERE id = 1`, [advisories, affected, update.updatedAt, update.source]);
    else await run(db, `UPDATE vulndb_meta SET advisories = ?, affected = ? WHERE id = 1`, [advisories, affected]);
  },

  /** The meta row. */
  async meta(db: Executor): Promise<VulnMetaRow> {
    const [m] = await query<VulnMetaRow>(db, `SELECT updated_at, source, advisories, affected FROM vulndb_meta WHERE id = 1`, []);
    return { updated_at: m?.updated_at == null ? null : Number(m.updated_at), source: m?.source ?? null, advisories: Number(m?.advisories ?? 0), affected: Number(m?.affected ?? 0) };
  },
};
