/**
 * Blob and upload routes under /v2 (thin: parse the request, call the registry service, shape the
 * response). The flows, as the OCI Distribution spec describes them:
 *
 *   HEAD/GET   /v2/<name>/blobs/<digest>              200 (GET: 206 with Range; 307 to storage with storage.redirect), 404 BLOB_UNKNOWN
 *   DELETE     /v2/<name>/blobs/<digest>              202
 *   POST       /v2/<name>/blobs/uploads/              202 Location .../uploads/<id>, Range 0-0
 *   POST       /v2/<name>/blobs/uploads/?digest=<d>   201 monolithic (the body is the blob)
 *   POST       /v2/<name>/blobs/uploads/?mount=<d>&from=<repo>   201 mounted, or 202 as a plain POST
 *   PATCH      /v2/<name>/blobs/uploads/<id>          202 Range 0-<size-1>; Content-Range must start at size (else 416)
 *   PUT        /v2/<name>/blobs/uploads/<id>?digest=<d>  201 (optional final chunk in the body)
 *   GET        /v2/<name>/blobs/uploads/<id>          204 Range 0-<size-1>
 *   DELETE     /v2/<name>/blobs/uploads/<id>          204
 *
 * Bodies stream from `req.raw` to storage; nothing buffers a layer.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fail, parseDigest, parseRepoName, type Digest, type RepoName } from '../../domain/index.ts';
import type { AppDeps } from '../deps.ts';
import type { ByteRange } from '../../storage/index.ts';
import { hasBody } from './body.ts';
import { pathOf } from './names.ts';
import { callContext, type OciRoutes, type OciTarget } from './routing.ts';

/** A query parameter as one string (the first when repeated), or undefined. */
function queryParam(req: FastifyRequest, key: string): string | undefined {
  const q = req.query;
  if (typeof q !== 'object' || q === null || !(key in q)) return undefined;
  // Fastify's query parser gives a plain object; `key in q` was checked just above.
  const v: unknown = (q as Record<string, unknown>)[key];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/**
 * True for the requests whose body streams to storage (POST, PATCH, PUT under
 * /v2/<name>/blobs/uploads/): the server's total body limit does not apply to them, only the
 * stall limit (src/api/connections.ts), so a large layer over a slow link is never cut for its length.
 */
export function isBlobUploadRequest(method: string, url: string): boolean {
  if (method !== 'POST' && method !== 'PATCH' && method !== 'PUT') return false;
  const path = pathOf(url);
  return path.startsWith('/v2/') && /\/blobs\/uploads(?:\/[^/]*)?$/.test(path);
}

/**
 * The extra scope a cross-repository mount needs (`repository:<from>:pull`), for the 401 challenge
 * of `POST .../blobs/uploads/?mount=<d>&from=<repo>`; null for every other request. A token
 * without it cannot mount (Wharf then opens a plain upload, 202), so a client that asks for just
 * the challenge's scopes, like the OCI conformance suite, would never see the mount's 201.
 * Harbor names the source repository in the challenge the same way.
 */
export function mountSourceScope(req: FastifyRequest): string | null {
  if (req.method !== 'POST' || queryParam(req, 'mount') === undefined || !/\/blobs\/uploads\/?$/.test(pathOf(req.url))) return null;
  const from = queryParam(req, 'from');
  if (from === undefined || from === '') return null;
  try {
    return `repository:${parseRepoName(from)}:pull`;
  } catch {
    return null;
  }
}

/** The `digest` query parameter, required. */
function requiredDigest(req: FastifyRequest): Digest {
  const d = queryParam(req, 'digest');
  if (d === undefined || d === '') throw fail('DIGEST_INVALID', 'the digest query parameter is required to complete an upload', {});
  return parseDigest(d);
}

function uploadLocation(name: RepoName, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

function blobLocation(name: RepoName, digest: Digest): string {
  return `/v2/${name}/blobs/${digest}`;
}

/** `Range: 0-<size-1>` as registries report upload progress (0-0 for an empty upload, as distribution does). */
function progress(size: number): string {
  return `0-${size > 0 ? size - 1 : 0}`;
}

function acceptedUpload(reply: FastifyReply, name: RepoName, id: string, size: number, status: number): FastifyReply {
  return reply
    .code(status)
    .header('location', uploadLocation(name, id))
    .header('range', progress(size))
    .header('docker-upload-uuid', id)
    .header('content-length', '0')
    .send();
}

function createdBlob(reply: FastifyReply, name: RepoName, digest: Digest): FastifyReply {
  return reply.code(201).header('location', blobLocation(name, digest)).header('docker-content-digest', digest).header('content-length', '0').send();
}

/**
 * Parses a GET Range header against a blob's size: null to serve the whole blob (no header, or a
 * form we ignore as RFC 9110 allows: several ranges, another unit); RANGE_INVALID when unsatisfiable.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | null {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null;
  const [, a = '', b = ''] = m;
  let start: number;
  let end: number;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b); // suffix: the last n bytes
    if (n === 0) throw fail('RANGE_INVALID', 'requested range not satisfiable', { size, range: header });
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) throw fail('RANGE_INVALID', 'requested range not satisfiable', { size, range: header });
  }
  if (start >= size || end < start) throw fail('RANGE_INVALID', 'requested range not satisfiable', { size, range: header });
  return { start, end };
}

/** Parses a PATCH Content-Range (`<start>-<end>`, optionally `bytes ` prefixed); RANGE_INVALID when malformed. */
export function parseContentRange(header: string | undefined, contentLength: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw fail('RANGE_INVALID', 'malformed Content-Range: expected <start>-<end>', { contentRange: header });
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start) throw fail('RANGE_INVALID', 'Content-Range ends before it starts', { contentRange: header });
  if (contentLength !== undefined && Number(contentLength) !== end - start + 1) {
    throw fail('RANGE_INVALID', 'Content-Range does not match Content-Length', { contentRange: header, contentLength });
  }
  return start;
}

/** The blob and upload handlers of the /v2 dispatcher. */
export function blobRoutes(deps: AppDeps): OciRoutes {
  const registry = deps.registry;

  const headBlob = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const info = await registry.blobInfo(callContext(req), t.name, parseDigest(t.arg));
    return reply
      .code(200)
      .header('content-length', String(info.size))
      .header('content-type', 'application/octet-stream')
      .header('docker-content-digest', info.digest)
      .header('accept-ranges', 'bytes')
      .send();
  };

  const getBlob = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const ctx = callContext(req);
    const digest = parseDigest(t.arg);
    // storage.redirect: the client fetches the bytes from the storage (a presigned URL), as distribution's `redirect` does.
    const redirect = await registry.blobRedirect?.(ctx, t.name, digest);
    if (redirect) return reply.code(307).header('location', redirect.url).header('docker-content-digest', redirect.info.digest).header('content-length', '0').send();
    const info = await registry.blobInfo(ctx, t.name, digest);
    let range: ByteRange | null;
    try {
      range = parseByteRange(req.headers.range, info.size);
    } catch (err) {
      reply.header('content-range', `bytes */${info.size}`);
      throw err;
    }
    const { stream } = await registry.readBlob(ctx, t.name, digest, range ?? undefined);
    const length = range ? range.end - range.start + 1 : info.size;
    // An 'end' listener (unlike 'data') leaves the stream paused for Fastify to pipe.
    stream.on('end', () => deps.metrics.bytesOut.inc(length));
    reply
      .header('content-length', String(length))
      .header('content-type', 'application/octet-stream')
      .header('docker-content-digest', info.digest)
      .header('accept-ranges', 'bytes');
    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    else reply.code(200);
    return reply.send(stream);
  };

  const deleteBlob = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    await registry.deleteBlob(callContext(req), t.name, parseDigest(t.arg));
    return reply.code(202).header('content-length', '0').send();
  };

  const postUpload = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const ctx = callContext(req);
    const mount = queryParam(req, 'mount');
    if (mount !== undefined) {
      const digest = parseDigest(mount);
      const fromRaw = queryParam(req, 'from');
      const from = fromRaw === undefined || fromRaw === '' ? null : parseRepoName(fromRaw);
      const mounted = await registry.mountBlob(ctx, t.name, digest, from);
      if (mounted) return createdBlob(reply, t.name, mounted.digest);
      // Not mountable: fall back to a plain upload session (202), as the spec says.
    }
    const digestParam = queryParam(req, 'digest');
    const upload = await registry.startUpload(ctx, t.name);
    if (digestParam !== undefined && mount === undefined) {
      let digest: Digest;
      try {
        digest = parseDigest(digestParam);
      } catch (err) {
        await registry.cancelUpload(ctx, t.name, upload.id);
        throw err;
      }
      const info = await registry.completeUpload(ctx, t.name, upload.id, digest, hasBody(req) ? req.raw : undefined);
      return createdBlob(reply, t.name, info.digest);
    }
    return acceptedUpload(reply, t.name, upload.id, 0, 202);
  };

  const patchUpload = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const start = parseContentRange(req.headers['content-range'], req.headers['content-length']);
    const state = await registry.appendUpload(callContext(req), t.name, t.arg, req.raw, start);
    return acceptedUpload(reply, t.name, state.id, state.size, 202);
  };

  const putUpload = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const digest = requiredDigest(req);
    const info = await registry.completeUpload(callContext(req), t.name, t.arg, digest, hasBody(req) ? req.raw : undefined);
    return createdBlob(reply, t.name, info.digest);
  };

  const getUpload = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    const state = await registry.uploadState(callContext(req), t.name, t.arg);
    return acceptedUpload(reply, t.name, state.id, state.size, 204);
  };

  const deleteUpload = async (req: FastifyRequest, reply: FastifyReply, t: OciTarget) => {
    await registry.cancelUpload(callContext(req), t.name, t.arg);
    return reply.code(204).send();
  };

  return {
    blob: { HEAD: headBlob, GET: getBlob, DELETE: deleteBlob },
    uploads: { POST: postUpload },
    upload: { PATCH: patchUpload, PUT: putUpload, GET: getUpload, DELETE: deleteUpload },
  };
}
