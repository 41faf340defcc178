/**
 * The console's browser sessions (src/auth/sessions.ts) in `console_sessions` (migration 0021):
 * looked up by the SHA-256 of the session id, refreshed at most once a minute, deleted on sign-out
 * and pruned once idle or past their absolute end. Plain SQL that runs on SQLite and PostgreSQL.
 */
import type { ConsoleSessionsTable } from './schema.ts';
import { query, run, type Executor } from './sql.ts';

/** A session row. */
export type ConsoleSessionRow = ConsoleSessionsTable;

export const sessionStore = {
  /** Stores a new session. */
  async insert(db: Executor, s: ConsoleSessionRow): Promise<void> {
    await run(db, `INSERT INTO console_sessions (id_hash, user_id, csrf, created, last_seen, expires) VALUES (?, ?, ?, ?, ?, ?)`, [
      s.id_hash,
      s.user_id,
      s.csrf,
      s.created,
      s.last_seen,
      s.expires,
    ]);
  },

  /** The session whose id hashes to `idHash`, or undefined. */
  async get(db: Executor, idHash: string): Promise<ConsoleSessionRow | undefined> {
    const [r] = await query<ConsoleSessionRow>(db, `SELECT id_hash, user_id, csrf, created, last_seen, expires FROM console_sessions WHERE id_hash = ?`, [idHash]);
    return r ? { ...r, user_id: Number(r.user_id), created: Number(r.created), last_seen: Number(r.last_seen), expires: Number(r.expires) } : undefined;
  },

  /** Sets `last_seen` to `at` (ms). */
  async touch(db: Executor, idHash: string, at: number): Promise<void> {
    await run(db, `UPDATE console_sessions SET last_seen = ? WHERE id_hash = ?`, [at, idHash]);
  },

  /** Deletes one session. */
  async delete(db: Executor, idHash: string): Promise<void> {
    await run(db, `DELETE FROM console_sessions WHERE id_hash = ?`, [idHash]);
  },

  /** Deletes every session of a user. Returns how many. */
  deleteOfUser(db: Executor, userId: number): Promise<number> {
    return run(db, `DELETE FROM console_sessions WHERE user_id = ?`, [userId]);
  },

  /** Deletes sessions last seen at or before `idleBefore` or ending at or before `now` (ms). Returns how many. */
  prune(db: Executor, idleBefore: number, now: number): Promise<number> {
    return run(db, `DELETE FROM console_sessions WHERE last_seen <= ? OR expires <= ?`, [idleBefore, now]);
  },
};
