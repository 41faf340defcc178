/**
 * The S3 driver against a real S3 server (Ceph radosgw; test/helpers/s3.ts): the shared suite,
 * then what only S3 has: the 5 MiB part minimum, server-side part copies, an upload carried on by
 * a second instance, incomplete multipart uploads, presigned URLs and redirects through Wharf.
 */
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { makeDigest, type Digest } from '../domain/index.ts';
import { blobStoreSuite } from './blob-store-suite.ts';
import { planParts } from './s3-part-plan.ts';
import type { BlobStore } from './blob-store.ts';
import { freshPrefix, listKeys, listMultipart, removePrefix, requireS3, s3Client, s3StorageConfig, s3Store, s3TestServer, skipWithoutS3 } from '../../test/helpers/s3.ts';
import { adminAuth, startWharf } from '../../test/helpers/wharf.ts';

const MiB = 1024 * 1024;
const skip = skipWithoutS3();
const server = s3TestServer();

if (server) {
  blobStoreSuite('s3', async () => {
    const prefix = freshPrefix('suite');
    return { store: s3Store(server, prefix), cleanup: () => removePrefix(server, prefix) };
  });
} else {
  test('BlobStore conformance: s3', { skip }, () => {
    requireS3();
  });
}

const sha256 = (b: Buffer): Digest => makeDigest('sha256', createHash('sha256').update(b).digest('hex'));

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(parts);
}

/** Appends each of `chunks` as one appendUpload call; returns the bytes and their running digest. */
async function appendChunks(store: BlobStore, id: string, chunks: Buffer[]): Promise<{ all: Buffer; digest: Digest }> {
  const hash = createHash('sha256');
  let size = await store.uploadSize(id);
  for (const c of chunks) {
    // Several small writes per chunk, as a request body arrives.
    const pieces = [];
    for (let i = 0; i < c.length; i += 256 * 1024) pieces.push(c.subarray(i, i + 256 * 1024));
    size = await store.appendUpload(id, Readable.from(pieces), (b) => hash.update(b));
  }
  const all = Buffer.concat(chunks);
  assert.equal(size, all.length);
  return { all, digest: makeDigest('sha256', hash.digest('hex')) };
}

/** Runs `fn` with a fresh prefix, then empties it. */
async function withPrefix(label: string, fn: (prefix: string) => Promise<void>): Promise<void> {
  const s = requireS3();
  const prefix = freshPrefix(label);
  try {
    await fn(prefix);
  } finally {
    await removePrefix(s, prefix);
  }
}

