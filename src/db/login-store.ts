/**
 * The failed-login limiter's counters (src/auth/login-limiter.ts) in `login_failures`: one row per
 * failure and scope, so every instance sharing the database counts the same failures. Checking a
 * login is one indexed read; only failures (and a success after failures) write.
 */
import { query, run, type Executor } from './sql.ts';

/** Failures of a name and of an address within a window. */
export interface LoginFailureCounts {
  user: number;
  address: number;
}

export const loginStore = {
  /**
   * Failures of `username` (already lower-cased) and of `address` after `since` (ms), each counted
   * up to `cap` (enough to decide; a flood of failures does not make the count slower).
   */
  async counts(db: Executor, username: string, address: string, since: number, cap: number): Promise<LoginFailureCounts> {
    const [r] = await query<{ u: number; a: number }>(
      db,
      `SELECT (SELECT count(*) FROM (SELECT 1 FROM login_failures WHERE scope = 'user' AND key = ? AND time > ? LIMIT ?) AS u) AS u,
              (SELECT count(*) FROM (SELECT 1 FROM login_failures WHERE scope = 'address' AND key = ? AND time > ? LIMIT ?) AS a) AS a`,
      [username, since, cap, address, since, cap],
    );
    return { user: Number(r?.u ?? 0), address: Number(r?.a ?? 0) };
  },

  /** Records one failure of `username` (lower-cased) from `address` at `at` (ms). */
  async add(db: Executor, username: string, address: string, at: number): Promise<void> {
    await run(db, `INSERT INTO login_failures (scope, key, time) VALUES ('user', ?, ?), ('address', ?, ?)`, [username, at, address, at]);
  },

  /** Forgets the failures of `username` (lower-cased); the address keeps its count. */
  async clearUser(db: Executor, username: string): Promise<void> {
    await run(db, `DELETE FROM login_failures WHERE scope = 'user' AND key = ?`, [username]);
  },

  /** Removes failures at or before `before` (ms): they no longer count. Returns how many. */
  prune(db: Executor, before: number): Promise<number> {
    return run(db, `DELETE FROM login_failures WHERE time <= ?`, [before]);
  },
};
