/**
 * A Kysely dialect that tells an observer when each transaction begins and ends, at the driver,
 * so every `db.transaction()` of every module is seen in one place (traces: a span per
 * transaction, src/observability/tracing.ts). Without an observer the dialect is not wrapped.
 */
import type { DatabaseConnection, Dialect, Driver, Kysely, TransactionSettings } from 'kysely';

/** Told when a transaction begins and how it ends; `begin`'s result comes back to `end`. */
export interface TransactionObserver {
  begin(dialect: 'sqlite' | 'postgresql'): unknown;
  end(token: unknown, outcome: 'commit' | 'rollback' | 'error'): void;
}

function observedDriver(inner: Driver, observer: TransactionObserver, dialect: 'sqlite' | 'postgresql'): Driver {
  const open = new WeakMap<DatabaseConnection, unknown>();
  const finish = async (connection: DatabaseConnection, outcome: 'commit' | 'rollback', run: () => Promise<void>): Promise<void> => {
    const token = open.get(connection);
    open.delete(connection);
    try {
      await run();
    } catch (err) {
      observer.end(token, 'error');
      throw err;
    }
    observer.end(token, outcome);
  };
  return {
    init: () => inner.init(),
    acquireConnection: () => inner.acquireConnection(),
    releaseConnection: (c) => inner.releaseConnection(c),
    destroy: () => inner.destroy(),
    async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
      const token = observer.begin(dialect);
      try {
        await inner.beginTransaction(connection, settings);
      } catch (err) {
        observer.end(token, 'error');
        throw err;
      }
      open.set(connection, token);
    },
    commitTransaction: (c) => finish(c, 'commit', () => inner.commitTransaction(c)),
    rollbackTransaction: (c) => finish(c, 'rollback', () => inner.rollbackTransaction(c)),
    ...(inner.savepoint ? { savepoint: inner.savepoint.bind(inner) } : {}),
    ...(inner.rollbackToSavepoint ? { rollbackToSavepoint: inner.rollbackToSavepoint.bind(inner) } : {}),
    ...(inner.releaseSavepoint ? { releaseSavepoint: inner.releaseSavepoint.bind(inner) } : {}),
  };
}

/** `dialect`, with `observer` told of each transaction; `dialect` itself when there is no observer. */
export function observedDialect(dialect: Dialect, observer: TransactionObserver | undefined, name: 'sqlite' | 'postgresql'): Dialect {
  if (!observer) return dialect;
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => observedDriver(dialect.createDriver(), observer, name),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createIntrospector: (db: Kysely<unknown>) => dialect.createIntrospector(db),
  };
}
