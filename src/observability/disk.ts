/**
 * The health of the disk the registry writes to: whether writes can succeed right now.
 *
 * A write that fails for lack of space (ENOSPC, EDQUOT, SQLite's SQLITE_FULL, PostgreSQL's 53100) or
 * with an I/O error (EIO, EROFS, SQLITE_IOERR, PostgreSQL's 58030) puts the monitor in the `full` or `failing` state. /readyz then
 * answers 503 and /healthz names the state; the request itself answers 503 UNAVAILABLE. The
 * state ends by itself, without a restart, when
 * - a later blob write succeeds (a smaller push, a chunk sent again), or
 * - the free space of any watched folder (`statfs`, every `checkIntervalMs` while not ok) grows by
 *   more than `freedBytes` over what it was just after the failure (an operator deleted files,
 *   gc ran), so that the next push is let through to try.
 * Reads never change the state and are served throughout.
 */
import { statfs } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { DomainError, fail, type Digest } from '../domain/index.ts';
import type { BlobStore, ByteRange } from '../storage/index.ts';

/** What kind of write failure: no space, or the device failed the write. */
export type StorageFailureKind = 'full' | 'failing';

/** A write failure the monitor recognises in an error (or its `cause` chain). */
export interface StorageFailure {
  kind: StorageFailureKind;
  /** The system or SQLite code: ENOSPC, EDQUOT, SQLITE_FULL, EIO, SQLITE_IOERR_WRITE, ... */
  code: string;
}

/** What /healthz and /readyz show. */
export interface DiskStatus {
  status: 'ok' | StorageFailureKind;
  /** When the state began (ISO 8601); absent when ok. */
  since?: string;
  /** What failed, for operators; absent when ok. */
  message?: string;
}

// PostgreSQL's SQLSTATEs: 53100 disk_full, 58030 io_error (the database server's disk).
const noSpaceCodes = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);
const ioErrorCodes = new Set(['EIO', 'EROFS', '58030']);

/** The storage failure in `err` or its causes, or null when it is not one. */
export function storageFailureOf(err: unknown): StorageFailure | null {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    const code = 'code' in e && typeof e.code === 'string' ? e.code : '';
    if (noSpaceCodes.has(code)) return { kind: 'full', code };
    if (ioErrorCodes.has(code) || code.startsWith('SQLITE_IOERR')) return { kind: 'failing', code };
    e = 'cause' in e ? e.cause : undefined;
  }
  return null;
}

/**
 * `err` as a 503 UNAVAILABLE DomainError when it is (or was caused by) a storage failure, else
 * null: what the API error handlers answer for an error no service translated (SQLITE_FULL, say).
 */
export function unavailableFor(err: unknown): DomainError | null {
  const f = storageFailureOf(err);
  if (!f) return null;
  const message =
    f.kind === 'full'
      ? 'no space left on the registry storage: the write was not made; try again once space is freed'
      : `the registry storage failed the write (${f.code}); try again later`;
  return fail('UNAVAILABLE', message, { reason: f.kind === 'full' ? 'disk_full' : 'disk_error', code: f.code });
}

/** Options of {@link DiskMonitor}. */
export interface DiskMonitorOptions {
  /** Folders whose free space is watched (the data folder, the blob root, the database's folder). */
  paths: string[];
  logger?: Logger;
  /** How often free space is checked while the state is not ok (default 1 s). */
  checkIntervalMs?: number;
  /** Free space that must come back, over what was free after the failure, to try writes again (default 1 MiB). */
  freedBytes?: number;
}

/** Tracks whether writes can succeed; see the module comment. */
export class DiskMonitor {
  private state: { kind: StorageFailureKind; code: string; since: Date; message: string } | null = null;
  /** Free bytes per path just after the last failure (null: not measured yet or the path failed statfs). */
  private baseline = new Map<string, number | null>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  /** The baseline measurement after the last failure. */
  private measuring: Promise<void> = Promise.resolve();
  private readonly paths: string[];
  private readonly checkIntervalMs: number;
  private readonly freedBytes: number;

  constructor(private readonly opts: DiskMonitorOptions) {
    this.paths = [...new Set(opts.paths)];
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
    this.freedBytes = opts.freedBytes ?? 1024 * 1024;
  }

  /** The state for /healthz and /readyz. */
  status(): DiskStatus {
    if (!this.state) return { status: 'ok' };
    return { status: this.state.kind, since: this.state.since.toISOString(), message: this.state.message };
  }

  /** True while no write failure is outstanding. */
  get ok(): boolean {
    return this.state === null;
  }

  /**
   * Records `err` when it is a storage failure (returning it), else returns null. The free space
   * is measured now, after the failed write was undone, as the baseline recovery is judged by.
   */
  noteFailure(err: unknown): StorageFailure | null {
    const f = storageFailureOf(err);
    if (!f) return null;
    const message = f.kind === 'full' ? `a write found no space left (${f.code})` : `a write failed (${f.code})`;
    if (!this.state) {
      this.opts.logger?.error({ code: f.code, err }, 'storage: writes are failing; /readyz reports it until space is freed or a write succeeds');
    }
    this.state = { kind: f.kind, code: f.code, since: this.state?.since ?? new Date(), message };
    this.baseline = new Map(this.paths.map((p) => [p, null]));
    this.measuring = this.measure().then((free) => {
      if (this.state) this.baseline = free;
    });
    this.timer ??= setInterval(() => void this.check(), this.checkIntervalMs);
    this.timer.unref();
    return f;
  }

