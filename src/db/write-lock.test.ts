import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { cachingDatabase, WriteLock } from './statement-cache.ts';

function tempDb(): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'write-lock-'));
  const path = join(dir, 'x.db');
  const raw = new SQLite(path);
  raw.pragma('journal_mode = WAL');
  raw.exec('create table t (x integer)');
  raw.close();
  return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('BEGIN takes the write lock; COMMIT and ROLLBACK give it back; a savepoint rollback does not', () => {
  const { path, done } = tempDb();
  const lock = new WriteLock();
  const db = cachingDatabase(new SQLite(path), { writeLock: lock });
  assert.equal(lock.locked, false);
  db.prepare('begin immediate').run([]);
  assert.equal(lock.locked, true);
  db.prepare('insert into t (x) values (?)').run([1]);
  db.prepare('savepoint g').run([]);
  db.prepare('rollback to savepoint g').run([]);
  assert.equal(lock.locked, true, 'still inside the transaction');
  db.prepare('release savepoint g').run([]);
  db.prepare('commit').run([]);
  assert.equal(lock.locked, false);
  db.prepare('begin immediate').run([]);
  assert.equal(lock.locked, true);
  db.prepare('rollback').run([]);
  assert.equal(lock.locked, false);
  db.close();
  done();
});

test('a BEGIN that fails gives the lock back', () => {
  const { path, done } = tempDb();
  const lock = new WriteLock();
  const db = cachingDatabase(new SQLite(path), { writeLock: lock });
  db.prepare('begin immediate').run([]);
  assert.throws(() => db.prepare('begin immediate').run([]), /within a transaction/);
  assert.equal(lock.locked, true, 'the first transaction still holds it');
  db.prepare('commit').run([]);
  assert.equal(lock.locked, false);
  db.close();
  done();
});

test('closing a connection inside a transaction gives the lock back', () => {
  const { path, done } = tempDb();
  const lock = new WriteLock();
  const db = cachingDatabase(new SQLite(path), { writeLock: lock });
  db.prepare('begin immediate').run([]);
  db.close();
  assert.equal(lock.locked, false);
  done();
});

test('a holder that never gives the lock back delays the next BEGIN by the timeout only', () => {
  const { path, done } = tempDb();
  const lock = new WriteLock();
  lock.acquire(0); // a holder that is gone
  const db = cachingDatabase(new SQLite(path), { writeLock: lock, lockTimeoutMs: 100 });
  const t0 = performance.now();
  db.prepare('begin immediate').run([]);
  const waited = performance.now() - t0;
  assert.ok(waited >= 90 && waited < 2000, `waited ${waited} ms`);
  db.prepare('commit').run([]);
  assert.equal(lock.locked, false);
  db.close();
  done();
});

test('a waiter in another thread is woken as soon as the lock is released', async () => {
  const lock = new WriteLock();
  assert.equal(lock.acquire(0), true);
  // The other thread waits on the same cell the way WriteLock.acquire does and reports when it got it.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const cell = new Int32Array(workerData, 0, 1);
    parentPort.postMessage('waiting');
    while (Atomics.compareExchange(cell, 0, 0, 1) !== 0) Atomics.wait(cell, 0, 1, 5000);
    parentPort.postMessage(Date.now());`;
  const worker = new Worker(code, { eval: true, workerData: lock.buffer });
  const messages: unknown[] = [];
  const next = () => new Promise<unknown>((resolve) => worker.once('message', (m) => resolve(m)));
  messages.push(await next());
  await new Promise((r) => setTimeout(r, 100));
  const got = next();
  const releasedAt = Date.now();
  lock.release();
  const at = Number(await got);
  assert.ok(at - releasedAt < 50, `woken ${at - releasedAt} ms after the release`);
  assert.equal(lock.locked, true, 'the other thread holds it now');
  await worker.terminate();
});
