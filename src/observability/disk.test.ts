import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import SQLite from 'better-sqlite3';
import { isDomainError, parseDigest } from '../domain/index.ts';
import { FsBlobStore } from '../storage/fs-blob-store.ts';
import { StorageFullError } from '../storage/index.ts';
import { DiskMonitor, storageFailureOf, unavailableFor } from './disk.ts';

/** The error a write to a full disk raises, for real: /dev/full answers every write with ENOSPC. */
function realEnospc(): unknown {
  const fd = openSync('/dev/full', 'w');
  try {
    writeSync(fd, Buffer.from('x'));
  } catch (err) {
    return err;
  } finally {
    closeSync(fd);
  }
  throw new Error('/dev/full accepted a write');
}

const noDevFull = existsSync('/dev/full') ? false : 'no /dev/full';

test('storageFailureOf: no space, I/O errors, through causes; other errors are not storage failures', { skip: noDevFull }, () => {
  const enospc = realEnospc();
  assert.deepEqual(storageFailureOf(enospc), { kind: 'full', code: 'ENOSPC' });
  assert.deepEqual(storageFailureOf(new StorageFullError('a write', enospc)), { kind: 'full', code: 'ENOSPC' });
  assert.deepEqual(storageFailureOf(new Error('wrapped', { cause: enospc })), { kind: 'full', code: 'ENOSPC' });
  assert.deepEqual(storageFailureOf(new SQLite.SqliteError('database or disk is full', 'SQLITE_FULL')), { kind: 'full', code: 'SQLITE_FULL' });
  assert.deepEqual(storageFailureOf(new SQLite.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE')), { kind: 'failing', code: 'SQLITE_IOERR_WRITE' });
  assert.equal(storageFailureOf(new SQLite.SqliteError('constraint', 'SQLITE_CONSTRAINT_UNIQUE')), null);
  // PostgreSQL's errors carry a SQLSTATE in `code` (pg's DatabaseError): 53100 disk_full, 58030 io_error.
  assert.deepEqual(storageFailureOf(Object.assign(new Error('could not extend file: No space left on device'), { code: '53100' })), { kind: 'full', code: '53100' });
  assert.deepEqual(storageFailureOf(Object.assign(new Error('could not write block'), { code: '58030' })), { kind: 'failing', code: '58030' });
  assert.equal(storageFailureOf(Object.assign(new Error('duplicate key'), { code: '23505' })), null);
  assert.equal(storageFailureOf(new Error('boom')), null);
  assert.equal(storageFailureOf('ENOSPC'), null);
  const mapped = unavailableFor(new SQLite.SqliteError('database or disk is full', 'SQLITE_FULL'));
  assert.ok(isDomainError(mapped, 'UNAVAILABLE'));
  assert.match(mapped.message, /no space left/);
});

test('DiskMonitor: a failure makes it not ok until a blob write succeeds', { skip: noDevFull }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-disk-'));
  const disk = new DiskMonitor({ paths: [dir], checkIntervalMs: 60_000 });
  try {
    assert.deepEqual(disk.status(), { status: 'ok' });
    assert.equal(disk.unavailable(new Error('not a disk error')), null);
    assert.ok(disk.ok);
    const mapped = disk.unavailable(realEnospc());
    assert.ok(isDomainError(mapped, 'UNAVAILABLE'));
    assert.equal(disk.ok, false);
    const s = disk.status();
    assert.equal(s.status, 'full');
    assert.match(s.message ?? '', /ENOSPC/);

    // Through the watched store: an empty chunk proves nothing, a chunk with bytes does.
    const blobs = disk.watchBlobs(new FsBlobStore(join(dir, 'storage')));
    await blobs.createUpload('u1');
    await blobs.appendUpload('u1', Readable.from([]));
    assert.equal(disk.ok, false);
    await blobs.appendUpload('u1', Readable.from([Buffer.from('bytes')]));
    assert.ok(disk.ok);
    assert.deepEqual(disk.status(), { status: 'ok' });
  } finally {
    disk.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DiskMonitor: recovers by itself when free space grows past what was free after the failure', { skip: noDevFull }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-disk-'));
  const disk = new DiskMonitor({ paths: [dir], checkIntervalMs: 60_000, freedBytes: 32 * 1024 * 1024 });
  try {
    const filler = join(dir, 'filler');
    // Margins wide enough that other processes' writes and deletes on the same disk do not matter.
    writeFileSync(filler, Buffer.alloc(128 * 1024 * 1024, 1));
    disk.noteFailure(realEnospc());
    await disk.check();
    assert.equal(disk.ok, false, 'nothing was freed yet');
    rmSync(filler);
    await disk.check();
    assert.ok(disk.ok, 'free space grew by 128 MiB');
  } finally {
    disk.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
