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

/**
 * Party 1 in another thread, written against the lock's documented cells (state; waiting flags):
 * waits for the lock, reports when it got it, holds it `holdMs`, releases it as WriteLock does.
 */
const party1 = `
  const { parentPort, workerData } = require('node:worker_threads');
  const cells = new Int32Array(workerData.buffer, 0, 3);
  Atomics.store(cells, 2, 1);
  parentPort.postMessage({ waiting: true });
  for (;;) {
    if (Atomics.compareExchange(cells, 0, 0, 1) === 0 || Atomics.compareExchange(cells, 0, 3, 1) === 3) break;
    const v = Atomics.load(cells, 0);
    if (v !== 0 && v !== 3) Atomics.wait(cells, 0, v, 5000);
  }
  Atomics.store(cells, 2, 0);
  const got = Date.now();
  const until = got + workerData.holdMs;
  while (Date.now() < until) {}
  Atomics.store(cells, 0, Atomics.load(cells, 1) === 1 ? 2 : 0);
  Atomics.notify(cells, 0);
  parentPort.postMessage({ got, released: Date.now() });`;

test('a waiter in another thread is woken as soon as the lock is released', async () => {
  const lock = new WriteLock();
  assert.equal(lock.acquire(0), true);
  const worker = new Worker(party1, { eval: true, workerData: { buffer: lock.buffer, holdMs: 0 } });
  const next = () => new Promise<Record<string, number>>((resolve) => worker.once('message', (m: Record<string, number>) => resolve(m)));
  await next(); // waiting
  await new Promise((r) => setTimeout(r, 100));
  const got = next();
  const releasedAt = Date.now();
  lock.release();
  const { got: at } = await got;
  assert.ok((at ?? Infinity) - releasedAt < 50, `woken ${(at ?? Infinity) - releasedAt} ms after the release`);
  await worker.terminate();
});

test('a release while the other thread waits hands it the lock: taking it straight back waits for its turn', async () => {
  const lock = new WriteLock();
  assert.equal(lock.acquire(0), true);
  const worker = new Worker(party1, { eval: true, workerData: { buffer: lock.buffer, holdMs: 100 } });
  const done = new Promise<Record<string, number>>((resolve) => worker.on('message', (m: Record<string, number>) => m.got && resolve(m)));
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));
  await new Promise((r) => setTimeout(r, 50)); // the worker is in Atomics.wait by now
  lock.release();
  const t0 = Date.now();
  assert.equal(lock.acquire(5000), true);
  const tookMs = Date.now() - t0;
  const m = await done;
  assert.ok(tookMs >= 80, `waited ${tookMs} ms: the other thread had its turn first`);
  assert.ok((m.released ?? Infinity) <= Date.now());
  lock.release();
  assert.equal(lock.locked, false);
  await worker.terminate();
});

test('a new handle of a party clears a reservation left for a predecessor that is gone', () => {
  const lock = new WriteLock();
  const buffer = lock.buffer;
  const cells = new Int32Array(buffer, 0, 3);
  Atomics.store(cells, 0, 3); // reserved for party 1, which then died
  Atomics.store(cells, 2, 1);
  const again = new WriteLock(buffer, 1);
  assert.equal(lock.locked, false);
  assert.equal(again.acquire(0), true);
  again.release();
});
