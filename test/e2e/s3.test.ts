/**
 * End-to-end: Wharf with the S3 driver on a real S3 server (Ceph radosgw, test/helpers/s3.ts),
 * driven by the real skopeo and by a plain HTTP client doing a chunked push. Every top-level test
 * is named "e2e: …". Skips without skopeo or an S3 server, unless WHARF_REQUIRE_E2E=1.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { OciLayout, readLayoutIndex, sha256, writeMultiLayerImage } from '../helpers/oci-layout.ts';
import { freshPrefix, listKeys, listMultipart, removePrefix, requireS3, s3Client, s3StorageConfig, skipWithoutS3 } from '../helpers/s3.ts';

const skip = skipWithoutSkopeo() || skipWithoutS3();
const timeout = 180_000;
const MiB = 1024 * 1024;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

/** A Wharf on the S3 server under a fresh prefix (removed after the file), with `storage` extras. */
async function wharfOnS3(label: string, extra: Record<string, unknown> = {}): Promise<{ w: TestWharf; prefix: string }> {
  requireSkopeo();
  const s = requireS3();
  const prefix = freshPrefix(label);
  const w = await startWharf({ overrides: { storage: s3StorageConfig(s, prefix, extra) } });
  cleanups.push(() => removePrefix(s, prefix), () => w.close());
  return { w, prefix };
}

/** Pushes a 3-layer image with skopeo, pulls it into a fresh layout and checks every digest. */
async function roundTrip(w: TestWharf, repo: string): Promise<string[]> {
  const src = OciLayout.create();
  const out = OciLayout.create();
  cleanups.push(async () => {
    src.remove();
    out.remove();
  });
  const img = await writeMultiLayerImage(src, 'v1', { totalMiB: 20, layers: 3 });
  await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref('v1'), `docker://${w.host}/library/${repo}:v1`]);
  await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-no-creds', `docker://${w.host}/library/${repo}:v1`, out.ref('pulled')]);
  const entries = readLayoutIndex(out.dir);
  assert.equal(entries[0]?.digest, img.manifest.digest, 'the pulled manifest has the pushed digest');
  for (const l of img.layers) {
    const back = out.readBlob(l.digest);
    assert.equal(back.length, l.size);
    assert.equal(sha256(back), l.digest, `layer ${l.digest} came back intact`);
  }
  return [img.config.digest, ...img.layers.map((l) => l.digest)];
}

test('e2e: skopeo copies a multi-layer image into Wharf on S3 and back out', { skip, timeout }, async () => {
  const { w, prefix } = await wharfOnS3('e2e-skopeo');
  const blobs = await roundTrip(w, 'on-s3');
  const s = requireS3();
  const client = s3Client(s);
  try {
    const keys = await listKeys(client, s.bucket, prefix);
    for (const d of blobs) {
      const hex = d.slice('sha256:'.length);
      assert.ok(keys.includes(`${prefix}blobs/sha256/${hex.slice(0, 2)}/${hex}`), `${d} is an object in the bucket`);
    }
    assert.deepEqual(keys.filter((k) => k.includes('/uploads/')), [], 'no upload objects left');
    assert.deepEqual(await listMultipart(client, s.bucket, prefix), [], 'no multipart upload left open');
  } finally {
    client.destroy();
  }
});

test('e2e: a chunked push (POST, four PATCHes, PUT with the last bytes) lands in S3 whole', { skip, timeout }, async () => {
  const { w, prefix } = await wharfOnS3('e2e-chunked');
  const headers = { authorization: adminAuth };
  // Small, large, small, one byte, then a final piece in the PUT: merged parts and a part copy.
  const chunks = [randomBytes(3 * MiB), randomBytes(6 * MiB), randomBytes(2 * MiB), randomBytes(1)];
  const last = randomBytes(1000);
  const all = Buffer.concat([...chunks, last]);
  const digest = sha256(all);

  const started = await fetch(`${w.url}/v2/library/chunked/blobs/uploads/`, { method: 'POST', headers });
  assert.equal(started.status, 202);
  let location = started.headers.get('location') ?? '';
  let offset = 0;
  for (const c of chunks) {
    const r = await fetch(w.url + location, {
      method: 'PATCH',
      headers: { ...headers, 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + c.length - 1}`, 'content-length': String(c.length) },
      body: new Uint8Array(c),
    });
    assert.equal(r.status, 202, await r.text());
    offset += c.length;
    assert.equal(r.headers.get('range'), `0-${offset - 1}`);
    location = r.headers.get('location') ?? location;
  }
  const status = await fetch(w.url + location, { headers });
  assert.equal(status.status, 204);
  assert.equal(status.headers.get('range'), `0-${offset - 1}`);
  const sep = location.includes('?') ? '&' : '?';
  const done = await fetch(`${w.url}${location}${sep}digest=${digest}`, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(last) });
  assert.equal(done.status, 201, await done.text());

  const back = await fetch(`${w.url}/v2/library/chunked/blobs/${digest}`, { headers });
  assert.equal(back.status, 200);
  assert.equal(sha256(Buffer.from(await back.arrayBuffer())), digest);
  const s = requireS3();
  const client = s3Client(s);
  try {
    const keys = await listKeys(client, s.bucket, prefix);
    assert.deepEqual(keys, [`${prefix}blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`], 'the blob and nothing of the upload');
  } finally {
    client.destroy();
  }
});

test('e2e: with storage.redirect, skopeo pulls the layers through 307s from the S3 server', { skip, timeout }, async () => {
  const { w } = await wharfOnS3('e2e-redirect', { redirect: true });
  const blobs = await roundTrip(w, 'redirected');
  const layer = blobs[1] ?? '';
  const r = await fetch(`${w.url}/v2/library/redirected/blobs/${layer}`, { redirect: 'manual' });
  assert.equal(r.status, 307, 'blob GETs are redirected');
  assert.ok((r.headers.get('location') ?? '').startsWith(requireS3().endpoint));
});
