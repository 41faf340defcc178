import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import type pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type Migration, type MigrationProvider, type PostgresPool, type PostgresPoolClient, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { Database } from './schema.ts';
import { cachingDatabase, type WriteLock } from './statement-cache.ts';
import { Checkpointer, type DbLogger } from './checkpointer.ts';
import type { Dialect } from './dialect.ts';
import { observedDialect, type TransactionObserver } from './observed-dialect.ts';
import { preparedName } from './sql.ts';
import { Notifications } from './notifications.ts';
import * as m0001 from './migrations/0001-init.ts';
import * as m0002 from './migrations/0002-members-robots.ts';
import * as m0003 from './migrations/0003-quotas-audit.ts';
import * as m0004 from './migrations/0004-users-login.ts';
import * as m0005 from './migrations/0005-manifest-content.ts';
import * as m0006 from './migrations/0006-execution-headers.ts';
import * as m0007 from './migrations/0007-jobs.ts';
import * as m0008 from './migrations/0008-outbox-consumers.ts';
import * as m0009 from './migrations/0009-login-failures.ts';
import * as m0010 from './migrations/0010-events-no-dispatch-mark.ts';
import * as m0011 from './migrations/0011-vulndb.ts';
import * as m0012 from './migrations/0012-scanners.ts';
import * as m0013 from './migrations/0013-scan-reports.ts';
import * as m0014 from './migrations/0014-immutable-rules.ts';
import * as m0015 from './migrations/0015-labels.ts';
import * as m0016 from './migrations/0016-retention.ts';
import * as m0017 from './migrations/0017-repository-description.ts';
import * as m0018 from './migrations/0018-registries.ts';
import * as m0019 from './migrations/0019-replication.ts';
import * as m0020 from './migrations/0020-proxy-cache.ts';
import * as m0021 from './migrations/0021-console-sessions.ts';
import * as m0022 from './migrations/0022-user-groups.ts';
import * as m0023 from './migrations/0023-preheat.ts';
import * as m0024 from './migrations/0024-trace-context.ts';
import * as m0025 from './migrations/0025-webhook-status-filters.ts';
import * as m0026 from './migrations/0026-event-feed.ts';
import * as m0027 from './migrations/0027-webhook-relays.ts';
import * as m0029 from './migrations/0029-ldap-admin-role.ts';
import * as m0030 from './migrations/0030-cve-exports.ts';

/** Every migration, in order. Add new ones here; never edit a migration that has shipped. */
const migrations: Record<string, Migration> = {
  '0001-init': m0001,
  '0002-members-robots': m0002,
  '0003-quotas-audit': m0003,
  '0004-users-login': m0004,
  '0005-manifest-content': m0005,
  '0006-execution-headers': m0006,
  '0007-jobs': m0007,
  '0008-outbox-consumers': m0008,
  '0009-login-failures': m0009,
  '0010-events-no-dispatch-mark': m0010,
  '0011-vulndb': m0011,
  '0012-scanners': m0012,
  '0013-scan-reports': m0013,
  '0014-immutable-rules': m0014,
  '0015-labels': m0015,
  '0016-retention': m0016,
  '0017-repository-description': m0017,
  '0018-registries': m0018,
  '0019-replication': m0019,
  '0020-proxy-cache': m0020,
  '0021-console-sessions': m0021,
  '0022-user-groups': m0022,
  '0023-preheat': m0023,
  '0024-trace-context': m0024,
  '0025-webhook-status-filters': m0025,
  '0026-event-feed': m0026,
  '0027-webhook-relays': m0027,
  '0029-ldap-admin-role': m0029,
  '0030-cve-exports': m0030,
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** An open database: the Kysely handle and a close function. */
export interface Db {
  kysely: Kysely<Database>;
  /** Which database this is. */
  dialect: Dialect;
  /** PostgreSQL only: notifications between the processes that share the database (LISTEN/NOTIFY). */
  notifications?: Notifications;
  /** The WAL checkpoint worker; absent for `:memory:` or when turned off. */
  checkpointer?: Checkpointer;
  /** Stops the checkpointer, truncates the WAL (a final checkpoint) and closes the connection. */
  close(): Promise<void>;
}

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /**
   * Milliseconds between two WAL checkpoints by the worker thread (default 500). 0 starts no
   * worker and leaves checkpoints to SQLite, inside COMMITs on the main thread.
   */
  checkpointIntervalMs?: number;
  /** WAL size past which the worker restarts it, holding writers back briefly (default 64 MiB). */
  walLimitBytes?: number;
  /** WAL file size at which the worker thread starts (default 4 MiB, SQLite's usual checkpoint point; 0: at once). */
  workerStartBytes?: number;
  /** Where checkpoint problems are logged (default: the console). */
  logger?: DbLogger;
  /** Run pending migrations (default true). False for a second connection opened after the first migrated. */
  migrate?: boolean;
  /**
   * This connection owns checkpoints (default true). False for a second connection (another
   * thread): no checkpoint worker, no checkpoint at close, and no automatic checkpoints on its
   * commits when `checkpointIntervalMs` > 0 (the first connection's worker does them).
   */
  checkpoint?: boolean;
  /** Shared with the other connections of this process (other threads): BEGIN takes it, the transaction's end gives it back. */
  writeLock?: WriteLock;
  /** PostgreSQL: most connections in this process's pool (default 10). */
  poolSize?: number;
  /** PostgreSQL: listen for other processes' notifications (default true; a second connection of one process passes false). */
  listen?: boolean;
  /** Told of each transaction's begin and end (traces); absent: the dialect is not wrapped. */
  transactionObserver?: TransactionObserver;
}

