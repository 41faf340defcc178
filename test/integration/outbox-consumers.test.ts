/**
 * The outbox consumer runner (src/events/consumers.ts) over real SQLite (a PostgreSQL database in
 * that pass of the tests): no event skipped and none
 * applied twice, across kill -9 of the consuming process and between two runners sharing a database;
 * types, after-commit callbacks and where a new consumer starts; the deferred cursor of a batch with
 * nothing wanted, and the tail the consumers share (src/events/outbox-tail.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { pino } from 'pino';
import { openDatabase, outboxStore, type Database, type Db } from '../../src/db/index.ts';
import { databaseTargetOf, dropDatabaseOf } from '../helpers/db.ts';
import { ConsumerRunner, Outbox, type NewEvent } from '../../src/events/index.ts';
import { OutboxTail } from '../../src/events/outbox-tail.ts';

const silent = pino({ level: 'silent' });
const project = { id: 1, name: 'library', public: true };
const repository = { id: 1, name: 'library/app', creationTime: null };

function event(type: 'PUSH_ARTIFACT' | 'PULL_ARTIFACT', i: number): NewEvent {
  const artifact = { digest: `sha256:${'a'.repeat(64)}`, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, tag: `t${i}`, tags: [`t${i}`], artifactType: null };
  return { type, operator: 'admin', project, repository, artifact };
}

async function appendEvents(db: Kysely<Database>, outbox: Outbox, from: number, n: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (let i = from; i < from + n; i++) await outbox.append(trx, event(i % 3 === 0 ? 'PULL_ARTIFACT' : 'PUSH_ARTIFACT', i));
  });
}

async function scalar(db: Kysely<Database>, q: string): Promise<number> {
  return Number((await sql<{ n: number }>`${sql.raw(q)}`.execute(db)).rows[0]?.n ?? -1);
}

/** A fresh database: `file` (the SQLite file, or the PostgreSQL URL) is what a child process opens. */
async function withDb(fn: (db: Db, dir: string, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-consumers-'));
  const file = await databaseTargetOf(dir);
  const db = await openDatabase(file);
  try {
    await sql`CREATE TABLE consumed (seq INTEGER NOT NULL, pid INTEGER NOT NULL)`.execute(db.kysely);
    await fn(db, dir, file);
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    await dropDatabaseOf(dir);
  }
}

/** Every PUSH_ARTIFACT seq once, nothing else: [missing, twice or more, not wanted]. */
async function exactlyOnce(db: Kysely<Database>): Promise<{ missing: number; repeated: number; unwanted: number }> {
  return {
    missing: await scalar(db, `SELECT count(*) AS n FROM events WHERE type = 'PUSH_ARTIFACT' AND seq NOT IN (SELECT seq FROM consumed)`),
    repeated: await scalar(db, `SELECT count(*) AS n FROM (SELECT seq FROM consumed GROUP BY seq HAVING count(*) > 1) AS r`),
    unwanted: await scalar(db, `SELECT count(*) AS n FROM consumed WHERE seq NOT IN (SELECT seq FROM events WHERE type = 'PUSH_ARTIFACT')`),
  };
}

function startChild(file: string, log: string, delayMs: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL('../helpers/consumer-child.ts', import.meta.url).pathname, file, log, String(delayMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve(child);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`consumer child exited (${code}) before it was ready`)));
  });
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

