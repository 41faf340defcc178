/**
 * The digest of an open file, computed on a worker thread (file-digest-worker.ts). The built-in
 * scanner checks each layer it reads from Wharf's own filesystem store this way, beside the walk:
 * hashing on the main thread (SHA-256 at about 1.7 GB/s, plus the reads and stream steps) took a
 * quarter of its time there, time the tar reader and the analyzers then waited for
 * (docs/testing.md, "Layer files for the decoders").
 *
 * One worker per process, started on first use and ended after {@link IDLE_MS} without work (it
 * holds a V8 isolate: a few MiB). Idle, it does not keep the process alive. A worker that fails
 * fails the digests it was computing; the next one starts a new worker.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../platform/index.ts';

/** To the worker: hash `fd` (read by position) with `algorithm`, stopping past `limit` bytes; or stop request `id`. */
export type DigestRequest = { id: number; fd: number; algorithm: string; limit: number } | { id: number; cancel: true };

/** From the worker: the hex digest and length (`hex` null when it stopped past the limit), a failure, or that it stopped. */
export type DigestAnswer = { id: number; hex: string | null; bytes: number } | { id: number; error: string } | { id: number; stopped: true };

/** A file's digest and length; `hex` is null when the file is longer than the limit asked (then `bytes` > limit). */
export interface FileDigest {
  hex: string | null;
  bytes: number;
}

/** How long an idle worker is kept. */
const IDLE_MS = 10_000;

interface Pending {
  resolve: (d: FileDigest) => void;
  reject: (err: Error) => void;
  /** Set when the caller's signal stopped it: the reason to reject with once the worker has let go of the file. */
  stopped: unknown;
}

let worker: Worker | null = null;
let idle: NodeJS.Timeout | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();

function settle(answer: DigestAnswer): void {
  const p = pending.get(answer.id);
  if (p === undefined) return;
  pending.delete(answer.id);
  if (pending.size === 0) {
    worker?.unref();
    idleSoon();
  }
  // A digest its caller stopped rejects with the caller's reason, whatever the worker answered.
  if (p.stopped !== null || 'stopped' in answer) p.reject(stoppedError(p.stopped));
  else if ('error' in answer) p.reject(new Error(`reading the file to check its digest: ${answer.error}`));
  else p.resolve({ hex: answer.hex, bytes: answer.bytes });
}

/** The error a stopped digest rejects with: the abort reason when it is one. */
function stoppedError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error('the digest was stopped');
}

function idleSoon(): void {
  if (idle !== null) clearTimeout(idle);
  idle = setTimeout(() => {
    idle = null;
    if (pending.size > 0 || worker === null) return;
    const w = worker;
    worker = null;
    void w.terminate();
  }, IDLE_MS);
  idle.unref();
}

function theWorker(): Worker {
  if (idle !== null) clearTimeout(idle);
  idle = null;
  if (worker !== null) return worker;
  const w = startModuleWorker(import.meta.url, 'file-digest-worker', {});
  w.on('message', (answer: DigestAnswer) => settle(answer));
  const lost = (err: Error): void => {
    if (worker !== w) return;
    worker = null;
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(new Error(`the file digest worker failed: ${err.message}`));
    }
  };
  w.on('error', lost);
  w.on('exit', (code) => lost(new Error(`it exited with code ${code}`)));
  worker = w;
  return w;
}

/**
 * Hashes the open file `handle` with `algorithm` (`sha256`, `sha512`) on the worker, reading it by
 * position from offset 0 (its own offset is left as it is), and stops reading past `limit` bytes.
 * On `signal` it rejects with its reason once the worker has stopped reading the file, so the
 * caller may close the handle then.
 */
export function fileDigest(handle: FileHandle, algorithm: string, limit: number, signal: AbortSignal): Promise<FileDigest> {
  if (signal.aborted) return Promise.reject(stoppedError(signal.reason));
  const w = theWorker();
  const id = nextId++;
  return new Promise<FileDigest>((resolve, reject) => {
    const entry: Pending = {
      resolve: (d) => {
        signal.removeEventListener('abort', stop);
        resolve(d);
      },
      reject: (err) => {
        signal.removeEventListener('abort', stop);
        reject(err);
      },
      stopped: null,
    };
    const stop = (): void => {
      entry.stopped = stoppedError(signal.reason);
      w.postMessage({ id, cancel: true } satisfies DigestRequest);
    };
    pending.set(id, entry);
    // Referenced while it has work (the caller awaits it), not while it idles.
    w.ref();
    signal.addEventListener('abort', stop, { once: true });
    w.postMessage({ id, fd: handle.fd, algorithm, limit } satisfies DigestRequest);
  });
}
