/**
 * The S3 blob store: blobs and uploads as objects in one bucket of any S3-compatible server
 * (AWS S3, Ceph radosgw, ...), through the AWS SDK v3. Layout under the optional key `prefix`:
 *
 * ```
 * <prefix>blobs/sha256/ab/ab12...ef          a blob, named like the filesystem driver's files
 * <prefix>uploads/<id>/started               an upload exists (empty; written once, If-None-Match: *)
 * <prefix>uploads/<id>/chunk-<offset>        one object per appended chunk; offset 16 digits, zero-padded
 * ```
 *
 * An upload's state lives only in the bucket: its size is the sum of its chunk objects, found by
 * listing its prefix (S3 lists strongly consistently), so any instance sharing the bucket carries
 * on an upload another one started, and re-reads its bytes (readUpload concatenates the chunks)
 * when it has no running hash. Each chunk streams into its own object through lib-storage's
 * `Upload` (no length needed up front; parts buffered in memory: at most `queueSize` × `partSize`);
 * a chunk that fails leaves no object, so the upload keeps the size it had.
 *
 * commitUpload, which the registry calls only after it verified the digest, builds
 * `blobs/<alg>/<xx>/<hex>` in one step that makes it visible whole or not at all: a single chunk
 * is copied server-side (CopyObject, up to 5 GiB); several chunks become ONE multipart upload whose
 * parts are the chunk objects copied by range (UploadPartCopy), with runs of chunks below S3's
 * 5 MiB part minimum merged into one re-uploaded part (s3-part-plan.ts). Until
 * CompleteMultipartUpload nothing is visible under the digest; a commit that fails aborts its
 * multipart upload, and one that crashed is aborted by gc (cleanupIncomplete). The chunk objects
 * are removed afterwards. Two commits of one digest write the same bytes; the last one wins.
 *
 * Errors: a missing object is StorageNotFoundError; a server quota (Ceph's QuotaExceeded) is
 * StorageFullError (EDQUOT); anything else is rethrown with the operation and key in its message.
 * Requests carry no flexible checksums (`WHEN_REQUIRED`), which older S3-compatible servers refuse;
 * SigV4 signs the payloads the SDK holds in memory.
 */
import { Readable, Transform, finished } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  paginateListObjectsV2,
  type CompletedPart,
  type _Object,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { digestAlgorithm, digestAlgorithms, digestHex, parseDigest, type Digest } from '../domain/index.ts';
import { StorageFullError, StorageNotFoundError, type BlobStore, type ByteRange } from './blob-store.ts';
import { planParts, s3PartLimits, type PlannedPart, type Segment } from './s3-part-plan.ts';

/** Upload ids the driver accepts: no separators, no dots (the same rule as the filesystem driver). */
const uploadIdPattern = /^[A-Za-z0-9_-]{1,128}$/;

/** Digits of a chunk object's offset: lexical order is numeric order up to 10^16 bytes. */
const offsetDigits = 16;

/** Part size of lib-storage's streamed chunk uploads, and how many parts it holds at once. */
const chunkPartSize = 8 * 1024 * 1024;
const chunkQueueSize = 4;

/** Deletes in flight at once when removing an upload's objects. */
const deleteConcurrency = 8;

/** Where and how to reach the bucket. */
export interface S3BlobStoreOptions {
  /** The server's URL (http://127.0.0.1:7480); absent: AWS's endpoint for the region. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Static credentials; absent: the SDK's default chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** `bucket` in the path (http://host/bucket/key) instead of the host name: most self-hosted servers want it. */
  forcePathStyle: boolean;
  /** Prepended to every key (`wharf/`), so that several registries or test runs share a bucket. */
  prefix?: string;
  /** Seconds presigned GET URLs stay valid; absent or null: redirectUrl answers null (no redirects). */
  redirectExpirySeconds?: number | null;
}

/** A chunk object of an upload, as listed. */
interface Chunk {
  key: string;
  offset: number;
  size: number;
}

/** What listing an upload's prefix found. */
interface UploadListing {
  /** The `started` marker exists: the upload is live. */
  live: boolean;
  chunks: Chunk[];
  /** Every key under the prefix (marker, chunks, anything else). */
  keys: string[];
  size: number;
  modified: Date | null;
}

