import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './schema.ts';
import { cachingDatabase } from './statement-cache.ts';
import * as m0001 from './migrations/0001-init.ts';
import * as m0002 from './migrations/0002-members-robots.ts';
import * as m0004 from './migrations/0004-users-login.ts';
import * as m0005 from './migrations/0005-manifest-content.ts';
import * as m0003 from './migrations/0003-quotas-audit.ts';

/** Every migration, in order. Add new ones here; never edit a migration that has shipped. */
const migrations: Record<string, Migration> = {
  '0001-init': m0001,
  '0002-members-robots': m0002,
  '0004-users-login': m0004,
  '0005-manifest-content': m0005,
  '0003-quotas-audit': m0003,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** An open database: the Kysely handle and a close function. */
export interface Db {
  kysely: Kysely<Database>;
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) the SQLite database at `path` in WAL mode and runs pending migrations.
 * `synchronous=NORMAL` with WAL keeps every committed transaction across a process crash (kill -9);
 * only an OS crash may lose the last transactions.
 */
export async function openDatabase(path: string): Promise<Db> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const kysely = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingDatabase(sqlite) }) });
  const result = await new Migrator({ db: kysely, provider }).migrateToLatest();
  if (result.error) {
    await kysely.destroy();
    throw result.error instanceof Error ? result.error : new Error(String(result.error));
  }
  return { kysely, close: () => kysely.destroy() };
}