  /**
   * For an API error handler: `err` as a 503 UNAVAILABLE DomainError when it is a storage failure
   * (recording it), else null.
   */
  unavailable(err: unknown): DomainError | null {
    return this.noteFailure(err) ? unavailableFor(err) : null;
  }

  /** A write succeeded: the disk takes writes again. */
  noteWrite(): void {
    if (this.state) this.recover('a write succeeded');
  }

  /** Checks free space once (the timer does this while the state is not ok). */
  async check(): Promise<void> {
    if (!this.state || this.checking) return;
    this.checking = true;
    try {
      await this.measuring;
      const free = await this.measure();
      for (const [path, now] of free) {
        const then = this.baseline.get(path);
        if (now !== null && then !== null && then !== undefined && now > then + this.freedBytes) {
          this.recover(`${path} has ${now} bytes free again`);
          return;
        }
      }
    } finally {
      this.checking = false;
    }
  }

  /** Stops the free-space checks. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * `store` with every write watched: a failure is recorded (and a StorageFullError passes on as
   * it is), a successful write ends the state.
   */
  watchBlobs(store: BlobStore): BlobStore {
    return new WatchedBlobStore(store, this);
  }

  private recover(why: string): void {
    this.opts.logger?.info({ why, since: this.state?.since }, 'storage: writes can succeed again');
    this.state = null;
    this.close();
  }

  private async measure(): Promise<Map<string, number | null>> {
    const out = new Map<string, number | null>();
    for (const p of this.paths) {
      try {
        const s = await statfs(p);
        out.set(p, s.bavail * s.bsize);
      } catch {
        out.set(p, null);
      }
    }
    return out;
  }
}

/** A BlobStore that reports its writes' outcomes to a {@link DiskMonitor}. */
class WatchedBlobStore implements BlobStore {
  // The driver's optional methods pass through as they are (present only when the driver has them).
  readonly redirectUrl?: BlobStore['redirectUrl'];
  readonly cleanupIncomplete?: BlobStore['cleanupIncomplete'];
  readonly openFile?: BlobStore['openFile'];

  constructor(
    private readonly inner: BlobStore,
    private readonly disk: DiskMonitor,
  ) {
    if (inner.redirectUrl) this.redirectUrl = inner.redirectUrl.bind(inner);
    if (inner.cleanupIncomplete) this.cleanupIncomplete = inner.cleanupIncomplete.bind(inner);
    if (inner.openFile) this.openFile = inner.openFile.bind(inner);
  }

  /** Runs a write: a failure is noted; a success ends the state when `proves()` says bytes were written. */
  private async write<T>(op: () => Promise<T>, proves: () => boolean = () => true): Promise<T> {
    try {
      const r = await op();
      if (proves()) this.disk.noteWrite();
      return r;
    } catch (err) {
      this.disk.noteFailure(err);
      throw err;
    }
  }

  stat(digest: Digest): Promise<{ size: number } | null> {
    return this.inner.stat(digest);
  }
  read(digest: Digest, range?: ByteRange): Promise<Readable> {
    return this.inner.read(digest, range);
  }
  readAll(digest: Digest): Promise<Buffer> {
    return this.inner.readAll(digest);
  }
  put(digest: Digest, data: Buffer): Promise<void> {
    return this.write(() => this.inner.put(digest, data));
  }
  delete(digest: Digest): Promise<void> {
    return this.inner.delete(digest);
  }
  list(): AsyncIterable<Digest> {
    return this.inner.list();
  }
  createUpload(id: string): Promise<void> {
    // An empty file proves little about space: it does not end the state.
    return this.write(() => this.inner.createUpload(id), () => false);
  }
  appendUpload(id: string, data: Readable, onData?: (chunk: Buffer) => void): Promise<number> {
    // Only a chunk with bytes in it shows that writes succeed again.
    let bytes = 0;
    const count = (chunk: Buffer) => {
      bytes += chunk.length;
      onData?.(chunk);
    };
    return this.write(() => this.inner.appendUpload(id, data, count), () => bytes > 0);
  }
  uploadSize(id: string): Promise<number> {
    return this.inner.uploadSize(id);
  }
  readUpload(id: string): Promise<Readable> {
    return this.inner.readUpload(id);
  }
  commitUpload(id: string, digest: Digest): Promise<void> {
    return this.write(() => this.inner.commitUpload(id, digest));
  }
  deleteUpload(id: string): Promise<void> {
    return this.inner.deleteUpload(id);
  }
  listUploads(): AsyncIterable<{ id: string; modified: Date }> {
    return this.inner.listUploads();
  }
}
