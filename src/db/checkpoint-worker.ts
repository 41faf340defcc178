/**
 * Worker-thread entry of the WAL checkpointer (started by checkpointer.ts; not imported by anything).
 * It opens its own better-sqlite3 connection to the database file and, every `intervalMs`:
 *   1. runs `PRAGMA wal_checkpoint(PASSIVE)`: copies committed WAL frames into the database file
 *      and syncs it without taking the writer lock, so the main thread's commits never wait;
 *   2. when the WAL holds more than `walLimitBytes`: a few more PASSIVE passes to catch up, then
 *      `wal_checkpoint(RESTART)`, which takes the writer lock (waiting up to `busyTimeoutMs`),
 *      copies the last frames and waits for readers to leave the WAL, so that the next commit
 *      writes from its start again. Under a constant stream of writes PASSIVE never catches the
 *      last frames and SQLite never restarts the WAL by itself: this is what keeps it bounded;
 *   3. when nothing was written since the previous tick and the WAL file is still larger than
 *      `idleTruncateBytes`, `wal_checkpoint(TRUNCATE)` shrinks it to zero bytes. Not under load:
 *      truncating a file of tens of MiB holds the writer lock for tens of milliseconds.
 * Errors (a busy or missing file, I/O) are reported to the main thread and retried with backoff;
 * nothing here may end the process. On the message 'stop' it closes its connection and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { statSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import type { CheckpointWorkerData, WorkerMessage } from './checkpointer.ts';

const maxBackoffMs = 30_000;

/** Reads the checkpointer settings the main thread passed, refusing anything malformed. */
function readWorkerData(data: unknown): CheckpointWorkerData {
  if (typeof data !== 'object' || data === null) throw new Error('checkpoint worker: missing workerData');
  const get = (k: string): unknown => (k in data ? (data as Record<string, unknown>)[k] : undefined); // object checked above
  const path = get('path');
  const intervalMs = get('intervalMs');
  const walLimitBytes = get('walLimitBytes');
  const idleTruncateBytes = get('idleTruncateBytes');
  const busyTimeoutMs = get('busyTimeoutMs');
  const nums = [intervalMs, walLimitBytes, idleTruncateBytes, busyTimeoutMs];
  if (typeof path !== 'string' || typeof intervalMs !== 'number' || typeof walLimitBytes !== 'number' || typeof idleTruncateBytes !== 'number' || typeof busyTimeoutMs !== 'number' || !nums.every(Number.isFinite)) {
    throw new Error('checkpoint worker: malformed workerData');
  }
  return { path, intervalMs, walLimitBytes, idleTruncateBytes, busyTimeoutMs };
}

/** One row of `PRAGMA wal_checkpoint`: busy flag, frames in the WAL, frames copied to the database. */
interface CheckpointRow {
  busy: number;
  log: number;
  checkpointed: number;
}

function checkpoint(db: SQLite.Database, mode: 'PASSIVE' | 'RESTART' | 'TRUNCATE'): CheckpointRow {
  const rows: unknown = db.pragma(`wal_checkpoint(${mode})`);
  const row: unknown = Array.isArray(rows) ? rows[0] : undefined;
  if (typeof row !== 'object' || row === null || !('busy' in row) || !('log' in row) || !('checkpointed' in row)) {
    throw new Error(`unexpected result of PRAGMA wal_checkpoint(${mode})`);
  }
  return { busy: Number(row.busy), log: Number(row.log), checkpointed: Number(row.checkpointed) };
}

const port = parentPort;
if (!port) throw new Error('checkpoint-worker.ts must run in a worker thread');
const settings = readWorkerData(workerData);
const post = (m: WorkerMessage) => port.postMessage(m);

let db: SQLite.Database | undefined;
let frameBytes = 0;
let timer: NodeJS.Timeout | undefined;
let failures = 0;
let stopped = false;

function open(): SQLite.Database {
  const conn = new SQLite(settings.path, { fileMustExist: true });
  try {
    conn.pragma(`busy_timeout = ${Math.max(0, Math.floor(settings.busyTimeoutMs))}`);
    // This connection only checkpoints; it must never checkpoint on its own commits (it has none).
    conn.pragma('wal_autocheckpoint = 0');
    const pageSize = Number(conn.pragma('page_size', { simple: true }));
    frameBytes = pageSize + 24; // a WAL frame is a 24-byte header plus one page
  } catch (err) {
    conn.close();
    throw err;
  }
  return conn;
}

function closeDb(): void {
  const d = db;
  db = undefined;
  try {
    d?.close();
  } catch {
    // closing a broken connection: nothing more to do
  }
}

/** Catch-up PASSIVE passes before a RESTART stop once a pass finds fewer new frames than this. */
const catchUpFrames = 256;
let lastLog = -1;

function walFileSize(): number {
  try {
    return statSync(`${settings.path}-wal`).size;
  } catch {
    return 0;
  }
}

/** One checkpoint cycle (see the file comment). */
function cycle(conn: SQLite.Database): void {
  let passive = checkpoint(conn, 'PASSIVE');
  const idle = passive.log === lastLog && passive.checkpointed === passive.log;
  lastLog = passive.log;
  if (idle) {
    if (walFileSize() > settings.idleTruncateBytes) {
      const started = performance.now();
      const r = checkpoint(conn, 'TRUNCATE');
      lastLog = -1;
      post({ kind: 'checkpoint', mode: 'TRUNCATE', done: r.busy === 0, ms: performance.now() - started });
    }
  } else if (passive.log * frameBytes > settings.walLimitBytes) {
    // Each pass copies what arrived during the previous one, so the locked step has little left.
    for (let i = 0; i < 3; i++) {
      const before = passive.log;
      passive = checkpoint(conn, 'PASSIVE');
      if (passive.log - before < catchUpFrames) break;
    }
    lastLog = passive.log;
    const started = performance.now();
    const r = checkpoint(conn, 'RESTART');
    post({ kind: 'checkpoint', mode: 'RESTART', done: r.busy === 0, ms: performance.now() - started });
    if (r.busy !== 0) throw new BusyRetry();
  }
}

/** The writer lock or a reader stayed busy: not an error, try again soon. */
class BusyRetry extends Error {}

function tick(): void {
  timer = undefined;
  if (stopped) return;
  let next = settings.intervalMs;
  try {
    db ??= open();
    cycle(db);
    failures = 0;
  } catch (err) {
    if (err instanceof BusyRetry) next = Math.min(next, 100);
    else {
      failures++;
      const e = err instanceof Error ? err : new Error(String(err));
      const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
      post({ kind: 'error', message: e.message, code, failures });
      closeDb(); // reopen on the next try: the file may have been replaced or the handle broken
      next = Math.min(maxBackoffMs, settings.intervalMs * 2 ** Math.min(failures, 16));
    }
  }
  timer = setTimeout(tick, next);
}

port.on('message', (m: unknown) => {
  if (m !== 'stop') return;
  stopped = true;
  if (timer) clearTimeout(timer);
  closeDb();
  port.close(); // nothing left to keep this thread alive: it exits
});

post({ kind: 'ready' });
timer = setTimeout(tick, settings.intervalMs);
