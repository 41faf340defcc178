/**
 * Worker-thread entry of the file digests (started by file-digest.ts; not imported by anything).
 * For each request it reads an open file of the process by position, 1 MiB at a time, hashes it
 * and answers its digest and length. Reading by position leaves the file's offset alone, so a
 * decompressing program reading the same descriptor as its stdin is not disturbed. Requests run
 * interleaved; a cancelled one stops before its next read and answers that it stopped.
 */
import { createHash } from 'node:crypto';
import { read } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { DigestAnswer, DigestRequest } from './file-digest.ts';

const READ_BYTES = 1024 * 1024;

const port = parentPort;
if (port === null) throw new Error('file-digest-worker runs as a worker thread');
/** Requests being read, and those of them asked to stop. */
const active = new Set<number>();
const cancelled = new Set<number>();

const answer = (a: DigestAnswer): void => {
  active.delete(a.id);
  cancelled.delete(a.id);
  port.postMessage(a);
};

function digest(req: Extract<DigestRequest, { fd: number }>): void {
  let hash;
  try {
    hash = createHash(req.algorithm);
  } catch (err) {
    answer({ id: req.id, error: err instanceof Error ? err.message : String(err) });
    return;
  }
  active.add(req.id);
  const buf = Buffer.allocUnsafe(READ_BYTES);
  let bytes = 0;
  const step = (): void => {
    if (cancelled.has(req.id)) {
      answer({ id: req.id, stopped: true });
      return;
    }
    read(req.fd, buf, 0, buf.length, bytes, (err, n) => {
      if (err) {
        answer({ id: req.id, error: err.message });
        return;
      }
      if (n === 0) {
        answer({ id: req.id, hex: hash.digest('hex'), bytes });
        return;
      }
      bytes += n;
      // Longer than it should be: no need to read (or hash) the rest.
      if (bytes > req.limit) {
        answer({ id: req.id, hex: null, bytes });
        return;
      }
      hash.update(buf.subarray(0, n));
      step();
    });
  };
  step();
}

port.on('message', (req: DigestRequest) => {
  // A cancel can cross the answer: only a request still being read is marked.
  if ('cancel' in req) {
    if (active.has(req.id)) cancelled.add(req.id);
  }
  else digest(req);
});