test('kill -9 while consuming: after restarts every event is handled exactly once', async () => {
  await withDb(async (db, dir, file) => {
    const outbox = new Outbox();
    const log = join(dir, 'batches.log');
    writeFileSync(log, '');
    await appendEvents(db.kysely, outbox, 0, 240);
    let appended = 240;
    let interrupted = 0;
    for (let round = 0; round < 4; round++) {
      // More events arrive between restarts (appended by another process: no wake-up, the poll finds them).
      await appendEvents(db.kysely, outbox, appended, 30);
      appended += 30;
      const before = await scalar(db.kysely, `SELECT count(*) AS n FROM consumed`);
      const child = await startChild(file, log, 25);
      await until(`progress in round ${round}`, async () => (await scalar(db.kysely, `SELECT count(*) AS n FROM consumed`)) >= before + 20, 60_000);
      await new Promise((r) => setTimeout(r, 7 * round)); // vary where in a batch the kill lands
      await killHard(child);
      const lines = readFileSync(log, 'utf8').trim().split('\n');
      if (lines[lines.length - 1]?.startsWith('begin')) interrupted++;
      writeFileSync(log, '');
      const now = await exactlyOnce(db.kysely);
      assert.equal(now.repeated, 0, `round ${round}: no event applied twice`);
      assert.equal(now.unwanted, 0);
    }
    assert.ok(interrupted >= 1, `at least one kill landed inside a batch's transaction (${interrupted} of 4)`);
    const child = await startChild(file, log, 0);
    try {
      const pushes = await scalar(db.kysely, `SELECT count(*) AS n FROM events WHERE type = 'PUSH_ARTIFACT'`);
      await until('all consumed', async () => (await scalar(db.kysely, `SELECT count(DISTINCT seq) AS n FROM consumed`)) >= pushes);
    } finally {
      await killHard(child);
    }
    assert.deepEqual(await exactlyOnce(db.kysely), { missing: 0, repeated: 0, unwanted: 0 });
    assert.equal(await scalar(db.kysely, `SELECT seq AS n FROM outbox_cursors WHERE name = 'kill-test'`), await scalar(db.kysely, `SELECT max(seq) AS n FROM events WHERE type = 'PUSH_ARTIFACT'`));
    assert.equal(await scalar(db.kysely, `SELECT count(*) AS n FROM outbox_parked`), 0);
  });
});

test('two runners on one database apply each event once, without idempotent effects', async () => {
  await withDb(async (db) => {
    const outbox = new Outbox();
    await appendEvents(db.kysely, outbox, 0, 300);
    const runners = [0, 1].map((i) => {
      const r = new ConsumerRunner({ db: db.kysely, outbox, logger: silent });
      r.register({
        name: 'pair',
        types: ['PUSH_ARTIFACT'],
        batchSize: 9,
        async handle(batch, trx) {
          for (const e of batch) await sql`INSERT INTO consumed (seq, pid) VALUES (${e.seq}, ${i})`.execute(trx);
        },
      });
      return r;
    });
    const [a, b] = await Promise.all(runners.map((r) => r.drain('pair')));
    assert.equal((a ?? 0) + (b ?? 0), 200, `each PUSH handled by exactly one runner (${a} + ${b})`);
    assert.deepEqual(await exactlyOnce(db.kysely), { missing: 0, repeated: 0, unwanted: 0 });
  });
});

test('types, after-commit callbacks, a rolled-back batch, and where a new consumer starts', async () => {
  await withDb(async (db) => {
    const outbox = new Outbox();
    await appendEvents(db.kysely, outbox, 0, 9); // 6 pushes, 3 pulls
    const runner = new ConsumerRunner({ db: db.kysely, outbox, logger: silent, parkedReloadMs: 0 });
    const seen: string[] = [];
    let committed = 0;
    let fail = true;
    runner.register({
      name: 'pulls',
      types: ['PULL_ARTIFACT'],
      async handle(batch, trx) {
        for (const e of batch) await sql`INSERT INTO consumed (seq, pid) VALUES (${e.seq}, 0)`.execute(trx);
        if (fail) throw new Error('not yet');
        for (const e of batch) seen.push(e.event?.type ?? 'unreadable');
        return () => (committed += batch.length);
      },
    });
    runner.register({ name: 'late', types: 'all', fromLatest: true, handle: async (batch) => void seen.push(...batch.map(() => 'late')) });
    assert.equal(await runner.drain('pulls'), 0, 'every event failed: all parked');
    assert.equal(await scalar(db.kysely, `SELECT count(*) AS n FROM consumed`), 0, 'a failed transaction leaves no effect');
    assert.equal(await scalar(db.kysely, `SELECT count(*) AS n FROM outbox_parked WHERE consumer = 'pulls'`), 3);
    fail = false;
    assert.equal(await runner.drain('pulls'), 3, 'parked events go through alone once they can');
    assert.deepEqual([seen, committed], [['PULL_ARTIFACT', 'PULL_ARTIFACT', 'PULL_ARTIFACT'], 3]);
    assert.equal(await runner.drain('late'), 0, 'a consumer created with fromLatest skips the history');
    await appendEvents(db.kysely, outbox, 10, 2); // two pushes
    assert.equal(await runner.drain('late'), 2);
    assert.equal(await runner.drain('pulls'), 0, 'no new pull');
    assert.equal(await scalar(db.kysely, `SELECT count(*) AS n FROM outbox_parked`), 0);
  });
});

