/**
 * The WAL checkpoint worker against real SQLite files in a temp folder: it keeps the WAL bounded
 * while SQLite's own checkpoint is off and truncates it when writes pause, close() truncates the
 * WAL, a reader pinning an old snapshot only delays the worker,
 * kill -9 loses no committed transaction, an unclosed database never keeps a process alive, and
 * the compiled (dist) build finds and runs the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import SQLite from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { openDatabase } from './connect.ts';
import { walFileSize } from './checkpointer.ts';
import type { Database } from './schema.ts';

const repoRoot = join(import.meta.dirname, '../..');
const connectUrl = pathToFileURL(join(import.meta.dirname, 'connect.ts')).href;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KiB = 1024;
const MiB = 1024 * 1024;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-ckpt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The WAL header's checkpoint sequence number: SQLite adds one each time the WAL starts over. */
function walCheckpointSeq(path: string): number {
  const fd = openSync(`${path}-wal`, 'r');
  try {
    const header = Buffer.alloc(32);
    assert.equal(readSync(fd, header, 0, 32, 0), 32, 'the WAL has a header');
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A table outside the schema, for bulk writes (the test's own; Kysely typing does not know it). */
async function createScratchTable(kysely: Kysely<Database>): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS scratch (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`.execute(kysely);
}

/** One transaction of `rows` rows of 1 KiB: about rows+1 pages of WAL. */
async function writeBatch(kysely: Kysely<Database>, rows: number): Promise<void> {
  await kysely.transaction().execute(async (trx) => {
    for (let i = 0; i < rows; i++) await sql`INSERT INTO scratch (v) VALUES (${'x'.repeat(KiB)})`.execute(trx);
  });
}

test('the worker keeps the WAL bounded while SQLite autocheckpoint is off; without it the WAL grows', async (t) => {
  const path = join(tempDir(t), 'wharf.db');
  const db = await openDatabase(path, { checkpointIntervalMs: 50, walLimitBytes: 256 * KiB, workerStartBytes: 0 });
  t.after(() => db.close());
  const auto = await sql<{ wal_autocheckpoint: number }>`PRAGMA wal_autocheckpoint`.execute(db.kysely);
  assert.equal(auto.rows[0]?.wal_autocheckpoint, 0, 'the main connection never checkpoints by itself');
  const ckpt = db.checkpointer;
  assert.ok(ckpt, 'a file database has a checkpointer');
  await createScratchTable(db.kysely);

  // Warm up until the worker has restarted the WAL once (it takes a moment to start under tsx).
  const deadline = Date.now() + 20_000;
  while (ckpt.stats.restarts === 0) {
    assert.ok(Date.now() < deadline, 'the worker restarted the WAL within 20 s');
    await writeBatch(db.kysely, 32);
    await sleep(5);
  }

  // Writes pause: the worker sees a tick without writes and truncates the WAL file.
  const truncates = ckpt.stats.truncates;
  await waitFor('a truncation once writes paused', () => ckpt.stats.truncates > truncates);
  assert.equal(walFileSize(path), 0, 'the WAL file shrank to nothing');

  // Continuous writes, about 40 MiB of WAL frames: the worker resets the WAL while they go on.
  const writeLoop = async (batches: number, onBatch: () => void) => {
    for (let i = 0; i < batches; i++) {
      await writeBatch(db.kysely, 8);
      onBatch();
      await new Promise((r) => setImmediate(r)); // an event-loop turn, as between two requests
    }
  };
  let max = 0;
  const restartsBefore = ckpt.stats.restarts;
  await writeBatch(db.kysely, 8);
  const seqBefore = walCheckpointSeq(path);
  await writeLoop(1024, () => (max = Math.max(max, walFileSize(path))));
  const resets = walCheckpointSeq(path) - seqBefore;
  assert.ok(ckpt.stats.restarts > restartsBefore, `the worker restarted the WAL (${JSON.stringify(ckpt.stats)})`);
  assert.ok(resets >= 1, `the WAL started over while writes went on (${resets} times; ${JSON.stringify(ckpt.stats)})`);
  assert.ok(max < 32 * MiB, `the WAL file stayed bounded: max ${max} bytes`);
  assert.equal(ckpt.stats.errors, 0);

  // Control: the same connection and writes without the worker. Nothing resets the WAL any more
  // (SQLite's autocheckpoint is off), so it grows past anything seen with the worker.
  await ckpt.stop();
  await writeBatch(db.kysely, 8); // (this one may still start over, if the last checkpoint caught up)
  const seqStopped = walCheckpointSeq(path);
  await writeLoop(1024, () => {});
  assert.equal(walCheckpointSeq(path), seqStopped, 'no reset without the worker');
  const grown = walFileSize(path);
  assert.ok(grown > max, `without the worker the WAL grows: ${grown} bytes > ${max}`);
});

test('close() truncates the WAL even when another connection keeps the file open', async (t) => {
  const path = join(tempDir(t), 'wharf.db');
  // The worker starts only at 4 MiB of WAL: here it never does, so the WAL holds every write.
  const db = await openDatabase(path, { checkpointIntervalMs: 50 });
  await createScratchTable(db.kysely);
  for (let i = 0; i < 20; i++) await writeBatch(db.kysely, 16);
  assert.equal(db.checkpointer?.running, false, 'no worker below the start size');
  assert.ok(walFileSize(path) > 300 * KiB, `the WAL holds the writes: ${walFileSize(path)}`);
  // A second connection (another process would do the same) stops SQLite from cleaning up on close.
  const other = new SQLite(path);
  t.after(() => other.close());
  assert.deepEqual(other.prepare('SELECT count(*) AS n FROM scratch').get(), { n: 320 }); // now it uses the WAL too
  await db.close();
  assert.equal(walFileSize(path), 0, 'the WAL is truncated');
  assert.ok(existsSync(`${path}-wal`), 'the WAL file is still there (another connection holds the database)');
  const row = other.prepare('SELECT count(*) AS n FROM scratch').get();
  assert.deepEqual(row, { n: 320 });
  await db.close(); // idempotent
});

test('a reader holding an old snapshot delays the restart; writes go on and the WAL is reset afterwards', async (t) => {
  const path = join(tempDir(t), 'wharf.db');
  const db = await openDatabase(path, { checkpointIntervalMs: 30, walLimitBytes: 128 * KiB, workerStartBytes: 0 });
  t.after(() => db.close());
  const ckpt = db.checkpointer;
  assert.ok(ckpt);
  await createScratchTable(db.kysely);
  await writeBatch(db.kysely, 1);
  const reader = new SQLite(path);
  t.after(() => reader.close());
  reader.exec('BEGIN');
  reader.prepare('SELECT count(*) FROM scratch').get(); // the read transaction now pins this snapshot
  for (let i = 0; i < 40; i++) {
    await writeBatch(db.kysely, 16);
    await sleep(5);
  }
  await waitFor('a busy restart', () => ckpt.stats.busy > 0);
  assert.equal(ckpt.stats.restarts, 0, 'no restart while the reader pins the WAL');
  const pinned = walFileSize(path);
  assert.ok(pinned > 600 * KiB, `the pinned WAL only grows: ${pinned}`);
  reader.exec('COMMIT');
  // Writes have stopped: the WAL is checkpointed completely, then truncated.
  await waitFor('a truncation once the reader left', () => ckpt.stats.truncates > 0);
  assert.equal(walFileSize(path), 0, 'the WAL shrank');
  assert.equal(ckpt.stats.errors, 0);
  const n = await sql<{ n: number }>`SELECT count(*) AS n FROM scratch`.execute(db.kysely);
  assert.equal(n.rows[0]?.n, 641);
});

/** Runs `code` (an ES module, under tsx unless `args` say otherwise) in a child node process, killed after the test. */
function child(t: { after(fn: () => void): void }, code: string, args: string[] = ['--import', 'tsx']) {
  const proc = spawn(process.execPath, [...args, '--input-type=module', '-e', code], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  return proc;
}

test('kill -9 while the worker checkpoints loses no committed transaction', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  for (const round of [0, 1, 2]) {
    const path = join(dir, `crash-${round}.db`);
    const proc = child(t, `
      import { openDatabase } from ${JSON.stringify(connectUrl)};
      import { sql } from 'kysely';
      const db = await openDatabase(${JSON.stringify(path)}, { checkpointIntervalMs: 10, walLimitBytes: 64 * 1024, workerStartBytes: 0 });
      await sql\`CREATE TABLE scratch (id INTEGER PRIMARY KEY, v TEXT NOT NULL)\`.execute(db.kysely);
      for (let i = 0; ; i++) {
        await db.kysely.transaction().execute(async (trx) => {
          for (let j = 0; j < 4; j++) await sql\`INSERT INTO scratch (id, v) VALUES (\${i * 4 + j}, \${'y'.repeat(1000)})\`.execute(trx);
        });
        process.stdout.write(i + ' ' + db.checkpointer.stats.restarts + '\\n');
        if (i % 8 === 0) await new Promise((r) => setTimeout(r, 1));
      }`);
    let out = '';
    let err = '';
    let committed = -1;
    let restarts = 0;
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        const [i, tr] = line.split(' ').map(Number);
        committed = i ?? committed;
        restarts = tr ?? restarts;
      }
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
    // Each round stops at a different point of the worker's cycle.
    const target = 400 + round * 137;
    await waitFor(`the child to commit ${target} transactions and restart the WAL twice (stderr: ${err})`, () => (committed >= target && restarts >= 2) || proc.exitCode !== null, 60_000);
    assert.equal(proc.exitCode, null, `the child is still running: ${err}`);
    proc.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const db = await openDatabase(path, { checkpointIntervalMs: 0 });
    const rows = await sql<{ n: number; top: number }>`SELECT count(*) AS n, max(id) AS top FROM scratch WHERE id < ${(committed + 1) * 4}`.execute(db.kysely);
    assert.deepEqual(rows.rows[0], { n: (committed + 1) * 4, top: (committed + 1) * 4 - 1 }, `round ${round}: every transaction reported committed (${committed + 1}) is there`);
    const check = await sql<{ integrity_check: string }>`PRAGMA integrity_check`.execute(db.kysely);
    assert.equal(check.rows[0]?.integrity_check, 'ok');
    await db.close();
  }
});

