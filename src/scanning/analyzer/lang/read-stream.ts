/**
 * Stream reading for the language analyzers: consume a file's bytes chunk by chunk and stop
 * early without destroying the stream (the layer walker drains what is left), or collect a
 * small file whole under a byte cap.
 */
import type { Readable } from 'node:stream';

/**
 * Feeds `body`'s chunks to `onChunk` until it returns false or the stream ends. Stopping early
 * only detaches: the stream is neither paused nor destroyed, so it keeps flowing to its end and
 * the walker's drain (waiting for `end`, `resume()` or a pipe) finishes it.
 */
export function consume(body: Readable, onChunk: (chunk: Buffer) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const detach = (): void => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onEnd);
      body.off('error', onError);
    };
    const onData = (data: Buffer | string): void => {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      if (!onChunk(chunk)) {
        detach();
        resolve();
      }
    };
    const onEnd = (): void => {
      detach();
      resolve();
    };
    const onError = (err: Error): void => {
      detach();
      reject(err);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('close', onEnd);
    body.once('error', onError);
  });
}

/** The whole file when it holds at most `cap` bytes; null (and the rest left unread) when larger. */
export async function readCapped(body: Readable, cap: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  let over = false;
  await consume(body, (chunk) => {
    total += chunk.length;
    if (total > cap) {
      over = true;
      chunks.length = 0;
      return false;
    }
    chunks.push(chunk);
    return true;
  });
  return over ? null : Buffer.concat(chunks, total);
}

/**
 * The bytes up to (not including) the first `\n\n` or `\r\n\r\n` (or the whole file), stopping
 * there; null when no such end is found within `cap` bytes. Used for RFC 822-style headers.
 */
export async function readHeaderBlock(body: Readable, cap: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  let tail = Buffer.alloc(0);
  let end = -1;
  let over = false;
  await consume(body, (chunk) => {
    // Search the new chunk with up to 3 bytes of what came before, so a split `\r\n\r\n` is found.
    const window = Buffer.concat([tail, chunk]);
    const at = blankLine(window);
    const windowStart = total - tail.length;
    chunks.push(chunk);
    total += chunk.length;
    if (at >= 0 && windowStart + at <= cap) {
      end = windowStart + at;
      return false;
    }
    if (total > cap) {
      over = true;
      return false;
    }
    tail = window.subarray(Math.max(0, window.length - 3));
    return true;
  });
  if (over) return null;
  const all = Buffer.concat(chunks, total);
  return all.subarray(0, end >= 0 ? end : total).toString('utf8');
}

function blankLine(buf: Buffer): number {
  const lf = buf.indexOf('\n\n');
  const crlf = buf.indexOf('\r\n\r\n');
  if (lf < 0) return crlf;
  if (crlf < 0) return lf;
  return Math.min(lf, crlf);
}
