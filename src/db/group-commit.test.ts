import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { GroupCommit } from './group-commit.ts';

interface TestDb {
  parents: { id: number };
  children: { id: number; parent_id: number };
}

/** A real SQLite file with a counter of COMMIT statements and a second, independent connection. */
async function setup(t: { after: (fn: () => void | Promise<void>) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
  const file = join(dir, 'db.sqlite');
  const raw = new SQLite(file);
  raw.pragma('journal_mode = WAL');
  raw.pragma('foreign_keys = ON');
  raw.exec('create table parents (id integer primary key)');
  // Deferred: a missing parent is only noticed at COMMIT, which lets a test make a whole group fail.
  raw.exec('create table children (id integer primary key, parent_id integer not null references parents(id) deferrable initially deferred)');
  let commits = 0;
  const texts: string[] = [];
  const db = new Kysely<TestDb>({
    dialect: new SqliteDialect({ database: raw }),
    log: (e) => {
      texts.push(e.query.sql);
      if (e.query.sql === 'commit') commits++;
    },
  });
  const other = new SQLite(file, { readonly: true });
  t.after(async () => {
    other.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const visible = (id: number) => other.prepare('select count(*) as n from parents where id = ?').get(id) as { n: number }; // the row shape of count(*)
  return { db, commits: () => commits, visible, texts };
}

test('writes queued in the same turn share one COMMIT, and each resolves only after it', async (t) => {
  const { db, commits, visible } = await setup(t);
  const gc = new GroupCommit(db);
  const seenAfterResolve: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      gc
        .run(async (trx) => {
          await trx.insertInto('parents').values({ id: i + 1 }).execute();
          return i + 1;
        })
        .then((id) => seenAfterResolve.push(visible(id).n)),
    ),
  );
  assert.equal(commits(), 1);
  assert.deepEqual(seenAfterResolve, Array(20).fill(1), 'every row is visible to another connection when its promise resolves');
});

test('a failing write is rolled back alone; its neighbours commit', async (t) => {
  const { db } = await setup(t);
  const gc = new GroupCommit(db);
  const results = await Promise.allSettled([
    gc.run((trx) => trx.insertInto('parents').values({ id: 1 }).execute()),
    gc.run(async (trx) => {
      await trx.insertInto('parents').values({ id: 2 }).execute();
      throw new Error('refused after writing');
    }),
    gc.run((trx) => trx.insertInto('parents').values({ id: 3 }).execute()),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  const second = results[1];
  assert.ok(second?.status === 'rejected' && second.reason instanceof Error && second.reason.message === 'refused after writing');
  const ids = (await db.selectFrom('parents').select('id').orderBy('id').execute()).map((r) => r.id);
  assert.deepEqual(ids, [1, 3]);
});

test('a group that succeeds runs without savepoints', async (t) => {
  const { db, texts, commits } = await setup(t);
  const gc = new GroupCommit(db);
  await Promise.all(Array.from({ length: 8 }, (_, i) => gc.run((trx) => trx.insertInto('parents').values({ id: i + 1 }).execute())));
  assert.equal(commits(), 1);
  assert.ok(!texts.some((q) => /savepoint/i.test(q)), 'no savepoint');
});

test('failures in a group cost each neighbour at most one more run, in savepoints', async (t) => {
  const { db, texts } = await setup(t);
  const gc = new GroupCommit(db);
  const runs = Array(10).fill(0) as number[];
  const results = await Promise.allSettled(
    Array.from({ length: 10 }, (_, i) =>
      gc.run(async (trx) => {
        runs[i] = (runs[i] ?? 0) + 1;
        await trx.insertInto('parents').values({ id: i + 1 }).execute();
        if (i % 3 === 1) throw new Error(`refused ${i}`);
        return i;
      }),
    ),
  );
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [0, 'refused 1', 2, 3, 'refused 4', 5, 6, 'refused 7', 8, 9],
  );
  assert.deepEqual((await db.selectFrom('parents').select('id').orderBy('id').execute()).map((r) => r.id), [1, 3, 4, 6, 7, 9, 10]);
  // The first failure (write 1) rolled back write 0, which ran again; the rest ran once, in the careful group.
  assert.deepEqual(runs, [2, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  assert.ok(texts.some((q) => /rollback to savepoint/i.test(q)), 'the careful group rolled back only the failing writes');
});

test('a write alone in its group runs without a savepoint; when it fails nothing of it stays', async (t) => {
  const { db, texts } = await setup(t);
  const gc = new GroupCommit(db);
  await assert.rejects(
    gc.run(async (trx) => {
      await trx.insertInto('parents').values({ id: 7 }).execute();
      throw new Error('refused after writing');
    }),
    /refused after writing/,
  );
  await gc.run((trx) => trx.insertInto('parents').values({ id: 8 }).execute());
  const ids = (await db.selectFrom('parents').select('id').orderBy('id').execute()).map((r) => r.id);
  assert.deepEqual(ids, [8]);
  assert.ok(!texts.some((q) => /savepoint/i.test(q)), 'no savepoint for a lone write');
});

test('a retryable error runs the write again in a later group; other errors are returned at once', async (t) => {
  const { db } = await setup(t);
  const gc = new GroupCommit(db, { maxAttempts: 3 });
  let tries = 0;
  const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  const value = await gc.run(async (trx) => {
    tries++;
    await trx.insertInto('parents').values({ id: 7 }).execute();
    if (tries < 3) throw busy;
    return 'done';
  });
  assert.equal(value, 'done');
  assert.equal(tries, 3);
  assert.equal((await db.selectFrom('parents').select('id').execute()).length, 1, 'the failed tries left no rows');

  let always = 0;
  await assert.rejects(
    gc.run(async () => {
      always++;
      throw busy;
    }),
    /database is locked/,
  );
  assert.equal(always, 3, 'gives up after maxAttempts');

  let once = 0;
  await assert.rejects(
    gc.run(async () => {
      once++;
      throw new Error('not a race');
    }),
    /not a race/,
  );
  assert.equal(once, 1, 'an error a retry cannot cure is returned after one try');
});

test('when COMMIT fails, each write runs again alone and only the culprit fails', async (t) => {
  const { db } = await setup(t);
  const gc = new GroupCommit(db);
  const results = await Promise.allSettled([
    gc.run((trx) => trx.insertInto('parents').values({ id: 1 }).execute()),
    // A child of a parent that does not exist: the deferred foreign key fails the COMMIT.
    gc.run((trx) => trx.insertInto('children').values({ id: 1, parent_id: 99 }).execute()),
    gc.run((trx) => trx.insertInto('children').values({ id: 2, parent_id: 1 }).execute()),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual((await db.selectFrom('children').select('id').execute()).map((r) => r.id), [2]);
  assert.equal((await sql<{ n: number }>`select count(*) as n from parents`.execute(db)).rows[0]?.n, 1);
});

test('writes queued while a group is committing go into the next group', async (t) => {
  const { db, commits } = await setup(t);
  const gc = new GroupCommit(db, { maxBatch: 4 });
  await Promise.all(Array.from({ length: 10 }, (_, i) => gc.run((trx) => trx.insertInto('parents').values({ id: i + 1 }).execute())));
  assert.equal(commits(), 3, '10 writes, at most 4 per group');
  assert.equal((await db.selectFrom('parents').select('id').execute()).length, 10);
});