/** Stores blobs and uploads as objects in one S3 bucket; see the module comment. */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly redirectExpiry: number | null;

  constructor(opts: S3BlobStoreOptions) {
    this.client = new S3Client({
      region: opts.region,
      forcePathStyle: opts.forcePathStyle,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      // CRC32 trailers and aws-chunked bodies (the SDK's default since 2025) are refused by many
      // S3-compatible servers; checksums only where an operation requires one.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix ?? '');
    this.redirectExpiry = opts.redirectExpirySeconds ?? null;
  }

  private blobKey(digest: Digest): string {
    const hex = digestHex(digest);
    return `${this.prefix}blobs/${digestAlgorithm(digest)}/${hex.slice(0, 2)}/${hex}`;
  }

  /** The prefix of an upload's objects; StorageNotFoundError for an id that could leave it. */
  private uploadPrefix(id: string): string {
    if (!uploadIdPattern.test(id)) throw new StorageNotFoundError(`upload ${JSON.stringify(id)}`);
    return `${this.prefix}uploads/${id}/`;
  }

  private chunkKey(id: string, offset: number): string {
    return `${this.uploadPrefix(id)}chunk-${String(offset).padStart(offsetDigits, '0')}`;
  }

  async stat(digest: Digest): Promise<{ size: number } | null> {
    const key = this.blobKey(digest);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: r.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw s3Error('HeadObject', key, err);
    }
  }

  async read(digest: Digest, range?: ByteRange): Promise<Readable> {
    return this.getStream(this.blobKey(digest), range, `blob ${digest}`);
  }

  async readAll(digest: Digest): Promise<Buffer> {
    const key = this.blobKey(digest);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!r.Body) return Buffer.alloc(0);
      return Buffer.from(await r.Body.transformToByteArray());
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(`blob ${digest}`);
      throw s3Error('GetObject', key, err);
    }
  }

  async put(digest: Digest, data: Buffer): Promise<void> {
    const key = this.blobKey(digest);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length }));
    } catch (err) {
      throw s3Error('PutObject', key, err, `writing blob ${digest}`);
    }
  }

  async delete(digest: Digest): Promise<void> {
    await this.deleteKey(this.blobKey(digest));
  }

  async *list(): AsyncIterable<Digest> {
    for await (const obj of this.listKeys(`${this.prefix}blobs/`)) {
      // <prefix>blobs/<alg>/<xx>/<hex>
      const parts = (obj.Key ?? '').slice(this.prefix.length).split('/');
      if (parts.length !== 4) continue;
      const [, alg = '', shard = '', hex = ''] = parts;
      if (!(alg in digestAlgorithms) || hex.slice(0, 2) !== shard) continue;
      let d: Digest;
      try {
        d = parseDigest(`${alg}:${hex}`);
      } catch {
        continue; // not a blob object (something else under blobs/)
      }
      yield d;
    }
  }

  async createUpload(id: string): Promise<void> {
    const key = `${this.uploadPrefix(id)}started`;
    // Listing first makes a duplicate id an error on servers that ignore If-None-Match as well.
    if ((await this.listUpload(id)).keys.length > 0) throw new Error(`upload ${id} already exists`);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0, IfNoneMatch: '*' }));
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 412) throw new Error(`upload ${id} already exists`, { cause: err });
      throw s3Error('PutObject', key, err, `creating upload ${id}`);
    }
  }

  async appendUpload(id: string, data: Readable, onData?: (chunk: Buffer) => void): Promise<number> {
    const before = await this.requireUpload(id);
    const key = this.chunkKey(id, before.size);
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        onData?.(chunk);
        done(null, chunk);
      },
    });
    // As in the filesystem driver, `data` is piped by hand so that a failed write does not destroy
    // a request body (whose socket must stay to send the error); a body that errors or closes
    // early still fails the write, and then lib-storage aborts its multipart upload.
    data.pipe(tap);
    const stopWatching = finished(data, { writable: false }, (err) => {
      if (err) tap.destroy(err);
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: tap },
      partSize: chunkPartSize,
      queueSize: chunkQueueSize,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      data.unpipe(tap);
      tap.destroy();
      // A small chunk goes up as one PutObject, a large one as a multipart upload lib-storage
      // aborts: either way no chunk object exists, and the upload keeps its size.
      throw s3Error('Upload', key, err, `appending to upload ${id}`);
    } finally {
      stopWatching();
    }
    if (bytes === 0) await this.deleteKey(key); // an empty body adds nothing
    return before.size + bytes;
  }

  async uploadSize(id: string): Promise<number> {
    return (await this.requireUpload(id)).size;
  }

  async readUpload(id: string): Promise<Readable> {
    const { chunks } = await this.requireUpload(id);
    const self = this;
    return Readable.from(
      (async function* () {
        for (const c of chunks) yield* await self.getStream(c.key, undefined, `upload ${id}`);
      })(),
      { objectMode: false },
    );
  }

  async commitUpload(id: string, digest: Digest): Promise<void> {
    const upload = await this.requireUpload(id);
    const key = this.blobKey(digest);
    const [only] = upload.chunks;
    if (upload.chunks.length === 0) {
      await this.putObject(key, Buffer.alloc(0), `writing blob ${digest}`);
    } else if (upload.chunks.length === 1 && only && only.size <= s3PartLimits.maxCopyPart) {
      try {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: key, CopySource: this.copySource(only.key) }));
      } catch (err) {
        throw s3Error('CopyObject', key, err, `writing blob ${digest}`);
      }
    } else {
      await this.assemble(key, planParts(upload.chunks.map((c) => ({ key: c.key, size: c.size }))), `writing blob ${digest}`);
    }
    // The blob is in place. The marker goes first, so that a partly removed upload is unknown
    // rather than shorter; what a failure here leaves behind, gc removes (listUploads shows it).
    await this.removeUpload(upload).catch(() => undefined);
  }

  async deleteUpload(id: string): Promise<void> {
    if (!uploadIdPattern.test(id)) return;
    await this.removeUpload(await this.listUpload(id));
  }

  async *listUploads(): AsyncIterable<{ id: string; modified: Date }> {
    // Keys of one upload are adjacent in the (lexically ordered) listing.
    const base = `${this.prefix}uploads/`;
    let current: { id: string; modified: Date } | null = null;
    for await (const obj of this.listKeys(base)) {
      const id = (obj.Key ?? '').slice(base.length).split('/')[0] ?? '';
      if (!uploadIdPattern.test(id)) continue;
      const modified = obj.LastModified ?? new Date(0);
      if (current && current.id === id) {
        if (modified > current.modified) current.modified = modified;
        continue;
      }
      if (current) yield current;
      current = { id, modified };
    }
    if (current) yield current;
  }

  /** A presigned GET URL of a blob, valid for the configured expiry; null when redirects are off. */
  async redirectUrl(digest: Digest): Promise<string | null> {
    if (this.redirectExpiry === null) return null;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.blobKey(digest) }), { expiresIn: this.redirectExpiry });
  }

  /**
   * Aborts the multipart uploads under this store's prefix started before `olderThan`: a chunk's
   * upload or a commit that crashed (whose parts S3 keeps, and bills, until aborted). With
   * `dryRun`, only counts them.
   */
  async cleanupIncomplete(olderThan: Date, opts: { dryRun?: boolean } = {}): Promise<number> {
    let n = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, ...(this.prefix ? { Prefix: this.prefix } : {}), KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (err) {
        throw s3Error('ListMultipartUploads', this.prefix, err);
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= olderThan) continue;
        if (!opts.dryRun) await this.abort(u.Key, u.UploadId);
        n++;
      }
      if (!page.IsTruncated || (!page.NextKeyMarker && !page.NextUploadIdMarker)) return n;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /** Builds `key` from the planned parts as one multipart upload; aborts it on failure. */
  private async assemble(key: string, parts: PlannedPart[], what: string): Promise<void> {
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
      uploadId = created.UploadId;
      if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      const done: CompletedPart[] = [];
      for (const [i, part] of parts.entries()) {
        const PartNumber = i + 1;
        if (part.kind === 'copy') {
          const s = part.segment;
          const r = await this.client.send(
            new UploadPartCopyCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, CopySource: this.copySource(s.key), CopySourceRange: `bytes=${s.start}-${s.end}` }),
          );
          done.push({ PartNumber, ETag: r.CopyPartResult?.ETag });
        } else {
          const r = await this.client.send(
            new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber, Body: this.segmentsStream(part.segments), ContentLength: part.size }),
          );
          done.push({ PartNumber, ETag: r.ETag });
        }
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
    } catch (err) {
      if (uploadId) await this.abort(key, uploadId).catch(() => undefined); // else gc's cleanupIncomplete does
      throw s3Error('multipart upload', key, err, what);
    }
  }

  /** The bytes of `segments`, one ranged GET after another. */
  private segmentsStream(segments: Segment[]): Readable {
    const self = this;
    return Readable.from(
      (async function* () {
        for (const s of segments) yield* await self.getStream(s.key, { start: s.start, end: s.end }, s.key);
      })(),
      { objectMode: false },
    );
  }

  private async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchUpload' || err.$metadata.httpStatusCode === 404)) return;
      throw s3Error('AbortMultipartUpload', key, err);
    }
  }

  /** `bucket/key` for CopySource, each path segment URL-encoded as S3 expects. */
  private copySource(key: string): string {
    return `${this.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async getStream(key: string, range: ByteRange | undefined, what: string): Promise<Readable> {
    let body;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }));
      body = r.Body;
    } catch (err) {
      if (isNotFound(err)) throw new StorageNotFoundError(what);
      throw s3Error('GetObject', key, err);
    }
    if (body === undefined) return Readable.from([]);
    // In Node the SDK's body is an http.IncomingMessage (a Readable) with helper methods mixed in.
    if (!(body instanceof Readable)) throw new Error(`GetObject ${key}: the response body is not a Node stream`);
    return body;
  }

  private async putObject(key: string, data: Buffer, what: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length }));
    } catch (err) {
      throw s3Error('PutObject', key, err, what);
    }
  }

  private async deleteKey(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return;
      throw s3Error('DeleteObject', key, err);
    }
  }

  /** Removes an upload's objects: the marker first, then the rest. */
  private async removeUpload(upload: UploadListing): Promise<void> {
    const marker = upload.keys.filter((k) => k.endsWith('/started'));
    const rest = upload.keys.filter((k) => !k.endsWith('/started'));
    for (const k of marker) await this.deleteKey(k);
    for (let i = 0; i < rest.length; i += deleteConcurrency) {
      await Promise.all(rest.slice(i, i + deleteConcurrency).map((k) => this.deleteKey(k)));
    }
  }

  /** Every object under `prefix`, page by page, in key order. */
  private async *listKeys(prefix: string): AsyncIterable<_Object> {
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: prefix })) {
        yield* page.Contents ?? [];
      }
    } catch (err) {
      throw s3Error('ListObjectsV2', prefix, err);
    }
  }

  /** Lists an upload's prefix: whether it is live, its chunks in order, its size. */
  private async listUpload(id: string): Promise<UploadListing> {
    const base = this.uploadPrefix(id);
    const out: UploadListing = { live: false, chunks: [], keys: [], size: 0, modified: null };
    for await (const obj of this.listKeys(base)) {
      const key = obj.Key ?? '';
      out.keys.push(key);
      if (obj.LastModified && (!out.modified || obj.LastModified > out.modified)) out.modified = obj.LastModified;
      const name = key.slice(base.length);
      if (name === 'started') out.live = true;
      const m = /^chunk-(\d+)$/.exec(name);
      if (m && (obj.Size ?? 0) > 0) out.chunks.push({ key, offset: Number(m[1]), size: obj.Size ?? 0 });
    }
    for (const c of out.chunks) {
      // Two instances appending to one upload at once could leave a gap or an overlap.
      if (c.offset !== out.size) throw new Error(`upload ${id}: chunk at offset ${c.offset} does not follow the ${out.size} bytes before it`);
      out.size += c.size;
    }
    return out;
  }

  /** The listing of a live upload; StorageNotFoundError when there is none. */
  private async requireUpload(id: string): Promise<UploadListing> {
    const u = await this.listUpload(id);
    if (!u.live) throw new StorageNotFoundError(`upload ${id}`);
    return u;
  }
}

/** `''` or `a/b/`: a key prefix without a leading slash, ending in one. */
function normalizePrefix(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** True for S3's "no such object" answers (NoSuchKey on GET, a bare 404 on HEAD). */
function isNotFound(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  if (err.name === 'NoSuchBucket') return false; // a configuration error, not a missing blob
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
}

/**
 * An S3 failure as the registry understands it: a server quota is a StorageFullError (EDQUOT)
 * when `writing` names the write; anything else keeps its cause and names the operation and key.
 */
function s3Error(op: string, key: string, err: unknown, writing?: string): unknown {
  if (err instanceof StorageFullError || err instanceof StorageNotFoundError) return err;
  if (writing && err instanceof S3ServiceException && err.name === 'QuotaExceeded') {
    return new StorageFullError(writing, Object.assign(new Error(`S3 ${op} ${key}: ${err.message}`, { cause: err }), { code: 'EDQUOT' }));
  }
  if (err instanceof S3ServiceException) {
    return new Error(`S3 ${op} ${key} failed: ${err.name} (HTTP ${err.$metadata.httpStatusCode ?? '?'}): ${err.message}`, { cause: err });
  }
  return err;
}