/** True when `target` names a PostgreSQL database (`postgres://` or `postgresql://`) rather than a SQLite file. */
export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

const consoleLogger: DbLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

/** SQLite's own default, restored when the checkpoint worker is not there. */
const defaultAutocheckpointPages = 1000;

/**
 * Kysely's ROLLBACK after a failed statement. SQLite has already rolled the transaction back by
 * itself after some errors (SQLITE_FULL: a full disk, SQLITE_IOERR, ...); ROLLBACK then fails with
 * "cannot rollback - no transaction is active", and that error would replace the one that says
 * what happened. It still runs (the write lock is given back when it does) but its error is
 * ignored when no transaction is open.
 */
function quietRollback(sqlite: SQLite.Database, stmt: SqliteStatement): SqliteStatement {
  return {
    reader: stmt.reader,
    all: (p) => stmt.all(p),
    iterate: (p) => stmt.iterate(p),
    run: (p) => {
      try {
        return stmt.run(p);
      } catch (err) {
        if (sqlite.inTransaction) throw err;
        return { changes: 0, lastInsertRowid: 0 };
      }
    },
  };
}

/**
 * Opens (creating if needed) the SQLite database at `path` in WAL mode and runs pending migrations.
 * `synchronous=NORMAL` with WAL keeps every committed transaction across a process crash (kill -9);
 * only an OS crash may lose the last transactions.
 *
 * Checkpoints (copying the WAL into the database file) run in a worker thread with its own
 * connection (checkpointer.ts), not inside COMMITs on the main thread. Because that worker briefly
 * takes the writer lock to restart a long WAL, transactions start with BEGIN IMMEDIATE: a deferred
 * transaction that read first could not upgrade to a writer then (SQLITE_BUSY at once, no retry),
 * whereas BEGIN IMMEDIATE waits in the busy handler.
 */
export async function openDatabase(path: string, opts: OpenDatabaseOptions = {}): Promise<Db> {
  if (isPostgresUrl(path)) return openPostgres(path, opts);
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const statements = cachingDatabase(sqlite, { writeLock: opts.writeLock });
  const database: SqliteDatabase = {
    close: () => statements.close(),
    // Kysely's SqliteDriver begins every transaction with the text 'begin'.
    prepare: (text: string) => (text === 'rollback' ? quietRollback(sqlite, statements.prepare(text)) : statements.prepare(text === 'begin' ? 'begin immediate' : text)),
  };
  const kysely = new Kysely<Database>({ dialect: observedDialect(new SqliteDialect({ database }), opts.transactionObserver, 'sqlite') });
  const result = opts.migrate === false ? undefined : await new Migrator({ db: kysely, provider }).migrateToLatest();
  if (result?.error) {
    await kysely.destroy();
    throw result.error instanceof Error ? result.error : new Error(String(result.error));
  }
  const intervalMs = opts.checkpointIntervalMs ?? 500;
  const ownsCheckpoints = opts.checkpoint !== false;
  if (!ownsCheckpoints && intervalMs > 0) sqlite.pragma('wal_autocheckpoint = 0');
  const logger = opts.logger ?? consoleLogger;
  let closed = false;
  let checkpointer: Checkpointer | undefined;
  if (!inMemory && intervalMs > 0 && ownsCheckpoints) {
    sqlite.pragma('wal_autocheckpoint = 0');
    checkpointer = Checkpointer.start({
      path,
      intervalMs,
      walLimitBytes: opts.walLimitBytes ?? 64 * 1024 * 1024,
      startBytes: opts.workerStartBytes ?? 4 * 1024 * 1024,
      logger,
      onFailure: () => {
        if (!closed) sqlite.pragma(`wal_autocheckpoint = ${defaultAutocheckpointPages}`);
      },
    });
  }
  return {
    kysely,
    dialect: 'sqlite',
    checkpointer,
    async close() {
      if (closed) return;
      closed = true;
      await checkpointer?.stop();
      if (!inMemory && ownsCheckpoints) {
        try {
          // Through Kysely so that it waits for a transaction still in flight.
          await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(kysely);
        } catch (err) {
          logger.warn({ err, path }, 'final WAL checkpoint failed; the WAL is replayed on next open');
        }
      }
      await kysely.destroy();
    },
  };
}