test('a batch with nothing a consumer wants moves its stored cursor later, once', async () => {
  await withDb(async (db) => {
    const outbox = new Outbox();
    const runner = new ConsumerRunner({ db: db.kysely, outbox, logger: silent, pollMs: 20, deferMs: 300 });
    const handled: number[] = [];
    runner.register({ name: 'pushes-only', types: ['PUSH_ARTIFACT'], coalesceMs: 0, handle: async (batch) => void handled.push(...batch.map((r) => r.seq)) });
    const stored = () => scalar(db.kysely, `SELECT seq AS n FROM outbox_cursors WHERE name = 'pushes-only'`);
    runner.start();
    try {
      for (let i = 0; i < 5; i++) await outbox.append(db.kysely, event('PULL_ARTIFACT', i));
      const last = await scalar(db.kysely, `SELECT max(seq) AS n FROM events`);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(await stored(), 0, 'five pulls, nothing wanted: the stored cursor has not moved yet');
      const deadline = Date.now() + 5000;
      while ((await stored()) !== last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await stored(), last, 'stored within deferMs');
      await outbox.append(db.kysely, event('PULL_ARTIFACT', 6));
      await outbox.append(db.kysely, event('PUSH_ARTIFACT', 7));
      const push = await scalar(db.kysely, `SELECT max(seq) AS n FROM events`);
      while ((await stored()) !== push && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await stored(), push, 'a wanted event stores the cursor past the deferred ones with it');
      assert.deepEqual(handled, [push]);
      await outbox.append(db.kysely, event('PULL_ARTIFACT', 8));
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await runner.stop();
    }
    assert.equal(await stored(), await scalar(db.kysely, `SELECT max(seq) AS n FROM events`), 'stop stores a deferred cursor');
    // A second runner (another instance) that handled events meanwhile wins; the deferred one re-reads.
    const other = new ConsumerRunner({ db: db.kysely, outbox, logger: silent });
    other.register({ name: 'pushes-only', types: ['PUSH_ARTIFACT'], handle: async (batch) => void handled.push(...batch.map((r) => r.seq)) });
    await outbox.append(db.kysely, event('PUSH_ARTIFACT', 9));
    assert.equal(await other.drain('pushes-only'), 1);
    assert.equal(await runner.drain('pushes-only'), 0, 'the first runner finds the push handled by the other');
    assert.equal(new Set(handled).size, handled.length, 'no event handled twice');
  });
});