test('an unclosed database with a running worker does not keep the process alive', { timeout: 60_000 }, async (t) => {
  const path = join(tempDir(t), 'wharf.db');
  const proc = child(t, `
    import { openDatabase } from ${JSON.stringify(connectUrl)};
    const db = await openDatabase(${JSON.stringify(path)}, { checkpointIntervalMs: 20, workerStartBytes: 0 });
    await new Promise((r) => setTimeout(r, 1500)); // the worker is up and ticking
    console.log(db.checkpointer.running ? 'running' : 'not running');`);
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve(null);
    }, 30_000);
    proc.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, `the child exited by itself: ${out}`);
  assert.equal(out.trim(), 'running');
});

test('the compiled build (tsconfig.build.json) emits the worker next to connect.js and runs it without tsx', { timeout: 120_000 }, async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'dist');
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules')); // types for tsc, packages for the child
  // The build's settings, limited to the database module so that other files' edits cannot interfere.
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: join(repoRoot, 'tsconfig.build.json'),
      compilerOptions: { outDir: out, rootDir: join(repoRoot, 'src'), sourceMap: false },
      include: [],
      files: [join(repoRoot, 'src/db/connect.ts'), join(repoRoot, 'src/db/checkpoint-worker.ts')],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
  assert.ok(existsSync(join(out, 'db/connect.js')));
  assert.ok(existsSync(join(out, 'db/checkpoint-worker.js')), 'the worker entry is emitted next to connect.js');
  const path = join(dir, 'wharf.db');
  const proc = child(
    t,
    `
    import { openDatabase } from ${JSON.stringify(pathToFileURL(join(out, 'db/connect.js')).href)};
    import { sql } from 'kysely';
    const db = await openDatabase(${JSON.stringify(path)}, { checkpointIntervalMs: 20, walLimitBytes: 64 * 1024, workerStartBytes: 0 });
    await sql\`CREATE TABLE scratch (v TEXT)\`.execute(db.kysely);
    for (let i = 0; i < 2000 && db.checkpointer.stats.restarts < 3; i++) {
      await sql\`INSERT INTO scratch (v) VALUES (\${'z'.repeat(2000)})\`.execute(db.kysely);
      await new Promise((r) => setTimeout(r, 2));
    }
    console.log(JSON.stringify({ stats: db.checkpointer.stats, tsx: process.execArgv.includes('tsx') }));
    await db.close();`,
    [],
  );
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  const result: unknown = JSON.parse(stdout);
  assert.ok(typeof result === 'object' && result !== null && 'stats' in result && 'tsx' in result, stdout);
  assert.equal(result.tsx, false, 'the child ran without tsx');
  assert.ok(typeof result.stats === 'object' && result.stats !== null && 'restarts' in result.stats && 'errors' in result.stats, stdout);
  assert.equal(result.stats.restarts, 3, `the compiled worker restarted the WAL: ${stdout} ${stderr}`);
  assert.equal(result.stats.errors, 0);
});

test(':memory: databases keep SQLite defaults and start no worker', async () => {
  const db = await openDatabase(':memory:');
  assert.equal(db.checkpointer, undefined);
  await db.close();
});