describe('S3 driver on a real S3 server', { skip }, () => {
  it('merges chunks below the 5 MiB part minimum: 3 x 3 MiB + 1 byte', () =>
    withPrefix('merge', async (prefix) => {
      const s = requireS3();
      const store = s3Store(s, prefix);
      const chunks = [randomBytes(3 * MiB), randomBytes(3 * MiB), randomBytes(3 * MiB), randomBytes(1)];
      const plan = planParts(chunks.map((c, i) => ({ key: String(i), size: c.length })));
      assert.deepEqual(plan.map((p) => [p.kind, p.size]), [['upload', 6 * MiB], ['upload', 3 * MiB + 1]], 'two re-uploaded parts, the last one small');
      await store.createUpload('merge');
      const { all, digest } = await appendChunks(store, 'merge', chunks);
      const client = s3Client(s);
      const uploadKeys = await listKeys(client, s.bucket, `${prefix}uploads/merge/`);
      assert.equal(uploadKeys.filter((k) => k.includes('/chunk-')).length, 4, 'one object per chunk');
      assert.equal(digest, sha256(all));
      assert.deepEqual(await collect(await store.readUpload('merge')), all);
      await store.commitUpload('merge', digest);
      assert.deepEqual(await store.stat(digest), { size: all.length });
      assert.equal(sha256(await collect(await store.read(digest))), digest);
      assert.deepEqual(await listKeys(client, s.bucket, `${prefix}uploads/`), [], 'the chunk objects are gone');
      assert.deepEqual(await listMultipart(client, s.bucket, prefix), [], 'no multipart upload left open');
      client.destroy();
    }));

  it('copies chunks of 5 MiB and more server-side, topping up a small chunk before one', () =>
    withPrefix('copy', async (prefix) => {
      const s = requireS3();
      const store = s3Store(s, prefix);
      const chunks = [randomBytes(1 * MiB), randomBytes(12 * MiB), randomBytes(6 * MiB), randomBytes(100)];
      const plan = planParts(chunks.map((c, i) => ({ key: String(i), size: c.length })));
      // 1 MiB + 4 MiB of the second chunk re-uploaded, the second chunk's last 8 MiB and the third copied, 100 bytes last.
      assert.deepEqual(plan.map((p) => [p.kind, p.size]), [['upload', 5 * MiB], ['copy', 8 * MiB], ['copy', 6 * MiB], ['upload', 100]]);
      await store.createUpload('copy');
      const { all, digest } = await appendChunks(store, 'copy', chunks);
      await store.commitUpload('copy', digest);
      assert.equal(sha256(await collect(await store.read(digest))), digest);
      // A range across the boundaries of three chunk objects.
      const range = { start: 1 * MiB - 10, end: 13 * MiB + 10 };
      assert.deepEqual(await collect(await store.read(digest, range)), all.subarray(range.start, range.end + 1));
    }));

  it('carries on an upload another instance started, and either commits it', () =>
    withPrefix('twin', async (prefix) => {
      const s = requireS3();
      const a = s3Store(s, prefix);
      const b = s3Store(s, prefix);
      const one = randomBytes(2 * MiB);
      const two = randomBytes(4 * MiB);
      await a.createUpload('twin');
      assert.equal(await a.appendUpload('twin', Readable.from([one])), one.length);
      assert.equal(await b.uploadSize('twin'), one.length, 'the second instance sees the first chunk');
      assert.equal(await b.appendUpload('twin', Readable.from([two])), one.length + two.length);
      const all = Buffer.concat([one, two]);
      assert.deepEqual(await collect(await a.readUpload('twin')), all, 'the first instance re-reads both chunks');
      await a.commitUpload('twin', sha256(all));
      assert.deepEqual(await b.readAll(sha256(all)), all);
      await assert.rejects(b.uploadSize('twin'), /not found/);
    }));

  it('a chunk whose body fails leaves the upload as it was and no multipart upload behind', () =>
    withPrefix('fail', async (prefix) => {
      const s = requireS3();
      const store = s3Store(s, prefix);
      await store.createUpload('fail');
      const first = randomBytes(100);
      await store.appendUpload('fail', Readable.from([first]));
      // 20 MiB and then an error: lib-storage is in a multipart upload by then.
      const failing = Readable.from(
        (async function* () {
          for (let i = 0; i < 20; i++) yield randomBytes(MiB);
          throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
        })(),
      );
      await assert.rejects(store.appendUpload('fail', failing), /aborted/);
      assert.equal(await store.uploadSize('fail'), first.length);
      const client = s3Client(s);
      assert.deepEqual(await listMultipart(client, s.bucket, prefix), []);
      client.destroy();
      const rest = randomBytes(10);
      assert.equal(await store.appendUpload('fail', Readable.from([rest])), first.length + rest.length, 'the chunk can be sent again');
    }));

  it('cleanupIncomplete aborts the multipart uploads under its prefix started before the cutoff', () =>
    withPrefix('gc', async (prefix) => {
      const s = requireS3();
      const store = s3Store(s, prefix);
      const client = s3Client(s);
      const other = freshPrefix('gc-other');
      try {
        for (const key of [`${prefix}blobs/sha256/ab/abandoned`, `${other}blobs/x`]) {
          const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: key }));
          await client.send(new UploadPartCommand({ Bucket: s.bucket, Key: key, UploadId, PartNumber: 1, Body: randomBytes(1024) }));
        }
        assert.equal(await store.cleanupIncomplete(new Date(Date.now() - 3600_000)), 0, 'younger than the cutoff: kept');
        assert.equal(await store.cleanupIncomplete(new Date(Date.now() + 60_000), { dryRun: true }), 1, 'a dry run counts');
        assert.equal((await listMultipart(client, s.bucket, prefix)).length, 1, 'and keeps');
        assert.equal(await store.cleanupIncomplete(new Date(Date.now() + 60_000)), 1);
        assert.deepEqual(await listMultipart(client, s.bucket, prefix), []);
        assert.equal((await listMultipart(client, s.bucket, other)).length, 1, 'another prefix is left alone');
      } finally {
        await removePrefix(s, other);
        client.destroy();
      }
    }));

  it('presigned URLs serve a blob and its ranges to a plain HTTP client', () =>
    withPrefix('presign', async (prefix) => {
      const s = requireS3();
      assert.equal(await s3Store(s, prefix).redirectUrl(sha256(Buffer.from('x'))), null, 'no redirects unless configured');
      const store = s3Store(s, prefix, { redirectExpirySeconds: 60 });
      const data = randomBytes(300_000);
      const d = sha256(data);
      await store.put(d, data);
      const url = await store.redirectUrl(d);
      assert.ok(url, 'a URL');
      assert.ok(url.startsWith(s.endpoint), url);
      assert.match(url, /X-Amz-Expires=60/);
      const r = await fetch(url);
      assert.equal(r.status, 200);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), data);
      const part = await fetch(url, { headers: { range: 'bytes=1000-1999' } });
      assert.equal(part.status, 206);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), data.subarray(1000, 2000));
      const bad = await fetch(url.replace(/X-Amz-Signature=[0-9a-f]+/, 'X-Amz-Signature=' + '0'.repeat(64)));
      assert.equal(bad.status, 403, 'a tampered signature is refused');
    }));

  it('through Wharf: blob GETs redirect (HEADs do not), and gc aborts abandoned multipart uploads', () =>
    withPrefix('wharf', async (prefix) => {
      const s = requireS3();
      const w = await startWharf({ overrides: { storage: s3StorageConfig(s, prefix, { redirect: true, redirect_expiry_seconds: 120 }), registry: { upload_grace_seconds: 0 } } });
      const client = s3Client(s);
      try {
        const data = randomBytes(2 * MiB + 5);
        const d = sha256(data);
        const headers = { authorization: adminAuth };
        const pushed = await fetch(`${w.url}/v2/library/s3/blobs/uploads/?digest=${d}`, { method: 'POST', headers, body: new Uint8Array(data) });
        assert.equal(pushed.status, 201, await pushed.text());
        const hex = d.slice('sha256:'.length);
        assert.deepEqual(await listKeys(client, s.bucket, `${prefix}blobs/`), [`${prefix}blobs/sha256/${hex.slice(0, 2)}/${hex}`]);

        const head = await fetch(`${w.url}/v2/library/s3/blobs/${d}`, { method: 'HEAD', headers });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(data.length));
        const get = await fetch(`${w.url}/v2/library/s3/blobs/${d}`, { headers, redirect: 'manual' });
        assert.equal(get.status, 307);
        const location = get.headers.get('location') ?? '';
        assert.ok(location.startsWith(`${s.endpoint}/${s.bucket}/${prefix}blobs/sha256/`), location);
        assert.match(location, /X-Amz-Expires=120/);
        // A client that follows redirects gets the bytes from the S3 server.
        const followed = await fetch(`${w.url}/v2/library/s3/blobs/${d}`, { headers });
        assert.equal(followed.status, 200);
        assert.equal(sha256(Buffer.from(await followed.arrayBuffer())), d);
        const unknown = await fetch(`${w.url}/v2/library/s3/blobs/${sha256(Buffer.from('none'))}`, { headers, redirect: 'manual' });
        assert.equal(unknown.status, 404, 'an unknown blob is not redirected');

        const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: `${prefix}blobs/sha256/00/crashed-commit` }));
        assert.ok(UploadId);
        await new Promise((r) => setTimeout(r, 1100)); // the grace period (0 s) has passed, on a seconds-resolution clock too
        await w.wharf.gc();
        assert.deepEqual(await listMultipart(client, s.bucket, prefix), [], 'gc aborted the multipart upload');
      } finally {
        client.destroy();
        await w.close();
      }
    }));
});
