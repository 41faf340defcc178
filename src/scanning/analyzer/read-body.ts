/**
 * Reading a file body that an analyzer asked for: all of it into memory, with a cap so that a
 * file larger than expected fails the one analyzer instead of the process.
 */
import type { Readable } from 'node:stream';

/** The default cap on a file an analyzer buffers (an RHEL rpmdb.sqlite is tens of MiB). */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Reads `body` to its end; throws once more than `limit` bytes arrive. */
export async function readAll(body: Readable, limit = DEFAULT_MAX_FILE_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += buf.length;
    if (total > limit) throw new Error(`file larger than ${limit} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

/** Reads `body` as UTF-8 text. */
export async function readText(body: Readable, limit = DEFAULT_MAX_FILE_BYTES): Promise<string> {
  return (await readAll(body, limit)).toString('utf8');
}