/**
 * PostgreSQL's column types as JavaScript values: bigint (int8: times in ms, counts, sums of sizes)
 * and numeric (what sum() of a bigint gives) as numbers, like SQLite's integers; everything Wharf
 * stores fits in a double exactly.
 */
function pgTypes(types: typeof pg.types): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === 20 || oid === 1700) return (v: string) => (v === null ? null : Number(v));
      return types.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

/**
 * `pool` as Kysely's driver sees it, with the stores' statement texts (sql.ts's `preparedName`)
 * sent as named statements: node-postgres prepares a named statement once per connection and
 * then only binds and executes it, so PostgreSQL parses and plans it once per connection. Every
 * other text (Kysely-built queries) is sent unnamed, as before. A named statement's cached plan
 * fails with 0A000 ("cached plan must not change result type") once another process's migration
 * changed a table it reads with `*`: the connection that saw it is then closed instead of going
 * back to the pool, and the next one prepares afresh.
 */
function preparingPool(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let stale = false;
    // A cursor (Kysely's streaming) or an unnamed text goes through as it came.
    const query = ((text: unknown, values?: unknown[]) => {
      const name = typeof text === 'string' ? preparedName(text) : undefined;
      if (name === undefined) return client.query(text as string, values);
      return client.query({ name, text: text as string, values }).catch((err: unknown) => {
        if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '0A000') stale = true;
        throw err;
      });
    }) as unknown as PostgresPoolClient['query'];
    return { query, release: () => client.release(stale || undefined) };
  };
  return {
    connect: async () => {
      const client = await pool.connect();
      let w = wrapped.get(client);
      if (!w) {
        w = wrap(client);
        wrapped.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}

/**
 * Opens a PostgreSQL database through a pool of `pg` connections and runs pending migrations
 * (Kysely's migrator holds an advisory lock meanwhile, so several processes starting together
 * migrate once). A dedicated connection LISTENs for the notifications other processes send.
 */
async function openPostgres(url: string, opts: OpenDatabaseOptions): Promise<Db> {
  const logger = opts.logger ?? consoleLogger;
  // Loaded here, not at start: a SQLite deployment never needs the driver.
  const { default: pgLib } = await import('pg');
  const pool = new pgLib.Pool({ connectionString: url, max: opts.poolSize ?? 10, types: pgTypes(pgLib.types), application_name: 'wharf' });
  // An idle client that loses its server (a restart) emits 'error' on the pool: logged, and the pool makes a new one.
  pool.on('error', (err) => logger.warn({ err }, 'PostgreSQL: an idle connection failed; it is replaced'));
  const kysely = new Kysely<Database>({ dialect: observedDialect(new PostgresDialect({ pool: preparingPool(pool) }), opts.transactionObserver, 'postgresql') });
  try {
    const result = opts.migrate === false ? undefined : await new Migrator({ db: kysely, provider }).migrateToLatest();
    if (result?.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  } catch (err) {
    await kysely.destroy();
    throw err;
  }
  const notifications = opts.listen === false ? undefined : new Notifications(url, logger);
  await notifications?.start();
  let closed = false;
  return {
    kysely,
    dialect: 'postgres',
    notifications,
    async close() {
      if (closed) return;
      closed = true;
      await notifications?.stop();
      await kysely.destroy();
    },
  };
}
