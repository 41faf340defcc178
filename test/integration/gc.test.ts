/**
 * Garbage collection against a real Wharf: blobs pushed and manifests PUT over /v2, ages set in
 * the real SQLite file (gc's grace period is a day), then `wharf.gc()`, the function that the
 * admin API's trigger and `wharf gc` both run.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWharf, adminAuth, type TestWharf } from '../helpers/wharf.ts';

const sha256 = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');
const day = 24 * 3600 * 1000;

describe('gc', () => {
  let w: TestWharf;
  const admin = { authorization: adminAuth };
  const req = (path: string, init: RequestInit = {}) => fetch(w.url + path, init);
  const blobFile = (d: string) => join(w.wharf.config.storage.root, 'blobs', 'sha256', d.slice(7, 9), d.slice(7));

  async function push(repo: string, data: Buffer): Promise<string> {
    const d = sha256(data);
    const r = await req(`/v2/${repo}/blobs/uploads/?digest=${d}`, { method: 'POST', headers: admin, body: new Uint8Array(data) });
    assert.equal(r.status, 201);
    return d;
  }

  /** Pushes an image manifest over `config` and `layer`; returns its digest. */
  async function pushManifest(repo: string, tag: string, config: { d: string; size: number }, layer: { d: string; size: number }): Promise<string> {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.d, size: config.size },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.d, size: layer.size }],
      }),
    );
    const r = await req(`/v2/${repo}/manifests/${tag}`, {
      method: 'PUT',
      headers: { ...admin, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body,
    });
    assert.equal(r.status, 201, await r.text());
    return sha256(body);
  }

  /** Makes a blob (and every link to it) look `ms` old. */
  async function age(d: string, ms: number): Promise<void> {
    const t = Date.now() - ms;
    await w.wharf.db.kysely.updateTable('blobs').set({ creation_time: t }).where('digest', '=', d).execute();
    await w.wharf.db.kysely.updateTable('repository_blobs').set({ creation_time: t }).where('digest', '=', d).execute();
  }

  const status = async (repo: string, d: string) => (await req(`/v2/${repo}/blobs/${d}`, { method: 'HEAD', headers: admin })).status;

  before(async () => {
    w = await startWharf();
    await w.wharf.db.kysely
      .insertInto('projects')
      .values({ name: 'library', public: 1, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: Date.now(), update_time: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  });
  after(async () => {
    await w.close();
  });

  it('keeps referenced and fresh blobs, removes old unreferenced ones and old uploads', async () => {
    const configBytes = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layerBytes = randomBytes(10_000);
    const config = { d: await push('library/app', configBytes), size: configBytes.length };
    const layer = { d: await push('library/app', layerBytes), size: layerBytes.length };
    const manifest = await pushManifest('library/app', 'v1', config, layer);

    const oldBytes = randomBytes(7_000);
    const old = await push('library/app', oldBytes);
    await push('library/other', oldBytes); // linked twice: both links go
    const fresh = await push('library/app', randomBytes(3_000));
    const repushed = await push('library/app', randomBytes(2_000));
    for (const d of [config.d, layer.d, manifest, old, repushed]) await age(d, 2 * day);
    // An in-flight push re-sends an old blob: the fresh link protects it.
    const again = await w.wharf.db.kysely.selectFrom('blobs').select('size').where('digest', '=', repushed).executeTakeFirstOrThrow();
    const mount = await req(`/v2/library/app/blobs/uploads/?mount=${repushed}&from=library/app`, { method: 'POST', headers: admin });
    assert.equal(mount.status, 201);
    assert.equal(again.size, 2_000);

    // Uploads: one abandoned two days ago, one in progress, one orphan file with no row.
    const oldUp = await req('/v2/library/app/blobs/uploads/', { method: 'POST', headers: admin });
    const oldLoc = oldUp.headers.get('location') ?? '';
    await req(oldLoc, { method: 'PATCH', headers: admin, body: randomBytes(500) });
    await w.wharf.db.kysely.updateTable('uploads').set({ updated_at: Date.now() - 2 * day }).where('id', '=', oldLoc.split('/').pop() ?? '').execute();
    const freshUp = await req('/v2/library/app/blobs/uploads/', { method: 'POST', headers: admin });
    const freshLoc = freshUp.headers.get('location') ?? '';
    const orphan = join(w.wharf.config.storage.root, 'uploads', randomUUID());
    writeFileSync(orphan, randomBytes(300));
    const past = new Date(Date.now() - 2 * day);
    utimesSync(orphan, past, past);

    const report = await w.wharf.gc();
    assert.equal(report.blobsDeleted, 1);
    assert.equal(report.linksDeleted, 2);
    assert.equal(report.uploadsDeleted, 2);
    assert.equal(report.bytesFreed, 7_000 + 500 + 300);

    assert.equal(await status('library/app', old), 404);
    assert.equal(await status('library/other', old), 404);
    assert.ok(!existsSync(blobFile(old)), 'the bytes are gone');
    const rows = await w.wharf.db.kysely.selectFrom('repository_blobs').select('digest').where('digest', '=', old).execute();
    assert.deepEqual(rows, []);
    for (const d of [config.d, layer.d, fresh, repushed]) assert.equal(await status('library/app', d), 200, d);
    const m = await req(`/v2/library/app/manifests/v1`, { headers: { ...admin, accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200);
    assert.equal(m.headers.get('docker-content-digest'), manifest);
    assert.equal((await req(oldLoc, { headers: admin })).status, 404);
    assert.equal((await req(freshLoc, { headers: admin })).status, 204);
    assert.ok(!existsSync(orphan));

    // Nothing left to do: a second run frees nothing.
    const second = await w.wharf.gc();
    assert.deepEqual([second.blobsDeleted, second.uploadsDeleted, second.bytesFreed], [0, 0, 0]);
  });

  it('frees an image once its manifest is deleted, but not a layer another image shares', async () => {
    const shared = Buffer.from(randomBytes(4_000));
    const own = Buffer.from(randomBytes(5_000));
    const cfg1 = Buffer.from('{"os":"linux","n":1}');
    const cfg2 = Buffer.from('{"os":"linux","n":2}');
    const repo = 'library/two';
    const s = { d: await push(repo, shared), size: shared.length };
    const o = { d: await push(repo, own), size: own.length };
    const c1 = { d: await push(repo, cfg1), size: cfg1.length };
    const c2 = { d: await push(repo, cfg2), size: cfg2.length };
    const m1 = await pushManifest(repo, 'one', c1, o);
    const m2 = await pushManifest(repo, 'two', c2, s);
    const del = await req(`/v2/${repo}/manifests/${m1}`, { method: 'DELETE', headers: admin });
    assert.equal(del.status, 202);
    for (const d of [s.d, o.d, c1.d, c2.d, m1, m2]) await age(d, 2 * day);

    const report = await w.wharf.gc();
    assert.equal(report.blobsDeleted, 3, 'the deleted image: its config, its own layer and its manifest');
    assert.equal(report.bytesFreed >= own.length + cfg1.length, true);
    assert.ok(!existsSync(blobFile(o.d)));
    assert.ok(!existsSync(blobFile(c1.d)));
    assert.equal(await status(repo, m1), 404, 'the deleted manifest is gone, bytes and all');
    // The kept manifest's bytes are in the database (manifest_content), still served as a blob too.
    for (const d of [s.d, c2.d, m2]) assert.equal(await status(repo, d), 200);
  });
});
