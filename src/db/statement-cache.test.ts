import { test } from 'node:test';
import assert from 'node:assert/strict';
import SQLite from 'better-sqlite3';
import { arrayRowsMarker, cachingDatabase } from './statement-cache.ts';

test('the same SQL text reuses one prepared statement, with fresh parameters each call', () => {
  const raw = new SQLite(':memory:');
  raw.exec('create table t (x integer)');
  const db = cachingDatabase(raw);
  const a = db.prepare('insert into t (x) values (?)');
  a.run([1]);
  const b = db.prepare('insert into t (x) values (?)');
  b.run([2]);
  assert.equal(a, b);
  assert.deepEqual(db.prepare('select x from t order by x').all([]), [{ x: 1 }, { x: 2 }]);
  db.close();
});

test('a statement marked for array rows returns arrays, also when prepared afresh; the same text unmarked returns objects', () => {
  const raw = new SQLite(':memory:');
  raw.exec("create table t (x integer, y text); insert into t values (1, 'a'), (2, 'b')");
  const db = cachingDatabase(raw);
  const sql = 'select x, y as why from t order by x';
  assert.deepEqual(db.prepare(arrayRowsMarker + sql).all([]), [[1, 'a'], [2, 'b']]);
  const it = db.prepare(arrayRowsMarker + sql).iterate([]);
  assert.deepEqual(it.next().value, [1, 'a']);
  // The cached statement is busy iterating: a fresh one is prepared, in array mode too.
  assert.deepEqual(db.prepare(arrayRowsMarker + sql).all([]), [[1, 'a'], [2, 'b']]);
  it.return?.();
  assert.deepEqual(db.prepare(sql).all([]), [{ x: 1, why: 'a' }, { x: 2, why: 'b' }]);
  db.close();
});

test('a statement still iterating is not handed out again', () => {
  const raw = new SQLite(':memory:');
  raw.exec('create table t (x integer); insert into t values (1), (2)');
  const db = cachingDatabase(raw);
  const sql = 'select x from t order by x';
  const it = db.prepare(sql).iterate([]);
  assert.deepEqual(it.next().value, { x: 1 });
  const other = db.prepare(sql);
  assert.deepEqual(other.all([]), [{ x: 1 }, { x: 2 }]);
  assert.deepEqual(it.next().value, { x: 2 });
  assert.equal(it.next().done, true);
  db.close();
});

test('the cache is bounded, and a schema change does not break a cached statement', () => {
  const raw = new SQLite(':memory:');
  raw.exec('create table t (x integer); insert into t values (1)');
  const db = cachingDatabase(raw, 2);
  const first = db.prepare('select x from t');
  db.prepare('select 1 as one');
  db.prepare('select 2 as two');
  assert.notEqual(db.prepare('select x from t'), first, 'evicted as least recently used');
  const q = db.prepare('select * from t');
  raw.exec('alter table t add column y integer default 7');
  assert.deepEqual(db.prepare('select * from t').all([]), [{ x: 1, y: 7 }]);
  assert.ok(q);
  db.close();
});