test('the shared tail: one read for many consumers, and every caller sees what committed before it asked', async () => {
  await withDb(async (db) => {
    const outbox = new Outbox();
    const tail = new OutboxTail(64);
    let reads = 0;
    const counting = db.kysely;
    const original = outboxStore.eventsAfter;
    // `held`: a read whose answer is held back after it ran (an answer still on its way when the next caller asks).
    let held: Promise<void> | null = null;
    outboxStore.eventsAfter = async (d, after, limit) => {
      reads++; // the tail's reads (the test's own go to `original`)
      const hold = held;
      const rows = await original.call(outboxStore, d, after, limit);
      await hold;
      return rows;
    };
    try {
      await appendEvents(db.kysely, outbox, 0, 10);
      const first = await tail.eventsAfter(counting, 0, 100);
      assert.equal(first.length, 10);
      await appendEvents(db.kysely, outbox, 10, 30);
      reads = 0;
      const many = await Promise.all(Array.from({ length: 8 }, (_, i) => tail.eventsAfter(counting, first[i]?.seq ?? 0, 100)));
      assert.ok(reads <= 2, `eight consumers at the window's end: ${reads} reads`);
      const direct = await original.call(outboxStore, db.kysely, 0, 1000);
      many.forEach((rows, i) => assert.deepEqual(rows.map((r) => r.seq), direct.slice(i + 1).map((r) => r.seq), `consumer ${i}`));
      // Freshness: whatever read is in flight, a call made after a commit returns that commit's event.
      for (let i = 0; i < 5; i++) {
        const end = (await original.call(outboxStore, db.kysely, 0, 10_000)).at(-1)?.seq ?? 0;
        let release = (): void => undefined;
        held = new Promise((r) => (release = r));
        const early = tail.eventsAfter(counting, end, 100);
        await new Promise((r) => setTimeout(r, 30)); // its read has run; its answer is held
        held = null;
        await outbox.append(db.kysely, event('PUSH_ARTIFACT', 100 + i));
        const late = tail.eventsAfter(counting, end, 100);
        release();
        assert.equal((await late).length, 1, `round ${i}: the event committed before the call is in its answer`);
        assert.equal((await early).length, 0, `round ${i}: the early read ran before the commit`);
      }
      // Behind the window (it keeps 64 rows): read directly, same answer.
      const behind = await tail.eventsAfter(counting, 0, 5);
      assert.deepEqual(behind.map((r) => r.seq), direct.slice(0, 5).map((r) => r.seq));
      const row = behind[0];
      assert.ok(row);
      const e = tail.event(row);
      assert.ok(e && Object.isFrozen(e) && Object.isFrozen((e as { project: object }).project), 'decoded events are shared frozen');
      assert.equal(tail.event(row), e, 'and decoded once');
    } finally {
      outboxStore.eventsAfter = original;
    }
  });
});

test('the shared tail lets go of what every consumer has passed, and still answers every position', async () => {
  await withDb(async (db) => {
    const outbox = new Outbox();
    const tail = new OutboxTail(64);
    let reads = 0;
    const original = outboxStore.eventsAfter;
    outboxStore.eventsAfter = async (d, after, limit) => {
      reads++;
      return original.call(outboxStore, d, after, limit);
    };
    try {
      await appendEvents(db.kysely, outbox, 0, 40);
      const all = await original.call(outboxStore, db.kysely, 0, 1000);
      const seqs = all.map((r) => r.seq);
      assert.equal((await tail.eventsAfter(db.kysely, 0, 100)).length, 40);
      assert.equal(tail.size, 40);
      const slowest = seqs[24] ?? 0;
      tail.release(slowest);
      assert.equal(tail.size, 15, 'only the rows after the slowest consumer stay');
      reads = 0;
      assert.deepEqual((await tail.eventsAfter(db.kysely, slowest, 100)).map((r) => r.seq), seqs.slice(25), 'served from memory');
      assert.equal(reads, 1, 'plus one read past the end, finding nothing new');
      assert.deepEqual((await tail.eventsAfter(db.kysely, seqs[9] ?? 0, 5)).map((r) => r.seq), seqs.slice(10, 15), 'a position behind the window is read directly');
      tail.release(seqs[39] ?? 0);
      assert.equal(tail.size, 0);
      await appendEvents(db.kysely, outbox, 40, 3);
      assert.deepEqual((await tail.eventsAfter(db.kysely, seqs[39] ?? 0, 100)).map((r) => r.type), ['PUSH_ARTIFACT', 'PUSH_ARTIFACT', 'PULL_ARTIFACT'], 'an emptied window goes on from its end');
      assert.equal(tail.size, 3);
    } finally {
      outboxStore.eventsAfter = original;
    }
  });
});

test('wakeOnCommit: an append wakes no one before its commit; the commit notification does (PostgreSQL)', async (t) => {
  await withDb(async (db) => {
    if (!db.notifications) {
      t.skip('SQLite: one process, the append itself signals');
      return;
    }
    const outbox = new Outbox();
    const seen: string[] = [];
    const off = outbox.wakeOnCommit(db.notifications);
    outbox.signal.on('appended', () => seen.push('appended'));
    try {
      await db.kysely.transaction().execute(async (trx) => {
        await outbox.append(trx, event('PUSH_ARTIFACT', 1));
        // Long enough for the append's own signal (setImmediate) and a notification to arrive.
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(seen, [], 'nothing before the commit');
      });
      await until('the commit notification', async () => seen.length > 0, 5_000);
      assert.deepEqual(seen, ['appended']);
    } finally {
      off();
    }
  });
});
