/**
 * Where manifest bytes live (src/registry/manifest-bytes.ts): in the `manifest_content` table,
 * written in the push's transaction, not as files; still served byte for byte by the manifest
 * routes and as a blob (with Range); and manifests stored as files by an older Wharf (before
 * migration 0005) are still served after an upgrade.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { adminAuth, startWharf, tempDataDir, type TestWharf } from '../helpers/wharf.ts';
import { pushSmallImage, smallImage } from '../helpers/webhook-client.ts';

const dataDir = tempDataDir('manifest-storage-');
let w: TestWharf;

before(async () => {
  w = await startWharf({ dataDir });
});
after(async () => {
  await w?.close();
});

/** Where the filesystem store keeps (or kept) the bytes of `digest`. */
function blobFile(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(dataDir, 'storage', 'blobs', 'sha256', hex.slice(0, 2), hex);
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(w.url + path, { headers: { authorization: adminAuth, ...headers } });
}

describe('manifest bytes', () => {
  test('a pushed manifest is a manifest_content row, not a file, and is served byte for byte', async () => {
    const img = smallImage(`stored-${Date.now()}`);
    const digest = await pushSmallImage(w.url, 'library/stored', img, { tag: 'v1', auth: adminAuth });
    assert.equal(digest, img.digest);

    const row = await w.wharf.db.kysely.selectFrom('manifest_content').select('content').where('digest', '=', digest).executeTakeFirst();
    assert.ok(row, 'manifest_content has the row');
    assert.ok(Buffer.from(row.content).equals(img.manifest), 'exactly the pushed bytes');
    assert.equal(existsSync(blobFile(digest)), false, 'no file is written for a manifest');

    for (const ref of ['v1', digest]) {
      const r = await get(`/v2/library/stored/manifests/${ref}`);
      assert.equal(r.status, 200);
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(img.manifest), `GET by ${ref}`);
    }

    const blob = await get(`/v2/library/stored/blobs/${digest}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.headers.get('content-length'), String(img.manifest.length));
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(img.manifest), 'the manifest fetched as a blob');

    const part = await get(`/v2/library/stored/blobs/${digest}`, { range: 'bytes=5-14' });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(img.manifest.subarray(5, 15)), 'a range of it');

    const head = await fetch(`${w.url}/v2/library/stored/blobs/${digest}`, { method: 'HEAD', headers: { authorization: adminAuth } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(img.manifest.length));
  });

  test('a manifest an older Wharf stored as a file is still served after the upgrade', async () => {
    const img = smallImage(`legacy-${Date.now()}`);
    const digest = await pushSmallImage(w.url, 'library/legacy', img, { tag: 'old', auth: adminAuth });
    // What a Wharf before migration 0005 left: the bytes as a file, no manifest_content row.
    mkdirSync(join(blobFile(digest), '..'), { recursive: true });
    writeFileSync(blobFile(digest), img.manifest);
    await w.wharf.db.kysely.deleteFrom('manifest_content').where('digest', '=', digest).execute();
    // A fresh process: nothing cached in memory.
    await w.close({ keepData: true });
    w = await startWharf({ dataDir });

    const r = await get('/v2/library/legacy/manifests/old');
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(img.manifest));
    const blob = await get(`/v2/library/legacy/blobs/${digest}`);
    assert.equal(blob.status, 200);
    assert.ok(Buffer.from(await blob.arrayBuffer()).equals(img.manifest));
  });
});
