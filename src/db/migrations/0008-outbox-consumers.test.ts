import { test } from 'node:test';
import assert from 'node:assert/strict';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { up } from './0008-outbox-consumers.ts';

/** A database with the two tables 0008 reads, as 0001 and 0003 made them, and events with these `dispatched_at` values. */
async function before(dispatched: readonly (number | null)[]): Promise<Kysely<unknown>> {
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
  await sql`CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, dispatched_at INTEGER)`.execute(db);
  await sql`CREATE TABLE audit_cursor (name TEXT PRIMARY KEY, seq INTEGER NOT NULL)`.execute(db);
  await sql`INSERT INTO audit_cursor (name, seq) VALUES ('audit', 4)`.execute(db);
  for (const d of dispatched) await sql`INSERT INTO events (dispatched_at) VALUES (${d})`.execute(db);
  return db;
}

async function cursors(db: Kysely<unknown>): Promise<Record<string, number>> {
  const rows = (await sql<{ name: string; seq: number }>`SELECT name, seq FROM outbox_cursors ORDER BY name`.execute(db)).rows;
  return Object.fromEntries(rows.map((r) => [r.name, r.seq]));
}

test("0008 places the dispatcher's cursor just before its oldest undispatched event and keeps the audit cursor", async () => {
  // Event 3 failed alone and stayed pending while 4 went through; 5 is still pending.
  const db = await before([1, 1, null, 1, null]);
  await up(db);
  assert.deepEqual(await cursors(db), { audit: 4, webhooks: 2 });
  await db.destroy();
});

test('0008 with every event dispatched starts after the last one; with no events at 0', async () => {
  const all = await before([1, 1, 1]);
  await up(all);
  assert.deepEqual(await cursors(all), { audit: 4, webhooks: 3 });
  await all.destroy();
  const none = await before([]);
  await up(none);
  assert.deepEqual(await cursors(none), { audit: 4, webhooks: 0 });
  await none.destroy();
});
