/**
 * Request bodies under /v2. The plugin registers no body parser: blob uploads stream `req.raw`
 * straight to storage, and manifest routes collect their (small) body with {@link readBody}.
 */
import type { FastifyRequest } from 'fastify';
import { fail, type ErrorCode } from '../../domain/index.ts';

/**
 * Collects the request body into a Buffer of at most `limit` bytes. Past the limit (by the
 * Content-Length header or by counting) it throws `code` (SIZE_INVALID by default; manifest routes
 * may pass MANIFEST_INVALID) and drains the rest so the error response can still be sent.
 */
export async function readBody(req: FastifyRequest, limit: number, code: ErrorCode = 'SIZE_INVALID'): Promise<Buffer> {
  const raw = req.raw;
  const tooLarge = () => fail(code, `request body is larger than the limit of ${limit} bytes`, { limit });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    raw.resume();
    throw tooLarge();
  }
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        raw.resume(); // drain and drop the rest
        reject(tooLarge());
        return;
      }
      parts.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(parts, total));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(fail('SIZE_INVALID', 'the request body ended before it was complete', { reason: err.message }));
    };
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
    if (raw.readableEnded) onEnd();
  });
}

/** True when the request carries a body (a non-zero Content-Length or chunked transfer encoding). */
export function hasBody(req: FastifyRequest): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}
