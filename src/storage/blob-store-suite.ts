/**
 * The conformance suite every BlobStore driver must pass. A driver's test file runs it in a few
 * lines: `blobStoreSuite('fs', async () => ({ store, cleanup }))`.
 */
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { makeDigest, type Digest } from '../domain/index.ts';
import { StorageNotFoundError, type BlobStore } from './blob-store.ts';

/** A fresh, empty store and how to dispose of it. */
export interface StoreUnderTest {
  store: BlobStore;
  cleanup(): Promise<void>;
}

/** sha256 digest of `data`. */
function sha256(data: Buffer): Digest {
  return makeDigest('sha256', createHash('sha256').update(data).digest('hex'));
}

async function collect(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  return Buffer.concat(parts);
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Runs the shared BlobStore conformance tests against stores made by `makeStore`. */
export function blobStoreSuite(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: BlobStore;
    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    it('opens a stored blob as a file where the driver keeps files; absent is StorageNotFoundError', async (t) => {
      if (!store.openFile) {
        t.skip(`${name} keeps no files`);
        return;
      }
      const data = randomBytes(300_000);
      const d = sha256(data);
      await store.put(d, data);
      const file = await store.openFile(d);
      try {
        assert.ok((await file.readFile()).equals(data));
      } finally {
        await file.close();
      }
      await assert.rejects(store.openFile(sha256(Buffer.from('absent'))), StorageNotFoundError);
    });

    it('reports absent blobs as absent', async () => {
      const d = sha256(Buffer.from('nothing here'));
      assert.equal(await store.stat(d), null);
      await assert.rejects(store.read(d), StorageNotFoundError);
      await assert.rejects(store.readAll(d), StorageNotFoundError);
      await store.delete(d); // absent is not an error
      assert.deepEqual(await toArray(store.list()), []);
    });

    it('puts, stats, reads whole and by range, lists and deletes a blob', async () => {
      const data = Buffer.from('hello, wharf blob store');
      const d = sha256(data);
      await store.put(d, data);
      await store.put(d, data); // idempotent
      assert.deepEqual(await store.stat(d), { size: data.length });
      assert.deepEqual(await store.readAll(d), data);
      assert.deepEqual(await collect(await store.read(d)), data);
      assert.equal((await collect(await store.read(d, { start: 7, end: 11 }))).toString(), 'wharf');
      assert.deepEqual(await toArray(store.list()), [d]);
      await store.delete(d);
      assert.equal(await store.stat(d), null);
      assert.deepEqual(await toArray(store.list()), []);
    });

    it('appends streamed chunks to an upload, reporting every byte to onData, and commits it', async () => {
      await store.createUpload('up1');
      assert.equal(await store.uploadSize('up1'), 0);
      const a = randomBytes(100_000);
      const b = randomBytes(70_001);
      const hash = createHash('sha256');
      let seen = 0;
      const onData = (c: Buffer) => {
        seen += c.length;
        hash.update(c);
      };
      assert.equal(await store.appendUpload('up1', Readable.from([a.subarray(0, 5), a.subarray(5)]), onData), a.length);
      assert.equal(await store.appendUpload('up1', Readable.from([b]), onData), a.length + b.length);
      assert.equal(seen, a.length + b.length);
      const all = Buffer.concat([a, b]);
      assert.equal(await store.uploadSize('up1'), all.length);
      assert.deepEqual(await collect(await store.readUpload('up1')), all);
      const d = makeDigest('sha256', hash.digest('hex'));
      assert.equal(d, sha256(all));
      const ups = await toArray(store.listUploads());
      assert.deepEqual(ups.map((u) => u.id), ['up1']);
      assert.ok(ups[0]?.modified instanceof Date);
      await store.commitUpload('up1', d);
      assert.deepEqual(await store.stat(d), { size: all.length });
      assert.deepEqual(await collect(await store.read(d)), all);
      await assert.rejects(store.uploadSize('up1'), StorageNotFoundError);
      assert.deepEqual(await toArray(store.listUploads()), []);
    });

    it('treats unknown uploads as not found and deleting them as harmless', async () => {
      await assert.rejects(store.uploadSize('nope'), StorageNotFoundError);
      await assert.rejects(store.appendUpload('nope', Readable.from([Buffer.from('x')])), StorageNotFoundError);
      await assert.rejects(store.readUpload('nope'), StorageNotFoundError);
      await assert.rejects(store.commitUpload('nope', sha256(Buffer.from('x'))), StorageNotFoundError);
      await store.deleteUpload('nope');
    });

    it('refuses upload ids that try to leave the upload area', async () => {
      const data = Buffer.from('precious');
      const d = sha256(data);
      await store.put(d, data);
      await store.createUpload('safe');
      for (const id of ['../safe', '..', '.', 'a/b', '../../blobs', '', 'x\0y', '%2e%2e']) {
        await assert.rejects(store.uploadSize(id), StorageNotFoundError, `uploadSize(${JSON.stringify(id)})`);
        await assert.rejects(store.appendUpload(id, Readable.from([Buffer.from('x')])), StorageNotFoundError);
        await store.deleteUpload(id);
      }
      await assert.rejects(store.createUpload('../escape'));
      assert.equal(await store.uploadSize('safe'), 0);
      assert.deepEqual(await store.readAll(d), data);
    });

    it('commits the same digest from concurrent uploads safely', async () => {
      const data = randomBytes(256 * 1024);
      const d = sha256(data);
      const ids = ['c1', 'c2', 'c3', 'c4'];
      await Promise.all(ids.map((id) => store.createUpload(id)));
      await Promise.all(ids.map((id) => store.appendUpload(id, Readable.from([data]))));
      await Promise.all([...ids.map((id) => store.commitUpload(id, d)), store.put(d, data)]);
      assert.deepEqual(await store.readAll(d), data);
      assert.deepEqual(await toArray(store.listUploads()), []);
    });

    it('rejects a duplicate upload id', async () => {
      await store.createUpload('dup');
      await assert.rejects(store.createUpload('dup'));
    });

    it('streams an 8 MiB upload produced chunk by chunk', async () => {
      await store.createUpload('big');
      const chunk = randomBytes(64 * 1024);
      const hash = createHash('sha256');
      const gen = async function* () {
        for (let i = 0; i < 128; i++) yield chunk;
      };
      const size = await store.appendUpload('big', Readable.from(gen()), (c) => hash.update(c));
      assert.equal(size, 8 * 1024 * 1024);
      const d = makeDigest('sha256', hash.digest('hex'));
      await store.commitUpload('big', d);
      const back = createHash('sha256');
      for await (const c of await store.read(d)) back.update(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
      assert.equal(makeDigest('sha256', back.digest('hex')), d);
    });
  });
}
